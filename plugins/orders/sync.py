"""Fetching and mapping Shopify orders (their line items belong to the line items category)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lumo import hookimpl
from lumo.categories import Category
from lumo.mapping import CopyPlan, CopyRows, MapContext, RecordShape, Row
from lumo.sync.fields import (
    batch_mapping_hook,
    build_values,
    copy_columns,
    copy_instant,
    copy_updated,
    delete_by_id_hook,
    gid_number,
    instant,
    lower,
    money,
    money_currency,
    shopify_id,
    tag_list,
)

KEY = "orders"

SELECTIONS = {
    "customer": "customer { id }",
    "name": "name",
    "total_price": "totalPriceSet { shopMoney { amount currencyCode } }",
    "currency": "currencyCode",
    "financial_status": "displayFinancialStatus",
    "fulfillment_status": "displayFulfillmentStatus",
    "ordered_at": "processedAt",
    "cancelled_at": "cancelledAt",
    "tags": "tags",
    "note": "note",
    "source_name": "sourceName",
}

#: REST `fulfillment_status` words, as the GraphQL `displayFulfillmentStatus` names them.
REST_FULFILLMENT = {
    None: "unfulfilled",
    "partial": "partially_fulfilled",
    "fulfilled": "fulfilled",
    "restocked": "restocked",
}


def node_fields(enabled: frozenset[str]) -> str:
    chosen = [SELECTIONS[k] for k in SELECTIONS if k in enabled or k == "customer"]
    return " ".join(dict.fromkeys(["id updatedAt", *chosen]))


@hookimpl
def lumo_bulk_query(category: Category, enabled: frozenset[str]) -> str | None:
    if category.key != KEY:
        return None
    return "{ orders { edges { node { " + node_fields(enabled) + " } } } }"


@hookimpl
def lumo_changed_since_query(category: Category, enabled: frozenset[str]) -> str | None:
    if category.key != KEY:
        return None
    return (
        "query($first: Int!, $after: String, $query: String) { orders(first: $first, "
        "after: $after, query: $query, sortKey: UPDATED_AT) { nodes { "
        + node_fields(enabled)
        + " } pageInfo { hasNextPage endCursor } } }"
    )


def _from_graphql(record: Mapping[str, Any]) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    if "customer" in record:
        raw["customer_shopify_id"] = shopify_id((record["customer"] or {}).get("id"))
    if "name" in record:
        raw["name"] = record["name"]
    if "totalPriceSet" in record:
        raw["total_price"] = money(record["totalPriceSet"])
        raw["currency"] = money_currency(record["totalPriceSet"])
    elif "currencyCode" in record:
        raw["currency"] = record["currencyCode"]
    if "displayFinancialStatus" in record:
        raw["financial_status"] = lower(record["displayFinancialStatus"])
    if "displayFulfillmentStatus" in record:
        raw["fulfillment_status"] = lower(record["displayFulfillmentStatus"])
    if "processedAt" in record:
        raw["ordered_at"] = instant(record["processedAt"])
    if "cancelledAt" in record:
        raw["cancelled_at"] = instant(record["cancelledAt"])
    if "tags" in record:
        raw["extra.tags"] = list(record["tags"] or [])
    for source, target in (("note", "extra.note"), ("sourceName", "extra.source_name")):
        if source in record:
            raw[target] = record[source]
    return raw


def _from_webhook(record: Mapping[str, Any], context: MapContext) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    if "customer" in record:
        raw["customer_shopify_id"] = shopify_id((record["customer"] or {}).get("id"))
    if "name" in record:
        raw["name"] = record["name"]
    if "total_price_set" in record:
        raw["total_price"] = money(record["total_price_set"])
        raw["currency"] = money_currency(record["total_price_set"])
    elif "total_price" in record:
        raw["total_price"] = money(record["total_price"])
        raw["currency"] = record.get("currency") or context.shop_currency
    if "financial_status" in record:
        raw["financial_status"] = lower(record["financial_status"])
    if "fulfillment_status" in record:
        status = record["fulfillment_status"]
        raw["fulfillment_status"] = REST_FULFILLMENT.get(status, lower(status))
    if "processed_at" in record:
        raw["ordered_at"] = instant(record["processed_at"])
    if "cancelled_at" in record:
        raw["cancelled_at"] = instant(record["cancelled_at"])
    if "tags" in record:
        raw["extra.tags"] = tag_list(record["tags"])
    for source, target in (("note", "extra.note"), ("source_name", "extra.source_name")):
        if source in record:
            raw[target] = record[source]
    return raw


@hookimpl
def lumo_map_record(
    category: Category, record: Mapping[str, Any], shape: RecordShape, context: MapContext
) -> list[Row] | None:
    if category.key != KEY:
        return None
    number = shopify_id(record.get("id"))
    if number is None:
        raise ValueError("An order record without an id cannot be stored.")
    raw = _from_webhook(record, context) if shape is RecordShape.WEBHOOK else _from_graphql(record)
    updated = instant(record.get("updatedAt") or record.get("updated_at"))
    if updated is not None:
        raw["shopify_updated_at"] = updated
    return [
        Row(
            category.table,
            build_values(category, context, raw, shopify_id=number),
            updated_at=updated,
        )
    ]


#: What a bulk order line gives each column (see `_from_graphql`, which this must match).
COPY_READERS: dict[str, Any] = {
    "shopify_id": lambda r: gid_number(r["id"]),
    "customer_shopify_id": lambda r: gid_number((r.get("customer") or {}).get("id")),
    "name": lambda r: r.get("name"),
    "total_price": lambda r: money(r.get("totalPriceSet")),
    "currency": lambda r: (
        money_currency(r["totalPriceSet"]) if "totalPriceSet" in r else r.get("currencyCode")
    ),
    "financial_status": lambda r: lower(r.get("displayFinancialStatus")),
    "fulfillment_status": lambda r: lower(r.get("displayFulfillmentStatus")),
    "ordered_at": lambda r: copy_instant(r.get("processedAt")),
    "cancelled_at": lambda r: copy_instant(r.get("cancelledAt")),
    "shopify_updated_at": copy_updated,
}


@hookimpl
def lumo_bulk_copy_plan(category: Category, context: MapContext) -> CopyPlan | None:
    if category.key != KEY:
        return None
    found = copy_columns(category, context.enabled, COPY_READERS)
    if found is None:
        return None
    columns, read = found

    def rows(record: Mapping[str, Any]) -> CopyRows:
        values = read(record)
        if values[0] is None:
            raise ValueError("An order record without an id cannot be stored.")
        return [(category.table, values)]

    return CopyPlan({category.table: columns}, rows)


lumo_deleted_key = delete_by_id_hook(KEY)


lumo_map_records = batch_mapping_hook(KEY, lumo_map_record)
