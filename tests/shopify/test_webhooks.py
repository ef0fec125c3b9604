"""Webhook signatures, subscriptions and the stand-in's delivery switches."""

from __future__ import annotations

import json

import httpx
import pytest

from lumo.sandbox.shopify_server import start_shopify_sandbox
from lumo.shopify import webhooks
from tests.shopify.conftest import SECRET

HEADERS = (
    "X-Shopify-Topic",
    "X-Shopify-Hmac-Sha256",
    "X-Shopify-Shop-Domain",
    "X-Shopify-Api-Version",
    "X-Shopify-Webhook-Id",
    "X-Shopify-Event-Id",
    "X-Shopify-Triggered-At",
)


def test_reference_vector():
    body = b'{"id":1001,"admin_graphql_api_id":"gid://shopify/Order/1001"}'
    assert webhooks.webhook_signature(body, "test-secret") == (
        "QekQ5ChELZ5kDbDamBS/hX6DS76/41ljzuGCkDTUWMM="
    )


def test_japanese_body_is_verified_on_raw_bytes(shop, receiver):
    shop.subscribe("customers/update", receiver.url)
    number, _ = next(iter(shop.data.iter_records("customers")))
    shop.update_customer(number, first_name="陽菜", note="A&B / テスト")
    request = receiver.requests[-1]
    raw, signature = request["body"], request["headers"]["X-Shopify-Hmac-Sha256"]
    assert "陽菜".encode() in raw and b"\\/" in raw and b"\\u0026" in raw

    assert webhooks.verify_webhook(raw, signature, SECRET)
    reserialised = json.dumps(json.loads(raw)).encode()
    assert not webhooks.verify_webhook(reserialised, signature, SECRET)
    assert not webhooks.verify_webhook(raw, None, SECRET)
    assert not webhooks.verify_webhook(raw, signature, "wrong-secret")


def test_delivery_headers(shop, receiver):
    shop.subscribe("orders/create", receiver.url)
    number, customer = next(iter(shop.data.iter_records("customers")))
    variant = next(iter(shop.data.iter_records("products")))[1]["variants"][0]
    order = shop.create_order(number, [{"variant_id": variant["id"], "quantity": 2}])
    headers = receiver.requests[-1]["headers"]
    for name in HEADERS:
        assert headers.get(name), name
    assert headers["X-Shopify-Topic"] == "orders/create"
    assert headers["X-Shopify-Shop-Domain"] == shop.domain
    payload = json.loads(receiver.requests[-1]["body"])
    assert payload["id"] == order["id"]
    assert payload["admin_graphql_api_id"] == f"gid://shopify/Order/{order['id']}"
    assert payload["line_items"][0]["quantity"] == 2
    assert "tags" not in payload["customer"]  # removed from customer payloads in 2025-01


def test_tag_changes_come_as_their_own_topics(shop, receiver):
    shop.subscribe("customer.tags_added", receiver.url)
    shop.subscribe("customer.tags_removed", receiver.url)
    number, record = next(iter(shop.data.iter_records("customers")))
    shop.update_customer_tags(number, add=["Big Spender"], remove=list(record["tags"])[:1])
    topics = [r["headers"]["X-Shopify-Topic"] for r in receiver.requests]
    assert "customer.tags_added" in topics
    added = json.loads(
        next(
            r["body"]
            for r in receiver.requests
            if r["headers"]["X-Shopify-Topic"] == "customer.tags_added"
        )
    )
    assert added["tags"] == ["Big Spender"]


def test_duplicate_delivery_keeps_the_webhook_id(shop, receiver):
    shop.subscribe("customers/create", receiver.url)
    shop.set_faults(webhook_duplicate=True)
    shop.create_customer(first_name="Ana")
    first, second = receiver.requests
    assert first["body"] == second["body"]
    assert first["headers"]["X-Shopify-Webhook-Id"] == second["headers"]["X-Shopify-Webhook-Id"]


def test_held_deliveries_are_released_out_of_order(shop, receiver):
    shop.subscribe("checkouts/create", receiver.url)
    shop.subscribe("checkouts/update", receiver.url)
    shop.subscribe("orders/create", receiver.url)
    shop.set_faults(webhook_hold=True)
    number, _ = next(iter(shop.data.iter_records("customers")))
    variant = next(iter(shop.data.iter_records("products")))[1]["variants"][0]
    checkout = shop.start_checkout(number, [{"variant_id": variant["id"], "quantity": 1}])
    shop.complete_checkout(checkout["token"])
    assert receiver.requests == []
    assert shop.release_webhooks() == 3
    topics = [r["headers"]["X-Shopify-Topic"] for r in receiver.requests]
    assert topics == ["checkouts/update", "orders/create", "checkouts/create"]
    order = json.loads(receiver.requests[1]["body"])
    assert order["checkout_token"] == checkout["token"]


