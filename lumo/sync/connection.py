"""The store's connection: OAuth install, the API client, health, and removing the integration.

A 401/403 from Shopify marks the connection `broken` with a reason the Dashboard shows.
Removing the integration (in Lumo, or by `app/uninstalled`) stops syncing, forgets the access
token and deletes every customer↔friend link; the synced rows stay until `shop/redact`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from flask import current_app
from sqlalchemy import case, delete, select

from lumo.app import plugin_manager
from lumo.extensions import db
from lumo.models import CustomerFriendLink, ShopifyConnection
from lumo.shopify import ShopifyClient, ShopifyError
from lumo.shopify.errors import OAuthError, ShopifyUserError
from lumo.shopify.oauth import (
    authorize_url,
    check_scopes,
    exchange_code,
    new_state,
    normalize_shop_domain,
    verify_callback,
)
from lumo.shopify.webhooks import register_webhooks, remove_webhooks
from lumo.sync.upsert import rowcount

logger = logging.getLogger(__name__)

CALLBACK_PATH = "/integrations/shopify/callback"
WEBHOOK_PATH = "/webhooks/shopify"
#: Topics every connection subscribes to besides the categories' own.
HOST_TOPICS = ("app/uninstalled", "bulk_operations/finish", "customers/merge")
BROKEN_REASON = (
    "The Shopify access token was revoked. Reconnect the store from Integrations → Shopify."
)


class NotConnected(RuntimeError):
    """The workspace has no usable Shopify connection; the message says what to do."""


SHOP_TAKEN = (
    "This store is already connected to another Lumo workspace. Remove the integration there "
    "first: a store syncs into one workspace."
)


def connection_for(workspace_id: int) -> ShopifyConnection | None:
    return db.session.scalar(
        select(ShopifyConnection).where(ShopifyConnection.workspace_id == workspace_id)
    )


#: Connection states that own a shop: an install merely started owns nothing.
OWNING_STATES = ("connected", "broken")


def connection_for_shop(shop_domain: str) -> ShopifyConnection | None:
    """The workspace connection a shop's webhooks belong to; never a half-finished install.

    A removed integration still answers (after the owning ones), so Shopify's compliance
    webhooks, which arrive days after an uninstall, can delete what they name.
    """
    owning_first = case((ShopifyConnection.state.in_(OWNING_STATES), 0), else_=1)
    return db.session.scalar(
        select(ShopifyConnection)
        .where(
            ShopifyConnection.shop_domain == shop_domain.lower(),
            ShopifyConnection.state != "pending",
        )
        .order_by(owning_first, ShopifyConnection.id.desc())
        .limit(1)
    )


#: How long a worker trusts a shop → workspace answer (a reconnect elsewhere is rare; the apply
#: job re-reads the connection anyway).
SHOP_CACHE_SECONDS = 30.0


def workspace_for_shop(shop_domain: str) -> int | None:
    """The workspace whose connection owns `shop_domain` (see `connection_for_shop`), cached
    briefly per app: Shopify sends bursts of webhooks per shop."""
    cache: dict[str, tuple[float, int]] = current_app.extensions.setdefault(
        "lumo.shop_workspaces", {}
    )
    shop = shop_domain.lower()
    hit = cache.get(shop)
    clock = time.monotonic()
    if hit is not None and hit[0] > clock:
        return hit[1]
    connection = connection_for_shop(shop)
    workspace_id = connection.workspace_id if connection is not None else None
    if workspace_id is None:
        cache.pop(shop, None)
        return None
    if len(cache) > 10_000:
        cache.clear()
    cache[shop] = (clock + SHOP_CACHE_SECONDS, workspace_id)
    return workspace_id


def forget_shop(shop_domain: str) -> None:
    """Drop the cached workspace of a shop (after it connects or is removed)."""
    current_app.extensions.get("lumo.shop_workspaces", {}).pop(shop_domain.lower(), None)


def _owned_elsewhere(shop_domain: str, workspace_id: int) -> bool:
    owner = connection_for_shop(shop_domain)
    return (
        owner is not None and owner.state in OWNING_STATES and owner.workspace_id != workspace_id
    )


def webhook_topics() -> list[str]:
    """Every topic the plugins' categories declare, plus the host's own."""
    topics: dict[str, None] = {}
    for category in plugin_manager(current_app).categories():
        topics.update(dict.fromkeys(category.webhook_topics))
    topics.update(dict.fromkeys(HOST_TOPICS))
    return list(topics)


def public_url(path: str) -> str:
    return str(current_app.config["LUMO_PUBLIC_URL"]).rstrip("/") + path


def connect_url(workspace_id: int, shop: str) -> str:
    """Start the install: remember a state nonce and return Shopify's authorize URL."""
    domain = normalize_shop_domain(shop)
    if _owned_elsewhere(domain, workspace_id):
        raise OAuthError(SHOP_TAKEN)
    connection = connection_for(workspace_id)
    if connection is None:
        connection = ShopifyConnection(workspace_id=workspace_id, shop_domain=domain)
        db.session.add(connection)
    elif connection.state == "connected" and connection.shop_domain != domain:
        raise OAuthError(
            f"This workspace is connected to {connection.shop_domain}. Remove that integration "
            "first; a workspace syncs one store."
        )
    connection.shop_domain = domain
    connection.oauth_nonce = new_state()
    if connection.state != "connected":
        connection.state = "pending"
    db.session.commit()
    config = current_app.config
    logger.info("workspace %s: install started", workspace_id)
    return authorize_url(
        domain,
        client_id=config["SHOPIFY_API_KEY"],
        scopes=_scopes(),
        redirect_uri=public_url(CALLBACK_PATH),
        state=connection.oauth_nonce,
        url_template=config["SHOPIFY_SHOP_URL_TEMPLATE"],
    )


