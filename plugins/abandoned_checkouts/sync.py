"""Fetching and mapping abandoned checkouts.

The item count is the number of units (the sum of line-item quantities) and `product_titles`
lists what was left behind; both come from the checkout's line items in every shape. GraphQL
has no checkout token field, so it is read from the recovery URL (`/checkouts/{token}/recover`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from lumo import hookimpl
from lumo.categories import Category
from lumo.mapping import MapContext, RecordShape, Row
from lumo.sync.fields import (
    batch_mapping_hook,
    build_values,
    children,
    delete_by_id_hook,
    instant,
    money,
    money_currency,
    shopify_id,
)

KEY = "abandoned_checkouts"
TOKEN_IN_URL = re.compile(r"/checkouts/([^/?#]+)/recover")


def node_fields(enabled: frozenset[str]) -> str:
    parts = ["id updatedAt customer { id", "email" if "email" in enabled else "", "}"]
    wanted = {
        "token": "abandonedCheckoutUrl",
        "recovery_url": "abandonedCheckoutUrl",
        "total_price": "totalPriceSet { shopMoney { amount currencyCode } }",
        "currency": "totalPriceSet { shopMoney { amount currencyCode } }",
        "created_at": "createdAt",
        "completed_at": "completedAt",
        "phone": "shippingAddress { phone }",
        "note": "note",
    }
    parts += [wanted[k] for k in wanted if k in enabled]
    return " ".join(dict.fromkeys(p for p in parts if p))


def _line_fields() -> str:
    return "id title quantity"


@hookimpl
def lumo_bulk_query(category: Category, enabled: frozenset[str]) -> str | None:
    if category.key != KEY:
        return None
    return (
        "{ abandonedCheckouts { edges { node { "
        + node_fields(enabled)
        + " lineItems { edges { node { "
        + _line_fields()
        + " } } } } } } }"
    )


@hookimpl
def lumo_changed_since_query(category: Category, enabled: frozenset[str]) -> str | None:
    if category.key != KEY:
        return None
    return (
        "query($first: Int!, $after: String, $query: String) { abandonedCheckouts("
        "first: $first, after: $after, query: $query) { nodes { "
        + node_fields(enabled)
        + " lineItems(first: 50) { nodes { "
        + _line_fields()
        + " } } } pageInfo { hasNextPage endCursor } } }"
    )


def _token_from_url(url: str | None) -> str | None:
    match = TOKEN_IN_URL.search(url or "")
    return match.group(1) if match else None


def _items(raw: dict[str, Any], items: Sequence[Mapping[str, Any]] | None) -> None:
    if items is None:
        return
    raw["item_count"] = sum(int(i.get("quantity") or 0) for i in items)
    raw["product_titles"] = [str(i.get("title")) for i in items if i.get("title")]


def _from_graphql(record: Mapping[str, Any]) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    if "customer" in record:
        customer = record["customer"] or {}
        raw["customer_shopify_id"] = shopify_id(customer.get("id"))
        if "email" in customer:
            raw["email"] = customer["email"]
    if "abandonedCheckoutUrl" in record:
        raw["recovery_url"] = record["abandonedCheckoutUrl"]
        raw["token"] = _token_from_url(record["abandonedCheckoutUrl"])
    if "totalPriceSet" in record:
        raw["total_price"] = money(record["totalPriceSet"])
        raw["currency"] = money_currency(record["totalPriceSet"])
    if "createdAt" in record:
        raw["created_at"] = instant(record["createdAt"])
    if "completedAt" in record:
        raw["completed_at"] = instant(record["completedAt"])
    if "shippingAddress" in record:
        raw["phone"] = (record["shippingAddress"] or {}).get("phone")
    if "note" in record:
        raw["extra.note"] = record["note"]
    _items(raw, children(record, "lineItems", "AbandonedCheckoutLineItem"))
    return raw


def _from_webhook(record: Mapping[str, Any], context: MapContext) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    if "customer" in record:
        raw["customer_shopify_id"] = shopify_id((record["customer"] or {}).get("id"))
    if "email" in record:
        raw["email"] = record["email"]
    if "abandoned_checkout_url" in record:
        raw["recovery_url"] = record["abandoned_checkout_url"]
    if "token" in record:
        raw["token"] = record["token"]
    elif "abandoned_checkout_url" in record:
        raw["token"] = _token_from_url(record["abandoned_checkout_url"])
    if "total_price" in record:
        raw["total_price"] = money(record["total_price"])
        raw["currency"] = record.get("currency") or context.shop_currency
    if "created_at" in record:
        raw["created_at"] = instant(record["created_at"])
    if "completed_at" in record:
        raw["completed_at"] = instant(record["completed_at"])
    if "shipping_address" in record:
        raw["phone"] = (record["shipping_address"] or {}).get("phone")
    if "note" in record:
        raw["extra.note"] = record["note"]
    _items(raw, record.get("line_items"))
    return raw


@hookimpl
def lumo_map_record(
    category: Category, record: Mapping[str, Any], shape: RecordShape, context: MapContext
) -> list[Row] | None:
    if category.key != KEY:
        return None
    if "__parentId" in record:
        return []  # a late bulk child line: the checkout row was already written
    number = shopify_id(record.get("id"))
    if number is None:
        raise ValueError("A checkout record without an id cannot be stored.")
    raw = _from_webhook(record, context) if shape is RecordShape.WEBHOOK else _from_graphql(record)
    updated = instant(record.get("updatedAt") or record.get("updated_at"))
    if updated is not None:
        raw["shopify_updated_at"] = updated
    values = build_values(category, context, raw, shopify_id=number)
    if "item_count" not in context.enabled:
        values.pop("product_titles", None)
    return [Row(category.table, values, updated_at=updated)]


lumo_deleted_key = delete_by_id_hook(KEY)


lumo_map_records = batch_mapping_hook(KEY, lumo_map_record)