def test_wrong_signature_switch(shop, receiver):
    shop.subscribe("carts/create", receiver.url)
    shop.set_faults(webhook_bad_signature=True)
    variant = next(iter(shop.data.iter_records("products")))[1]["variants"][0]
    shop.create_cart([{"variant_id": variant["id"], "quantity": 1}])
    request = receiver.requests[-1]
    assert not webhooks.verify_webhook(
        request["body"], request["headers"]["X-Shopify-Hmac-Sha256"], SECRET
    )


def test_background_delivery(receiver):
    sandbox = start_shopify_sandbox(api_secret=SECRET, background_webhooks=True)
    try:
        shop = sandbox.add_shop("bg-shop.myshopify.com")
        shop.subscribe("customers/create", receiver.url)
        shop.create_customer(first_name="Bo")
        sandbox.drain()
    finally:
        sandbox.stop()
    assert len(receiver.requests) == 1
    assert shop.deliveries[0].status == 200


def test_admin_http_api_changes_data_and_delivers(sandbox, shop, receiver):
    base = f"{sandbox.url}/_sandbox/shops/{shop.domain}/actions"
    httpx.post(
        f"{base}/subscribe", json={"topic": "customers/update", "uri": receiver.url}, timeout=5
    ).raise_for_status()
    number, _ = next(iter(shop.data.iter_records("customers")))
    response = httpx.post(
        f"{base}/update_customer_tags",
        json={"customer_id": number, "add": ["VIP Gold"]},
        timeout=5,
    )
    assert response.status_code == 200
    assert "VIP Gold" in response.json()["result"]["tags"]
    assert receiver.requests[-1]["headers"]["X-Shopify-Topic"] == "customers/update"
    faults = httpx.post(f"{base}/set_faults", json={"http_5xx": 1}, timeout=5).json()
    assert faults["result"]["http_5xx"] == 1
    assert httpx.post(f"{base}/no_such_action", json={}, timeout=5).status_code == 404


def test_register_is_idempotent_and_remove_cleans_up(client, shop):
    topics = ["orders/create", "customers/update", "customer.tags_added"]
    url = "http://127.0.0.1:5000/webhooks/shopify"
    first = webhooks.register_webhooks(client, topics, url)
    again = webhooks.register_webhooks(client, topics, url)
    assert len(first) == len(again) == 3
    assert len(shop.data.subscriptions) == 3
    assert {s["topic"] for s in again} == {
        "ORDERS_CREATE",
        "CUSTOMERS_UPDATE",
        "CUSTOMER_TAGS_ADDED",
    }
    assert webhooks.remove_webhooks(client) == 3
    assert shop.data.subscriptions == []


def test_non_loopback_callbacks_are_never_called(shop):
    shop.subscribe("customers/create", "https://example.com/hooks")
    shop.create_customer(first_name="Cy")
    assert shop.deliveries[-1].status is None
    assert "loopback" in (shop.deliveries[-1].error or "")


def _proxy_signature(params, secret):
    import hashlib
    import hmac

    message = "".join(f"{k}={','.join(v)}" for k, v in sorted(params.items()))
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def test_app_proxy_signature():
    params = {
        "shop": ["demo-shop.myshopify.com"],
        "path_prefix": ["/apps/lumo"],
        "timestamp": ["1317327555"],
        "extra": ["1", "2"],
    }
    signed = {**params, "signature": [_proxy_signature(params, "hush")]}
    assert webhooks.verify_app_proxy(signed, "hush")
    query = (
        "extra=1&extra=2&shop=demo-shop.myshopify.com&path_prefix=%2Fapps%2Flumo"
        "&timestamp=1317327555&signature=" + signed["signature"][0]
    )
    assert webhooks.verify_app_proxy(query, "hush")
    assert not webhooks.verify_app_proxy({**signed, "timestamp": ["1317327556"]}, "hush")
    assert not webhooks.verify_app_proxy(params, "hush")


@pytest.mark.parametrize(
    ("topic", "enum"),
    [
        ("orders/create", "ORDERS_CREATE"),
        ("customer.tags_added", "CUSTOMER_TAGS_ADDED"),
        ("bulk_operations/finish", "BULK_OPERATIONS_FINISH"),
    ],
)
def test_topic_enum(topic, enum):
    assert webhooks.topic_enum(topic) == enum
