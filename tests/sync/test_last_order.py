"""Order webhooks keep the customer's last order date current, forward only, in one transaction."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from lumo.extensions import db
from lumo.models import Customer, Order, WebhookDelivery
from lumo.sync.properties import set_property_enabled
from tests.sync.conftest import post_webhook
from tests.sync.stores import CUSTOMER, SECRET, connect_store, order

SHOP = "last-order.myshopify.com"
PLACED = datetime(2008, 1, 10, 16, 0, tzinfo=UTC)  # the sample's 11:00 at -05:00


@pytest.fixture
def shopify_web(app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> FlaskClient:
    monkeypatch.setitem(app.config, "SHOPIFY_API_SECRET", SECRET)
    return client


def post(web: FlaskClient, topic: str, payload: dict, shop: str = SHOP) -> str:
    """Send a signed webhook; returns the status its delivery ended with."""
    response = post_webhook(web, topic, payload, secret=SECRET, shop_domain=shop)
    assert response.status_code == 200
    db.session.expire_all()
    delivery = db.session.get(WebhookDelivery, response.get_json()["delivery"])
    assert delivery is not None
    return delivery.status


def stored_customer(workspace_id: int, number: int = CUSTOMER["id"]) -> Customer | None:
    db.session.expire_all()
    return db.session.scalar(
        select(Customer).where(
            Customer.workspace_id == workspace_id, Customer.shopify_id == number
        )
    )


def test_order_webhooks_move_the_customers_last_order_forward_never_back(
    shopify_web: FlaskClient,
) -> None:
    workspace_id = connect_store(SHOP)
    assert post(shopify_web, "customers/create", CUSTOMER) == "applied"
    customer = stored_customer(workspace_id)
    assert customer is not None and customer.last_order_at is None

    assert post(shopify_web, "orders/create", order()) == "applied"
    customer = stored_customer(workspace_id)
    assert customer is not None and customer.last_order_at == PLACED
    assert (customer.number_of_orders, customer.amount_spent) == (None, None)  # catch-up's

    older = order(id=450789470, processed_at="2007-06-01T09:00:00-05:00")
    assert post(shopify_web, "orders/updated", older) == "applied"
    assert stored_customer(workspace_id).last_order_at == PLACED  # type: ignore[union-attr]

    newer = order(id=450789471, processed_at="2009-03-01T09:00:00+09:00")
    assert post(shopify_web, "orders/paid", newer) == "applied"
    moved = stored_customer(workspace_id)
    assert moved is not None and moved.last_order_at == datetime(2009, 3, 1, 0, 0, tzinfo=UTC)


def test_another_workspaces_customer_with_the_same_id_is_left_alone(
    shopify_web: FlaskClient,
) -> None:
    mine, theirs = connect_store(SHOP), connect_store("other-store.myshopify.com")
    post(shopify_web, "customers/create", CUSTOMER)
    post(shopify_web, "customers/create", CUSTOMER, shop="other-store.myshopify.com")

    post(shopify_web, "orders/create", order())

    assert stored_customer(mine).last_order_at == PLACED  # type: ignore[union-attr]
    assert stored_customer(theirs).last_order_at is None  # type: ignore[union-attr]


def test_an_order_before_its_customer_makes_no_half_row_and_the_customer_catches_up(
    shopify_web: FlaskClient,
) -> None:
    workspace_id = connect_store(SHOP)

    assert post(shopify_web, "orders/create", order()) == "applied"
    assert db.session.scalar(select(func.count()).select_from(Customer)) == 0
    assert db.session.scalar(select(func.count()).select_from(Order)) == 1

    assert post(shopify_web, "customers/create", CUSTOMER) == "applied"
    customer = stored_customer(workspace_id)
    assert customer is not None and customer.first_name == "Bob"
    assert customer.last_order_at == PLACED


def test_with_last_order_date_switched_off_order_webhooks_leave_it_empty(
    shopify_web: FlaskClient,
) -> None:
    workspace_id = connect_store(SHOP)
    set_property_enabled(workspace_id, "customers", "last_order_date", False)
    post(shopify_web, "customers/create", CUSTOMER)

    assert post(shopify_web, "orders/create", order()) == "applied"

    assert stored_customer(workspace_id).last_order_at is None  # type: ignore[union-attr]


def test_an_order_that_fails_to_apply_leaves_the_customer_as_it_was(
    shopify_web: FlaskClient,
) -> None:
    workspace_id = connect_store(SHOP)
    post(shopify_web, "customers/create", CUSTOMER)
    broken = order()
    broken["line_items"][0]["quantity"] = "one"  # fails after the order and customer steps

    assert post(shopify_web, "orders/create", broken) == "failed"

    assert stored_customer(workspace_id).last_order_at is None  # type: ignore[union-attr]
    assert db.session.scalar(select(func.count()).select_from(Order)) == 0