def _scopes() -> list[str]:
    return [s for s in str(current_app.config["SHOPIFY_SCOPES"]).split(",") if s.strip()]


def complete_connection(
    query: Mapping[str, str], *, http: Any = None, start_sync: bool = True
) -> ShopifyConnection:
    """Finish the install from the OAuth callback's query; raise `OAuthError` on any check."""
    config = current_app.config
    shop = normalize_shop_domain(query.get("shop", ""))
    # The state nonce, unguessable and single-use, names the workspace that started the install.
    state = query.get("state", "")
    connection = (
        db.session.scalar(
            select(ShopifyConnection).where(
                ShopifyConnection.shop_domain == shop, ShopifyConnection.oauth_nonce == state
            )
        )
        if state
        else None
    )
    if connection is None or not connection.oauth_nonce:
        raise OAuthError("No install of this store was started here; start it again from Lumo.")
    if _owned_elsewhere(shop, connection.workspace_id):
        raise OAuthError(SHOP_TAKEN)
    verify_callback(
        query, secret=config["SHOPIFY_API_SECRET"], expected_state=connection.oauth_nonce
    )

    token = exchange_code(
        shop,
        query.get("code", ""),
        client_id=config["SHOPIFY_API_KEY"],
        client_secret=config["SHOPIFY_API_SECRET"],
        url_template=config["SHOPIFY_SHOP_URL_TEMPLATE"],
        http=http,
    )
    check_scopes(_scopes(), token.scopes)

    connection.access_token = token.access_token
    connection.scopes = ",".join(sorted(token.scopes))
    connection.oauth_nonce = None
    connection.state = "connected"
    forget_shop(shop)
    connection.broken_reason = None
    connection.api_version = config["SHOPIFY_API_VERSION"]
    connection.installed_at = datetime.now(UTC)
    db.session.commit()

    with client_for(connection) as client:
        shop_info = client.shop_info()
        connection.shop_timezone = shop_info.get("ianaTimezone")
        connection.shop_currency = shop_info.get("currencyCode")
        db.session.commit()
        register_all_webhooks(connection, client)
    logger.info("workspace %s: store connected", connection.workspace_id)

    if start_sync:
        from lumo.sync.service import start_initial_sync

        start_initial_sync(connection.workspace_id)
    return connection


