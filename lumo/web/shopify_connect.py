"""Connecting a Shopify store: `/integrations/shopify/install` and `/callback` (OAuth)."""

from __future__ import annotations

import logging

from flask import Blueprint, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required
from markupsafe import escape

from lumo.shopify.errors import OAuthError, ShopifyError
from lumo.sync.connection import complete_connection, connect_url
from lumo.web.auth import current_workspace_id

logger = logging.getLogger(__name__)

bp = Blueprint("shopify_connect", __name__, url_prefix="/integrations/shopify")


def _problem(message: str, status: int = 400) -> ResponseReturnValue:
    body = (
        "<!doctype html><title>Shopify connection</title><main>"
        f"<h1>The store was not connected</h1><p>{escape(message)}</p>"
        '<p><a href="/">Back to Lumo</a></p></main>'
    )
    return body, status, {"Content-Type": "text/html; charset=utf-8"}


@bp.get("/install")
@login_required
def install() -> ResponseReturnValue:
    """Send the merchant to Shopify's grant screen for the store they named."""
    try:
        url = connect_url(current_workspace_id(), request.args.get("shop", ""))
    except OAuthError as error:
        return _problem(str(error))
    return redirect(url)


@bp.get("/callback")
def callback() -> ResponseReturnValue:
    """Shopify sends the merchant back here; the state nonce names the workspace."""
    try:
        connection = complete_connection(request.args.to_dict(flat=True))
    except OAuthError as error:
        logger.warning("OAuth callback refused: %s", type(error).__name__)
        return _problem(str(error))
    except ShopifyError as error:
        return _problem(
            f"Shopify did not answer as expected ({error}). Try connecting again.", 502
        )
    logger.info("workspace %s connected through OAuth", connection.workspace_id)
    target = "pages.shopify.dashboard" if "pages.shopify.dashboard" in _endpoints() else None
    return redirect(url_for(target) if target else "/")


def _endpoints() -> set[str]:
    from flask import current_app

    return {rule.endpoint for rule in current_app.url_map.iter_rules()}
