"""Every root the sync engine uses, paged and in bulk, and the id/money/time helpers."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from lumo.shopify import bulk
from lumo.shopify.ids import (
    gid_to_id,
    gid_type,
    parse_instant,
    parse_money,
    to_gid,
    updated_since_query,
)

PAGED = {
    "products": "products(first: $first, after: $after) { edges { node { id title handle "
    "status vendor productType tags totalInventory publishedAt "
    "variants(first: 50) { nodes { id sku price inventoryQuantity selectedOptions "
    "{ name value } } } } } pageInfo { hasNextPage endCursor } }",
    "abandonedCheckouts": "abandonedCheckouts(first: $first, after: $after) { nodes { id "
    "abandonedCheckoutUrl completedAt customer { id } totalPriceSet { shopMoney { amount "
    "currencyCode } } lineItems(first: 20) { nodes { id title quantity sku } } } "
    "pageInfo { hasNextPage endCursor } }",
}
BULK = {
    "customers": "{ customers { edges { node { id displayName tags numberOfOrders "
    "amountSpent { amount currencyCode } metafields { edges { node { id namespace key value "
    "} } } } } } }",
    "products": "{ products { edges { node { id title status variants { edges { node { id sku "
    "price inventoryQuantity } } } } } } }",
    "abandonedCheckouts": "{ abandonedCheckouts { edges { node { id completedAt "
    "lineItems { edges { node { id title quantity } } } } } } }",
}


@pytest.mark.parametrize("root", sorted(PAGED))
def test_paged_roots(client, shop, root):
    query = f"query($first: Int!, $after: String) {{ {PAGED[root]} }}"
    nodes = list(client.paginate(query, {"first": 4}, root))
    kind = "checkouts" if root == "abandonedCheckouts" else root
    assert len(nodes) == shop.data.count_records(kind)


@pytest.mark.parametrize("root", sorted(BULK))
def test_bulk_roots_emit_children_as_lines(client, shop, root):
    owner = next(iter(shop.data.iter_records("customers")))[1]["id"]
    client.graphql(
        "mutation($m: [MetafieldsSetInput!]!) { metafieldsSet(metafields: $m) "
        "{ userErrors { message } } }",
        {
            "m": [
                {
                    "ownerId": to_gid("Customer", owner),
                    "namespace": "$app:line",
                    "key": "status",
                    "type": "single_line_text_field",
                    "value": "friend",
                }
            ]
        },
    )
    records = list(bulk.run_and_read(client, BULK[root], poll_interval=1))
    children = [r for r in records if r.parent_id is not None]
    assert children
    assert all(
        not any(isinstance(v, dict) and "edges" in v for v in r.data.values()) for r in records
    )


def test_count_limit_and_precision(client, shop):
    capped = client.graphql("{ ordersCount(limit: 5) { count precision } }")["ordersCount"]
    assert capped == {"count": 5, "precision": "AT_LEAST"}
    assert client.count_orders() == shop.data.count_records("orders")


def test_id_money_and_time_helpers():
    gid = to_gid("Customer", 207119551)
    assert gid_to_id(gid) == 207119551 and gid_type(gid) == "Customer"
    assert gid_to_id("gid://shopify/InventoryLevel/24826418?inventory_item_id=1") == 24826418
    with pytest.raises(ValueError):
        gid_to_id("207119551")
    assert parse_money("598.94") == Decimal("598.94")
    assert parse_money("1200") == Decimal(1200) and parse_money(None) is None
    moment = parse_instant("2008-01-10T11:00:00-05:00")
    assert moment == datetime(2008, 1, 10, 16, 0, tzinfo=UTC)
    assert parse_instant("2024-05-05T15:34:08Z").tzinfo is not None
    assert updated_since_query(moment) == "updated_at:>'2008-01-10T16:00:00Z'"