def register_all_webhooks(connection: ShopifyConnection, client: ShopifyClient) -> list[str]:
    """Subscribe to every topic Shopify accepts; topics it refuses are logged and skipped."""
    callback = public_url(WEBHOOK_PATH)
    accepted = []
    for topic in webhook_topics():
        try:
            register_webhooks(client, [topic], callback)
        except ShopifyUserError as error:
            logger.warning(
                "workspace %s: topic %s refused: %s", connection.workspace_id, topic, error
            )
            continue
        accepted.append(topic)
    connection.webhook_topics = accepted
    connection.webhooks_registered_at = datetime.now(UTC)
    db.session.commit()
    return accepted


def client_for(
    connection: ShopifyConnection, *, sleep: Callable[[float], None] | None = None
) -> ShopifyClient:
    """An API client for a connected store; auth failures mark the connection broken."""
    if connection.state in ("uninstalled", "pending") or not connection.access_token:
        raise NotConnected(
            "No Shopify store is connected to this workspace. Connect one from "
            "Integrations → Shopify."
        )
    config = current_app.config
    workspace_id = connection.workspace_id
    return ShopifyClient(
        connection.shop_domain,
        connection.access_token,
        api_version=config["SHOPIFY_API_VERSION"],
        url_template=config["SHOPIFY_SHOP_URL_TEMPLATE"],
        sleep=sleep or time.sleep,
        on_auth_failure=lambda reason: mark_broken(workspace_id, reason),
        max_retries=int(config.get("LUMO_SHOPIFY_MAX_RETRIES", 5)),
        backoff_base=float(config.get("LUMO_SHOPIFY_BACKOFF", 0.5)),
    )


def shopify_client(
    workspace_id: int, *, sleep: Callable[[float], None] | None = None
) -> ShopifyClient:
    connection = connection_for(workspace_id)
    if connection is None:
        raise NotConnected(
            "No Shopify store is connected to this workspace. Connect one from "
            "Integrations → Shopify."
        )
    if connection.state == "broken":
        raise NotConnected(connection.broken_reason or BROKEN_REASON)
    return client_for(connection, sleep=sleep)


def mark_broken(workspace_id: int, reason: str) -> None:
    """Record that Shopify refused the token; the Dashboard shows `reason`."""
    connection = connection_for(workspace_id)
    if connection is None or connection.state == "uninstalled":
        return
    connection.state = "broken"
    connection.broken_reason = BROKEN_REASON if "401" in reason else reason
    db.session.commit()
    logger.warning("workspace %s: Shopify connection broken", workspace_id)


def delete_links(workspace_id: int) -> int:
    result = db.session.execute(
        delete(CustomerFriendLink).where(CustomerFriendLink.workspace_id == workspace_id)
    )
    return rowcount(result)


def remove_integration(workspace_id: int, *, notify_shopify: bool = True) -> None:
    """Remove the Shopify integration: stop syncing, forget the token, delete every link."""
    connection = connection_for(workspace_id)
    if connection is None:
        return
    if notify_shopify and connection.state == "connected" and connection.access_token:
        try:
            with client_for(connection) as client:
                remove_webhooks(client, public_url(WEBHOOK_PATH))
        except (ShopifyError, NotConnected) as error:
            logger.warning("workspace %s: webhooks not removed: %s", workspace_id, error)
    connection = connection_for(workspace_id)
    assert connection is not None
    links = delete_links(workspace_id)
    connection.access_token = None
    connection.oauth_nonce = None
    connection.state = "uninstalled"
    forget_shop(connection.shop_domain)
    connection.broken_reason = None
    connection.webhook_topics = []
    db.session.commit()
    logger.info("workspace %s: integration removed, %d links deleted", workspace_id, links)
