"""A store belongs to one workspace: another workspace can neither claim it nor its webhooks."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from lumo.extensions import db
from lumo.models import Customer, ShopifyConnection
from lumo.sandbox.shopify_server import SandboxShop, ShopifySandbox
from lumo.shopify.errors import OAuthError
from lumo.sync.connection import connect_url
from lumo.workspaces import create_workspace
from tests.sync.conftest import SHOP, post_webhook


def _customers(workspace_id: int) -> int:
    statement = select(func.count()).select_from(Customer)
    return int(db.session.scalar(statement.where(Customer.workspace_id == workspace_id)) or 0)


def test_another_workspace_cannot_start_an_install_of_a_connected_store(
    connected: tuple[FlaskClient, int], sync_app: Flask
) -> None:
    intruder = create_workspace("Someone else")
    db.session.commit()

    with pytest.raises(OAuthError, match="already connected to another Lumo workspace"):
        connect_url(intruder.id, SHOP)


def test_a_half_started_install_never_receives_the_owners_webhooks(
    connected: tuple[FlaskClient, int],
    sync_app: Flask,
    sandbox: ShopifySandbox,
    shop: SandboxShop,
) -> None:
    web, owner = connected
    intruder = create_workspace("Someone else")
    db.session.flush()
    db.session.add(
        ShopifyConnection(
            workspace_id=intruder.id, shop_domain=SHOP, state="pending", oauth_nonce="n" * 32
        )
    )
    db.session.commit()
    before = _customers(owner)

    response = post_webhook(
        web,
        "customers/create",
        {"id": 990001, "first_name": "New", "updated_at": "2026-12-01T10:00:00+09:00"},
    )

    assert response.status_code == 200
    db.session.expire_all()
    assert _customers(owner) == before + 1
    assert _customers(intruder.id) == 0
