"""`/proxy/line-link`: the storefront link page, reached through a Shopify app proxy.

Shopify forwards `https://{shop}/apps/lumo/line-link?token=…` here with `shop`,
`logged_in_customer_id`, `timestamp` and a `signature` over the query (checked with
SHOPIFY_API_SECRET). The `token` is the short-lived one Lumo pushed to the friend in LINE.
"""

from __future__ import annotations

import logging
import time

from flask import Blueprint, current_app, render_template_string, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from lumo.extensions import csrf, db
from lumo.friends.errors import LinkRefused
from lumo.friends.linking import link_from_storefront
from lumo.friends.write_back import request_write_back
from lumo.models import ShopifyConnection
from lumo.shopify.webhooks import verify_app_proxy

logger = logging.getLogger(__name__)

bp = Blueprint("app_proxy", __name__)
csrf.exempt(bp)

#: How old a signed proxy request may be; Shopify signs each request as it forwards it.
MAX_REQUEST_AGE = 300

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>LINE link</title></head>
<body><main style="max-width:28rem;margin:3rem auto;font-family:system-ui,sans-serif">
<p{% if problem %} role="alert"{% endif %}>{{ text }}</p></main></body></html>"""


@bp.route("/proxy/line-link", methods=["GET", "POST"])
def line_link() -> ResponseReturnValue:
    secret = current_app.config["SHOPIFY_API_SECRET"]
    if not verify_app_proxy(request.query_string.decode("utf-8", "replace"), secret):
        logger.warning("app proxy request with a bad signature refused")
        return _page("This request did not come from the store.", problem=True), 401
    if not _fresh(request.args.get("timestamp", "")):
        return _page("This page is out of date; open the link from LINE again.", True), 401

    shop = request.args.get("shop", "")
    connection = db.session.scalar(
        select(ShopifyConnection).where(
            ShopifyConnection.shop_domain == shop, ShopifyConnection.state == "connected"
        )
    )
    if connection is None:
        return _page("This store is not connected to a LINE account in Lumo.", True), 404

    customer = request.args.get("logged_in_customer_id", "")
    if not customer.isdigit():
        return _page("Sign in to your store account, then open the link from LINE again.")

    try:
        link = link_from_storefront(
            connection.workspace_id, int(customer), request.args.get("token", "")
        )
    except LinkRefused as refusal:
        db.session.rollback()
        logger.info("storefront link refused in workspace %s", connection.workspace_id)
        return _page(str(refusal), problem=True), 400
    db.session.commit()
    request_write_back(connection.workspace_id, link.friend_id)
    return _page("Your LINE account is now linked to your store account.")


def _fresh(raw: str) -> bool:
    return raw.isdigit() and abs(time.time() - int(raw)) <= MAX_REQUEST_AGE


def _page(text: str, problem: bool = False) -> str:
    return render_template_string(PAGE, text=text, problem=problem)
