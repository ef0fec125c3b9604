"""Fetching and mapping abandoned checkouts.

The item count is the number of units (the sum of line-item quantities) and `product_titles`
lists what was left behind; both come from the checkout's line items in every shape. GraphQL
has no checkout token field, so it is read from the recovery URL (`/checkouts/{token}/recover`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from lumo import hookimpl
from lumo.categories import Category
from lumo.mapping import CopyPlan, CopyRows, MapContext, RecordShape, Row
from lumo.sync.fields import (
    batch_mapping_hook,
    build_values,
    children,
    copy_columns,
    copy_instant,
    copy_updated,
    delete_by_id_hook,
    gid_number,
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


def _count(items: Iterable[Mapping[str, Any]]) -> int:
    return sum(int(i.get("quantity") or 0) for i in items)


def _titles(items: Iterable[Mapping[str, Any]]) -> list[str]:
    return [str(i["title"]) for i in items if i.get("title")]


def _items(raw: dict[str, Any], items: Sequence[Mapping[str, Any]] | None) -> None:
    if items is None:
        return
    raw["item_count"] = _count(items)
    raw["product_titles"] = _titles(items)


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


def _item_count(record: Mapping[str, Any]) -> int | None:
    items = children(record, "lineItems", "AbandonedCheckoutLineItem")
    return None if items is None else _count(items)


def _product_titles(record: Mapping[str, Any]) -> list[str] | None:
    items = children(record, "lineItems", "AbandonedCheckoutLineItem")
    return None if items is None else _titles(items)


#: What a bulk checkout line gives each column (see `_from_graphql`, which this must match).
COPY_READERS: dict[str, Any] = {
    "shopify_id": lambda r: gid_number(r["id"]),
    "customer_shopify_id": lambda r: gid_number((r.get("customer") or {}).get("id")),
    "email": lambda r: (r.get("customer") or {}).get("email"),
    "recovery_url": lambda r: r.get("abandonedCheckoutUrl"),
    "token": lambda r: _token_from_url(r.get("abandonedCheckoutUrl")),
    "total_price": lambda r: money(r.get("totalPriceSet")),
    "currency": lambda r: money_currency(r.get("totalPriceSet")),
    "created_at": lambda r: copy_instant(r.get("createdAt")),
    "completed_at": lambda r: copy_instant(r.get("completedAt")),
    "phone": lambda r: (r.get("shippingAddress") or {}).get("phone"),
    "item_count": _item_count,
    "product_titles": _product_titles,
    "shopify_updated_at": copy_updated,
}


@hookimpl
def lumo_bulk_copy_plan(category: Category, context: MapContext) -> CopyPlan | None:
    """Checkouts are copied whole; a late line-item line (its checkout already written)
    gives no row, as in `lumo_map_record`."""
    if category.key != KEY:
        return None
    readers = dict(COPY_READERS)
    if "item_count" not in context.enabled:
        del readers["product_titles"]
    found = copy_columns(category, context.enabled, readers)
    if found is None:
        return None
    columns, read = found

    def rows(record: Mapping[str, Any]) -> CopyRows:
        if "__parentId" in record:
            return []
        values = read(record)
        if values[0] is None:
            raise ValueError("A checkout record without an id cannot be stored.")
        return [(category.table, values)]

    return CopyPlan({category.table: columns}, rows)


lumo_deleted_key = delete_by_id_hook(KEY)


lumo_map_records = batch_mapping_hook(KEY, lumo_map_record)
