"""Webhook event ids are unique per workspace: no store or LINE channel pre-empts another's."""

from __future__ import annotations

import json

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from lumo import jobs
from lumo.extensions import db
from lumo.line import sign
from lumo.models import Customer, WebhookDelivery
from lumo.workspaces import create_workspace
from tests.sync.conftest import post_webhook
from tests.sync.stores import CUSTOMER, SECRET, connect_store

STORE_A, STORE_B = "store-a.myshopify.com", "store-b.myshopify.com"


@pytest.fixture
def shopify_web(app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> FlaskClient:
    monkeypatch.setitem(app.config, "SHOPIFY_API_SECRET", SECRET)
    return client


def deliveries(event_id: str) -> list[WebhookDelivery]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.event_id == event_id)
            .order_by(WebhookDelivery.id)
        )
    )


def send(web: FlaskClient, shop: str, event_id: str, payload: dict = CUSTOMER) -> bool:
    """POST customers/create from `shop`; returns whether Lumo took it as a duplicate."""
    response = post_webhook(
        web, "customers/create", payload, event_id=event_id, secret=SECRET, shop_domain=shop
    )
    assert response.status_code == 200
    return bool(response.get_json()["duplicate"])


def customers_of(workspace_id: int) -> int:
    statement = select(func.count()).select_from(Customer)
    return int(db.session.scalar(statement.where(Customer.workspace_id == workspace_id)) or 0)


def test_the_same_shopify_event_id_is_applied_for_each_store_and_once_per_store(
    shopify_web: FlaskClient,
) -> None:
    store_a, store_b = connect_store(STORE_A), connect_store(STORE_B)

    duplicates = [
        send(shopify_web, STORE_A, "evt-7"),
        send(shopify_web, STORE_B, "evt-7", {**CUSTOMER, "id": 42}),
        send(shopify_web, STORE_A, "evt-7"),
    ]

    assert duplicates == [False, False, True]
    stored = deliveries("evt-7")
    assert [(d.workspace_id, d.status) for d in stored] == [
        (store_a, "applied"),
        (store_b, "applied"),
    ]
    assert customers_of(store_a) == customers_of(store_b) == 1


def test_deliveries_for_an_unknown_shop_are_kept_once_and_never_pre_empt_a_store(
    shopify_web: FlaskClient,
) -> None:
    unknown = "nobody.myshopify.com"
    assert [send(shopify_web, unknown, "evt-8") for _ in range(2)] == [False, True]
    store_a = connect_store(STORE_A)
    assert send(shopify_web, STORE_A, "evt-8") is False

    stored = deliveries("evt-8")
    assert [(d.workspace_id, d.shop_domain, d.status) for d in stored] == [
        (None, unknown, "ignored"),
        (store_a, STORE_A, "applied"),
    ]


def test_the_same_line_event_id_is_saved_for_each_channel_and_once_per_channel(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    channels = [
        create_workspace(f"LINE shop {n}", line_channel_secret=f"channel-secret-{n}")
        for n in (1, 2)
    ]
    db.session.commit()
    monkeypatch.setattr(jobs, "enqueue", lambda *args, **kwargs: None)  # intake only
    body = json.dumps(
        {
            "destination": "Ubot",
            "events": [
                {
                    "type": "unfollow",
                    "mode": "active",
                    "timestamp": 1767225600000,
                    "source": {"type": "user", "userId": "U" + "4" * 32},
                    "webhookEventId": "01JLINESHAREDEVENT0000000",
                    "deliveryContext": {"isRedelivery": False},
                }
            ],
        }
    ).encode()

    def deliver(n: int) -> dict:
        workspace = channels[n]
        response = client.post(
            f"/webhooks/line/{workspace.id}",
            data=body,
            headers={
                "x-line-signature": sign(f"channel-secret-{n + 1}", body),
                "Content-Type": "application/json",
            },
        )
        assert response.status_code == 200
        return response.get_json()  # type: ignore[no-any-return]

    assert [deliver(0)["received"], deliver(1)["received"]] == [1, 1]
    assert deliver(0) == {"received": 0, "duplicates": 1, "malformed": 0}
    stored = deliveries("01JLINESHAREDEVENT0000000")
    assert [d.workspace_id for d in stored] == [channels[0].id, channels[1].id]
