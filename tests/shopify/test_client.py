"""ShopifyClient against the stand-in: pages, filters, counts, throttling, retries, auth."""

from __future__ import annotations

import pytest

from lumo.shopify.errors import (
    ShopifyAuthError,
    ShopifyGraphQLError,
    ShopifyUnavailableError,
)
from lumo.shopify.ids import gid_to_id, updated_since_query

PAGE = """
query($first: Int!, $after: String, $q: String) {
  customers(first: $first, after: $after, query: $q, sortKey: UPDATED_AT) {
    edges { cursor node { id updatedAt displayName tags numberOfOrders
                          amountSpent { amount currencyCode } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


def test_shop_info_and_counts(client, shop):
    info = client.shop_info()
    assert info["ianaTimezone"] == "Asia/Tokyo"
    assert info["currencyCode"] == "JPY"
    assert client.count_customers() == 40
    assert client.count_orders() == shop.data.count_records("orders")
    assert client.count_products() == shop.data.count_records("products")


def test_paginate_follows_cursors(client, shop):
    nodes = list(client.paginate(PAGE, {"first": 7}, "customers"))
    expected = [number for number, _ in shop.data.iter_records("customers")]
    assert [gid_to_id(n["id"]) for n in nodes] == expected


def test_paginate_honours_updated_at_filter(client, shop):
    from datetime import datetime

    stamps = sorted(
        datetime.fromisoformat(r["updated_at"]) for _, r in shop.data.iter_records("customers")
    )
    since = stamps[len(stamps) // 2]
    nodes = list(client.paginate(PAGE, {"first": 5, "q": updated_since_query(since)}, "customers"))
    assert nodes
    assert len(nodes) == sum(1 for s in stamps if s.replace(microsecond=0) > since)


def test_throttled_requests_wait_and_succeed(make_client, shop, clock):
    shop.set_throttle(maximum=250, restore_rate=50)  # a strict, tiny bucket
    client = make_client()
    pages = [client.graphql(PAGE, {"first": 100}) for _ in range(4)]
    assert all(len(p["customers"]["edges"]) == 40 for p in pages)
    assert len(clock.sleeps) == 3, "every call after the first had to wait for the bucket"
    status = client.last_throttle_status
    assert status is not None and status.maximum_available == 250


def test_throttle_wait_is_the_deficit_over_the_restore_rate(make_client, shop, clock):
    shop.set_throttle(maximum=250, restore_rate=10)
    client = make_client()
    # requested 2 + 100 × 2 = 202; 40 customers come back, so 2 + 40 × 2 = 82 is kept
    client.graphql(PAGE, {"first": 100})
    assert shop.bucket.status()["currentlyAvailable"] == 168
    client.graphql(PAGE, {"first": 100})
    assert clock.sleeps == [pytest.approx((202 - 168) / 10)]


def test_429_is_retried_after_retry_after(client, shop, clock):
    shop.set_faults(http_429=2, retry_after="1.5")
    assert client.shop_info()["currencyCode"] == "JPY"
    assert clock.sleeps == [1.5, 1.5]


def test_5xx_is_retried_with_backoff(make_client, shop, clock):
    client = make_client(backoff_base=0.5)
    shop.set_faults(http_5xx=3)
    assert client.count_customers() == 40
    assert clock.sleeps == [0.5, 1.0, 2.0]


def test_5xx_gives_up_after_the_retry_budget(make_client, shop):
    client = make_client(max_retries=2)
    shop.set_faults(http_5xx=10)
    with pytest.raises(ShopifyUnavailableError, match="retries"):
        client.count_customers()


def test_slow_responses_time_out_and_are_retried(make_client, shop, clock):
    client = make_client(timeout=0.1, max_retries=1)
    shop.set_faults(slow_seconds=0.3)
    with pytest.raises(ShopifyUnavailableError, match="ReadTimeout"):
        client.shop_info()
    assert clock.sleeps == [0.5]


def test_revoked_token_reports_auth_failure(make_client, shop):
    reasons: list[str] = []
    client = make_client(on_auth_failure=reasons.append)
    shop.set_faults(revoked=True)
    with pytest.raises(ShopifyAuthError) as caught:
        client.shop_info()
    assert caught.value.status_code == 401
    assert reasons and "Reconnect the store" in reasons[0]


def test_unknown_field_is_a_graphql_error(client):
    with pytest.raises(ShopifyGraphQLError, match="doesn't exist"):
        client.graphql("{ customers(first: 1) { nodes { id shoeSize } } }")


def test_too_expensive_query_is_refused(client):
    with pytest.raises(ShopifyGraphQLError) as caught:
        client.graphql(
            "{ orders(first: 250) { nodes { id lineItems(first: 250) { nodes { id } } } } }"
        )
    assert "MAX_COST_EXCEEDED" in caught.value.codes


def test_customer_fields_follow_the_schema(client, shop):
    number, record = next(iter(shop.data.iter_records("customers")))
    data = client.graphql(
        "query($id: ID!) { customer(id: $id) { id firstName lastName state createdAt "
        "defaultEmailAddress { emailAddress } lastOrder { id processedAt } } }",
        {"id": f"gid://shopify/Customer/{number}"},
    )
    customer = data["customer"]
    assert customer["state"] == record["state"].upper()
    assert customer["createdAt"].endswith("Z")
