"""Connecting through OAuth starts an initial sync whose counts match the stand-in's store."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import func, select

from lumo.extensions import db
from lumo.models import (
    AbandonedCheckout,
    Customer,
    CustomerTag,
    Order,
    OrderLineItem,
    Product,
    ShopifyConnection,
    SyncRun,
)
from lumo.sandbox.shopify_server import SandboxShop


def count(model: type, workspace_id: int) -> int:
    return int(
        db.session.scalar(
            select(func.count()).select_from(model).where(model.workspace_id == workspace_id)
        )
        or 0
    )


def expected_line_items(shop: SandboxShop) -> int:
    return sum(len(r.get("line_items") or []) for _, r in shop.data.iter_records("orders"))


def test_connect_then_initial_sync_matches_the_store(
    connected: tuple[FlaskClient, int], shop: SandboxShop
) -> None:
    web, workspace_id = connected
    connection = db.session.scalar(select(ShopifyConnection))
    assert connection is not None and connection.state == "connected"
    assert connection.access_token and connection.shop_currency == shop.data.currency
    assert "orders/create" in (connection.webhook_topics or [])

    run = db.session.scalar(select(SyncRun).where(SyncRun.kind == "initial"))
    assert run is not None and run.status == "complete", run and run.error
    data = shop.data
    assert count(Customer, workspace_id) == data.count_records("customers")
    assert count(Order, workspace_id) == data.count_records("orders")
    assert count(Product, workspace_id) == data.count_records("products")
    assert count(AbandonedCheckout, workspace_id) == data.count_records("checkouts")
    assert count(OrderLineItem, workspace_id) == expected_line_items(shop)
    assert count(CustomerTag, workspace_id) > 0
    assert run.counts["customers"] == data.count_records("customers")
