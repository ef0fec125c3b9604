"""Fixtures: Lumo served on loopback, wired to the LINE and Shopify stand-ins.

The LINE stand-in posts signed webhooks to Lumo's real HTTP endpoint, and Lumo calls both
stand-ins through its real clients; jobs run inline, so a webhook is applied before the
stand-in gets its answer.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from flask import Flask
from friends_support import (
    ACCESS_TOKEN,
    API_KEY,
    API_SECRET,
    CHANNEL_SECRET,
    CUSTOMER_IDS,
    SHOP_DOMAIN,
    World,
    add_store_customer,
    add_synced_customer,
    connect_workspace,
)

from lumo.extensions import db
from lumo.models import Workspace
from lumo.sandbox.line_server import LineSandbox, start_line_sandbox
from lumo.sandbox.serving import serve_wsgi
from lumo.sandbox.shopify_server import ShopifySandbox, start_shopify_sandbox


@pytest.fixture
def line_sandbox() -> Iterator[LineSandbox]:
    sandbox = start_line_sandbox(channel_secret=CHANNEL_SECRET, channel_access_token=ACCESS_TOKEN)
    yield sandbox
    sandbox.stop()


@pytest.fixture
def shopify_sandbox() -> Iterator[ShopifySandbox]:
    sandbox = start_shopify_sandbox(api_key=API_KEY, api_secret=API_SECRET)
    yield sandbox
    sandbox.stop()


@pytest.fixture
def world(
    app: Flask, workspace: Workspace, line_sandbox: LineSandbox, shopify_sandbox: ShopifySandbox
) -> Iterator[World]:
    shop = shopify_sandbox.add_shop(SHOP_DOMAIN)
    for customer_id in CUSTOMER_IDS:
        add_store_customer(shop, customer_id)
        add_synced_customer(workspace.id, customer_id)
    connect_workspace(workspace, shop)
    db.session.commit()

    app.config.update(
        LINE_API_BASE_URL=line_sandbox.url,
        LINE_DATA_API_BASE_URL=line_sandbox.url,
        LINE_ACCESS_BASE_URL=line_sandbox.url,
        SHOPIFY_SHOP_URL_TEMPLATE=shopify_sandbox.shop_url_template,
        SHOPIFY_API_KEY=API_KEY,
        SHOPIFY_API_SECRET=API_SECRET,
    )
    server = serve_wsgi(app, name="lumo-under-test")
    app.config["LUMO_PUBLIC_URL"] = server.url
    line_sandbox.set_webhook_url(f"{server.url}/webhooks/line/{workspace.id}")
    try:
        yield World(app, server, line_sandbox, shopify_sandbox, shop, workspace.id)
    finally:
        server.stop()
        db.session.rollback()


@pytest.fixture
def browser(world: World) -> Iterator[httpx.Client]:
    """A friend's browser: follows nothing by itself so each hop can be checked."""
    with httpx.Client(timeout=10.0, follow_redirects=False) as client:
        yield client
