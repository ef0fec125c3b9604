"""Helpers of the friends tests: constants, the test world and small builders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from lumo.extensions import db
from lumo.models import Customer, ShopifyConnection, Workspace
from lumo.sandbox.line_server import LineSandbox
from lumo.sandbox.serving import RunningServer
from lumo.sandbox.shopify_server import SandboxShop, ShopifySandbox
from lumo.workspaces import create_workspace

CHANNEL_SECRET = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
ACCESS_TOKEN = "friends-test-channel-token"
SHOP_DOMAIN = "lumo-friends.myshopify.com"
API_KEY = "lumo-dev-app"
API_SECRET = "lumo-dev-secret"
LINE_NAMESPACE = f"app--{API_KEY}--line"
CUSTOMER_IDS = (7001, 7002, 7003)


@dataclass
class World:
    """Everything a friends test touches."""

    app: Flask
    lumo: RunningServer
    line: LineSandbox
    shopify: ShopifySandbox
    shop: SandboxShop
    workspace_id: int

    @property
    def webhook_url(self) -> str:
        return f"{self.lumo.url}/webhooks/line/{self.workspace_id}"

    def metafield(self, customer_id: int, key: str) -> str | None:
        owned = self.shop.data.metafields.get(f"gid://shopify/Customer/{customer_id}", {})
        item = owned.get((LINE_NAMESPACE, key))
        return None if item is None else str(item["value"])

    def refresh(self) -> None:
        """See what the server thread committed."""
        db.session.rollback()
        db.session.expire_all()


def add_store_customer(shop: SandboxShop, customer_id: int) -> None:
    stamp = "2026-01-10T10:00:00+09:00"
    shop.store.put(
        "customers",
        {
            "id": customer_id,
            "first_name": f"Test{customer_id}",
            "last_name": "Customer",
            "tags": ["vip"],
            "state": "enabled",
            "created_at": stamp,
            "updated_at": stamp,
        },
    )


def add_synced_customer(workspace_id: int, customer_id: int) -> None:
    db.session.add(
        Customer(
            workspace_id=workspace_id,
            shopify_id=customer_id,
            first_name=f"Test{customer_id}",
            display_name=f"Test{customer_id} Customer",
            state="enabled",
        )
    )


def connect_workspace(workspace: Workspace, shop: SandboxShop) -> None:
    workspace.line_channel_secret = CHANNEL_SECRET
    workspace.line_channel_access_token = ACCESS_TOKEN
    db.session.add(
        ShopifyConnection(
            workspace_id=workspace.id,
            shop_domain=shop.domain,
            access_token=shop.issue_token(),
            state="connected",
            api_version="2025-10",
            installed_at=datetime.now(UTC),
        )
    )


def sign_in_client(app: Flask, workspace_id: int, email: str) -> FlaskClient:
    """A merchant signed in to the workspace (a cheap password hash keeps tests quick)."""
    from werkzeug.security import generate_password_hash

    from lumo.models import Account

    hashed = generate_password_hash("correct-horse", method="pbkdf2:sha256:1")
    db.session.add(Account(workspace_id=workspace_id, email=email, password_hash=hashed))
    db.session.commit()
    client = app.test_client()
    response = client.post("/sign-in", data={"email": email, "password": "correct-horse"})
    assert response.status_code == 302
    return client


def other_workspace() -> Workspace:
    other = create_workspace("Other shop", timezone="UTC")
    db.session.commit()
    return other


def json_of(response: Any) -> Any:
    return response.get_json()
