"""Fixtures: a Lumo app wired to the Shopify stand-in, whose webhooks reach the app's endpoint.

The stand-in delivers webhooks on its own background thread through a transport that posts
them to the app's test client, so a sync job waiting on Shopify never waits on a webhook.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from lumo.extensions import db
from lumo.sandbox.shopify_server import (
    Delivery,
    SandboxShop,
    ShopifySandbox,
    start_shopify_sandbox,
)
from tests.conftest import make_test_app

API_KEY = "sync-test-app"
SECRET = "sync-test-secret"
SHOP = "lumo-sync-test.myshopify.com"
PUBLIC_URL = "http://127.0.0.1:9"


@pytest.fixture
def sandbox() -> Iterator[ShopifySandbox]:
    running = start_shopify_sandbox(api_key=API_KEY, api_secret=SECRET, background_webhooks=True)
    yield running
    running.stop()


@pytest.fixture
def shop(sandbox: ShopifySandbox) -> SandboxShop:
    return sandbox.add_generated_shop(SHOP, customers=30, seed=11, materialize=True)


def empty_tables() -> None:
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
            connection.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(db.metadata.sorted_tables):
                connection.execute(table.delete())


def build_app(
    database_url: str, tmp_path: Path, sandbox: ShopifySandbox, **overrides: Any
) -> Flask:
    settings = {
        "SHOPIFY_API_KEY": API_KEY,
        "SHOPIFY_API_SECRET": SECRET,
        "SHOPIFY_SHOP_URL_TEMPLATE": sandbox.shop_url_template,
        "SHOPIFY_SCOPES": "read_customers,write_customers,read_orders,read_products",
        "LUMO_PUBLIC_URL": PUBLIC_URL,
        "LUMO_BULK_POLL_SECONDS": 0.0,
        "LUMO_SHOPIFY_BACKOFF": 0.0,
        "LUMO_SYNC_BATCH_SIZE": 100,
    }
    settings.update(overrides)
    return make_test_app(database_url, tmp_path, **settings)


@pytest.fixture
def sync_app(_schema: str, tmp_path: Path, sandbox: ShopifySandbox) -> Iterator[Flask]:
    application = build_app(_schema, tmp_path, sandbox)
    with application.app_context():
        yield application
        sandbox.drain()
        db.session.rollback()
        empty_tables()
        db.session.remove()
        application.extensions["lumo.jobs"].wait_idle()
        db.engine.dispose()


@pytest.fixture
def web(sync_app: Flask, sandbox: ShopifySandbox) -> FlaskClient:
    """A test client; the stand-in's webhooks are posted through another one."""
    poster = sync_app.test_client()

    def transport(delivery: Delivery) -> int:
        path = urlsplit(delivery.url).path
        return poster.post(path, data=delivery.body, headers=delivery.headers).status_code

    sandbox.webhook_transport = transport
    return sync_app.test_client()


@pytest.fixture
def merchant(sync_app: Flask, web: FlaskClient) -> tuple[FlaskClient, int]:
    """A signed-in merchant's client and workspace id."""
    from lumo.web.auth import create_account
    from lumo.workspaces import create_workspace

    workspace = create_workspace("Sync shop", currency="JPY")
    create_account(workspace.id, "owner@example.test", "correct-horse")
    db.session.commit()
    response = web.post(
        "/sign-in", data={"email": "owner@example.test", "password": "correct-horse"}
    )
    assert response.status_code == 302
    return web, workspace.id


def connect(web: FlaskClient, sandbox: ShopifySandbox, shop_domain: str = SHOP) -> httpx.Response:
    """Go through OAuth against the stand-in; returns the callback's response."""
    install = web.get(f"/integrations/shopify/install?shop={shop_domain}")
    assert install.status_code == 302, install.get_data(as_text=True)
    authorize = httpx.get(install.headers["Location"], follow_redirects=False, timeout=10)
    assert authorize.status_code == 302, authorize.text
    callback = urlsplit(authorize.headers["Location"])
    response = web.get(f"{callback.path}?{callback.query}")
    return response  # type: ignore[return-value]


@pytest.fixture
def connected(
    merchant: tuple[FlaskClient, int], sandbox: ShopifySandbox, shop: SandboxShop
) -> tuple[FlaskClient, int]:
    """A merchant whose store is connected and initially synced."""
    web, workspace_id = merchant
    response = connect(web, sandbox)
    assert response.status_code == 302, response.get_data(as_text=True)
    sandbox.drain()
    return web, workspace_id


def query_params(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


Count = Callable[[str], int]


def post_webhook(
    web: FlaskClient,
    topic: str,
    payload: Any,
    *,
    event_id: str | None = None,
    secret: str = SECRET,
    shop_domain: str = SHOP,
) -> Any:
    """POST a webhook signed the way Shopify signs it (raw bytes, base64 HMAC)."""
    import json
    import uuid

    from lumo.shopify.webhooks import webhook_signature

    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": webhook_signature(body, secret),
        "X-Shopify-Shop-Domain": shop_domain,
        "X-Shopify-Webhook-Id": str(uuid.uuid4()),
        "X-Shopify-Event-Id": event_id or str(uuid.uuid4()),
        "X-Shopify-API-Version": "2025-10",
    }
    return web.post("/webhooks/shopify", data=body, headers=headers)
