"""A webhook whose money is not a finite amount is kept as failed with the reason, end to end."""

from __future__ import annotations

from decimal import Decimal

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from lumo.extensions import db
from lumo.models import Customer, Order, WebhookDelivery
from tests.sync.conftest import post_webhook
from tests.sync.stores import CUSTOMER, SECRET, connect_store, order

SHOP = "amounts.myshopify.com"


@pytest.fixture
def shopify_web(app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> FlaskClient:
    monkeypatch.setitem(app.config, "SHOPIFY_API_SECRET", SECRET)
    connect_store(SHOP)
    return client


def delivered(web: FlaskClient, topic: str, payload: dict | bytes) -> WebhookDelivery:
    response = post_webhook(web, topic, payload, secret=SECRET, shop_domain=SHOP)
    assert response.status_code == 200  # saved and acknowledged whatever its content
    db.session.expire_all()
    delivery = db.session.get(WebhookDelivery, response.get_json()["delivery"])
    assert delivery is not None
    return delivery


def orders_stored() -> int:
    return int(db.session.scalar(select(func.count()).select_from(Order)) or 0)


@pytest.mark.parametrize("amount", ["NaN", "Infinity", "-inf", "1e999", "sNaN", "1e14"])
@pytest.mark.parametrize("where", ["order total", "line item price"])
def test_an_order_with_an_impossible_amount_is_kept_failed_with_the_reason(
    shopify_web: FlaskClient, amount: str, where: str
) -> None:
    delivered(shopify_web, "customers/create", CUSTOMER)
    payload = order()
    if where == "order total":
        del payload["total_price_set"]
        payload["total_price"] = amount
    else:
        payload["line_items"][0]["price"] = amount

    delivery = delivered(shopify_web, "orders/create", payload)

    assert delivery.status == "failed"
    assert f"not a money amount: {amount!r}" in (delivery.error or "")
    assert orders_stored() == 0
    customer = db.session.scalar(select(Customer))
    assert customer is not None and customer.last_order_at is None  # nothing half-applied


def test_bare_nan_in_the_json_is_refused_before_mapping(shopify_web: FlaskClient) -> None:
    body = b'{"id": 450789469, "total_price": NaN, "updated_at": "2026-01-01T00:00:00Z"}'

    delivery = delivered(shopify_web, "orders/create", body)

    assert delivery.status == "failed"
    assert "NaN, which is not a JSON number" in (delivery.error or "")
    assert orders_stored() == 0


def test_a_negative_total_is_stored_as_sent(shopify_web: FlaskClient) -> None:
    payload = order(total_price="-5.00")
    del payload["total_price_set"]

    assert delivered(shopify_web, "orders/create", payload).status == "applied"

    assert db.session.scalar(select(Order.total_price)) == Decimal("-5.00")
