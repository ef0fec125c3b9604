"""Fetching and mapping order line items.

Line items travel with their order: nested under `lineItems` in GraphQL, as child lines of the
order in a bulk result, and in `line_items` of every order webhook. Each mapping returns the
order's key row first with `replace_children`, so an edited order's removed items disappear
and an older order payload changes none of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lumo import hookimpl
from lumo.categories import Category
from lumo.mapping import CopyPlan, CopyRows, MapContext, RecordShape, Row
from lumo.sync.fields import (
    batch_mapping_hook,
    build_values,
    children,
    copy_columns,
    copy_updated,
    gid_number,
    instant,
    money,
    money_currency,
    shopify_id,
)

KEY = "line_items"
ORDERS_TABLE = "shopify_orders"
UPDATED = "shopify_updated_at"

SELECTIONS = {
    "product": "product { id }",
    "variant": "variant { id }",
    "product_title": "title",
    "sku": "sku",
    "quantity": "quantity",
    "price": "originalUnitPriceSet { shopMoney { amount currencyCode } }",
    "variant_title": "variantTitle",
    "vendor": "vendor",
}


def item_fields(enabled: frozenset[str]) -> str:
    return " ".join(["id", *(SELECTIONS[k] for k in SELECTIONS if k in enabled)])


@hookimpl
def lumo_bulk_query(category: Category, enabled: frozenset[str]) -> str | None:
    if category.key != KEY:
        return None
    return (
        "{ orders { edges { node { id updatedAt lineItems { edges { node { "
        + item_fields(enabled)
        + " } } } } } } }"
    )


@hookimpl
def lumo_changed_since_query(category: Category, enabled: frozenset[str]) -> str | None:
    if category.key != KEY:
        return None
    return (
        "query($first: Int!, $after: String, $query: String) { orders(first: $first, "
        "after: $after, query: $query, sortKey: UPDATED_AT) { nodes { id updatedAt "
        "lineItems(first: 50) { nodes { "
        + item_fields(enabled)
        + " } } } pageInfo { hasNextPage endCursor } } }"
    )


def _item_from_graphql(item: Mapping[str, Any]) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    if "product" in item:
        raw["product_shopify_id"] = shopify_id((item["product"] or {}).get("id"))
    if "variant" in item:
        raw["variant_shopify_id"] = shopify_id((item["variant"] or {}).get("id"))
    for source, target in (
        ("title", "product_title"),
        ("sku", "sku"),
        ("variantTitle", "variant_title"),
        ("vendor", "extra.vendor"),
    ):
        if source in item:
            raw[target] = item[source]
    if "quantity" in item:
        raw["quantity"] = int(item["quantity"] or 0)
    if "originalUnitPriceSet" in item:
        raw["price"] = money(item["originalUnitPriceSet"])
        raw["currency"] = money_currency(item["originalUnitPriceSet"])
    return raw


def _item_from_webhook(item: Mapping[str, Any], context: MapContext) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    if "product_id" in item:
        raw["product_shopify_id"] = shopify_id(item["product_id"])
    if "variant_id" in item:
        raw["variant_shopify_id"] = shopify_id(item["variant_id"])
    for source, target in (
        ("title", "product_title"),
        ("sku", "sku"),
        ("variant_title", "variant_title"),
        ("vendor", "extra.vendor"),
    ):
        if source in item:
            raw[target] = item[source]
    if "quantity" in item:
        raw["quantity"] = int(item["quantity"] or 0)
    if "price_set" in item:
        raw["price"] = money(item["price_set"])
        raw["currency"] = money_currency(item["price_set"])
    elif "price" in item:
        raw["price"] = money(item["price"])
        raw["currency"] = context.shop_currency
    return raw


def _item_row(
    category: Category, context: MapContext, order_id: int, item: Mapping[str, Any], raw: dict
) -> Row:
    values = build_values(
        category,
        context,
        raw,
        shopify_id=shopify_id(item.get("id")),
        order_shopify_id=order_id,
    )
    return Row(category.table, values)


@hookimpl
def lumo_map_record(
    category: Category, record: Mapping[str, Any], shape: RecordShape, context: MapContext
) -> list[Row] | None:
    if category.key != KEY:
        return None
    if "__parentId" in record:
        # A bulk child line whose order line was already written: keep the item on its own.
        order_id = shopify_id(record["__parentId"])
        if order_id is None:
            raise ValueError("A line item without its order cannot be stored.")
        return [_item_row(category, context, order_id, record, _item_from_graphql(record))]

    order_id = shopify_id(record.get("id"))
    if order_id is None:
        raise ValueError("An order record without an id cannot be stored.")
    if shape is RecordShape.WEBHOOK:
        items = record.get("line_items")
        if items is None:
            return []
        rows = [
            _item_row(category, context, order_id, i, _item_from_webhook(i, context))
            for i in items
        ]
    else:
        nodes = children(record, "lineItems", "LineItem")
        if nodes is None:
            return []
        rows = [_item_row(category, context, order_id, i, _item_from_graphql(i)) for i in nodes]

    updated = instant(record.get("updatedAt") or record.get("updated_at"))
    order_values: dict[str, Any] = {"workspace_id": context.workspace_id, "shopify_id": order_id}
    if updated is not None:
        order_values["shopify_updated_at"] = updated
    parent = Row(
        ORDERS_TABLE,
        order_values,
        updated_at=updated,
        replace_children={category.table: "order_shopify_id"},
    )
    return [parent, *rows]


@hookimpl
def lumo_deleted_key(
    category: Category, payload: Mapping[str, Any], context: MapContext
) -> dict[str, Any] | None:
    if category.key != KEY:
        return None
    return {
        "workspace_id": context.workspace_id,
        "order_shopify_id": shopify_id(payload.get("id")),
    }


lumo_map_records = batch_mapping_hook(KEY, lumo_map_record)


def _quantity(item: Mapping[str, Any]) -> int | None:
    return int(item["quantity"] or 0) if "quantity" in item else None


#: What a bulk line-item line gives each column (see `_item_from_graphql`, which this must
#: match); `shopify_id` and `order_shopify_id` come first and are filled by the plan itself.
COPY_READERS: dict[str, Any] = {
    "product_shopify_id": lambda i: gid_number((i.get("product") or {}).get("id")),
    "variant_shopify_id": lambda i: gid_number((i.get("variant") or {}).get("id")),
    "product_title": lambda i: i.get("title"),
    "sku": lambda i: i.get("sku"),
    "variant_title": lambda i: i.get("variantTitle"),
    "quantity": _quantity,
    "price": lambda i: money(i.get("originalUnitPriceSet")),
    "currency": lambda i: money_currency(i.get("originalUnitPriceSet")),
}


@hookimpl
def lumo_bulk_copy_plan(category: Category, context: MapContext) -> CopyPlan | None:
    """Line items are copied; their order's key-and-age row is upserted as their guard."""
    if category.key != KEY:
        return None
    found = copy_columns(category, context.enabled, COPY_READERS)
    if found is None:
        return None
    columns, read = found
    items = category.table

    def item(order_id: int | None, line: Mapping[str, Any]) -> tuple[str, list[Any]]:
        number = gid_number(line.get("id"))
        if number is None or order_id is None:
            raise ValueError("A line item without an id or an order cannot be stored.")
        return items, [number, order_id, *read(line)]

    def rows(record: Mapping[str, Any]) -> CopyRows:
        if "__parentId" in record:
            return [item(gid_number(record["__parentId"]), record)]
        order_id = gid_number(record.get("id"))
        nodes = children(record, "lineItems", "LineItem")
        if order_id is None or nodes is None:
            raise ValueError("Not a bulk order line; the ordinary mapping decides.")
        parent = (ORDERS_TABLE, [order_id, copy_updated(record)])
        return [parent, *(item(order_id, node) for node in nodes)]

    item_columns = ("shopify_id", "order_shopify_id", *columns)
    return CopyPlan(
        {ORDERS_TABLE: ("shopify_id", UPDATED), items: item_columns},
        rows,
        guards={ORDERS_TABLE: {items: "order_shopify_id"}},
    )
