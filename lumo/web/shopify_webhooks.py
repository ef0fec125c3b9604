"""`POST /webhooks/shopify`: verify on the raw bytes, save, answer at once, apply in a job."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from lumo.extensions import csrf
from lumo.shopify.webhooks import verify_webhook
from lumo.sync.deliveries import receive_delivery

logger = logging.getLogger(__name__)

bp = Blueprint("shopify_webhooks", __name__)


@bp.post("/webhooks/shopify")
@csrf.exempt
def receive() -> ResponseReturnValue:
    raw = request.get_data(cache=True)
    secret = current_app.config["SHOPIFY_API_SECRET"]
    if not verify_webhook(raw, request.headers.get("X-Shopify-Hmac-Sha256"), secret):
        logger.warning("shopify webhook refused: bad or missing HMAC")
        return jsonify(error="The webhook signature is not valid."), 401

    received = receive_delivery(request.headers, raw)
    return jsonify(ok=True, duplicate=received.duplicate, delivery=received.delivery_id), 200
