"""Fetching and mapping Shopify customers and their Shopify customer tags.

Since API 2025-01 customer webhooks carry no tags, order count or total spent: a payload
without them leaves those columns (and the stored Shopify customer tags) as they are. Tag
changes arrive as `customer.tags_added` / `customer.tags_removed`, on which the engine
re-reads the customer through the GraphQL query below.
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
    copy_columns,
    copy_instant,
    copy_updated,
    delete_by_id_hook,
    gid_number,
    instant,
    looks_personal,
    lower,
    money,
    money_currency,
    shopify_id,
    tag_list,
)

KEY = "customers"
TAGS_TABLE = "shopify_customer_tags"

#: GraphQL selection for each property key (id and updatedAt are always selected).
SELECTIONS = {
    "first_name": "firstName",
    "last_name": "lastName",
    "display_name": "displayName",
    "tags": "tags",
    "number_of_orders": "numberOfOrders",
    "amount_spent": "amountSpent { amount currencyCode }",
    "last_order_date": "lastOrder { processedAt }",
    "state": "state",
    "created_at": "createdAt",
    "email": "defaultEmailAddress { emailAddress }",
    "phone": "defaultPhoneNumber { phoneNumber }",
    "note": "note",
    "locale": "locale",
    "verified_email": "verifiedEmail",
    "tax_exempt": "taxExempt",
}


def node_fields(enabled: frozenset[str]) -> str:
    return " ".join(["id updatedAt", *(SELECTIONS[k] for k in SELECTIONS if k in enabled)])


@hookimpl
def lumo_bulk_query(category: Category, enabled: frozenset[str]) -> str | None:
    if category.key != KEY:
        return None
    return "{ customers { edges { node { " + node_fields(enabled) + " } } } }"


@hookimpl
def lumo_changed_since_query(category: Category, enabled: frozenset[str]) -> str | None:
    if category.key != KEY:
        return None
    return (
        "query($first: Int!, $after: String, $query: String) { customers(first: $first, "
        "after: $after, query: $query, sortKey: UPDATED_AT) { nodes { "
        + node_fields(enabled)
        + " } pageInfo { hasNextPage endCursor } } }"
    )


def _from_graphql(record: Mapping[str, Any]) -> tuple[dict[str, Any], Any]:
    raw: dict[str, Any] = {}
    simple = {
        "firstName": "first_name",
        "lastName": "last_name",
        "note": "extra.note",
        "locale": "extra.locale",
        "verifiedEmail": "extra.verified_email",
        "taxExempt": "extra.tax_exempt",
    }
    for source, target in simple.items():
        if source in record:
            raw[target] = record[source]
    if "displayName" in record:
        raw["display_name"] = record["displayName"]
    if "numberOfOrders" in record:
        raw["number_of_orders"] = int(record["numberOfOrders"] or 0)
    if "amountSpent" in record:
        raw["amount_spent"] = money(record["amountSpent"])
        raw["currency"] = money_currency(record["amountSpent"])
    if "lastOrder" in record:
        raw["last_order_at"] = instant((record["lastOrder"] or {}).get("processedAt"))
    if "state" in record:
        raw["state"] = lower(record["state"])
    if "createdAt" in record:
        raw["shopify_created_at"] = instant(record["createdAt"])
    if "defaultEmailAddress" in record:
        raw["email"] = (record["defaultEmailAddress"] or {}).get("emailAddress")
    if "defaultPhoneNumber" in record:
        raw["phone"] = (record["defaultPhoneNumber"] or {}).get("phoneNumber")
    return raw, record.get("tags")


def _from_webhook(record: Mapping[str, Any], context: MapContext) -> tuple[dict[str, Any], Any]:
    raw: dict[str, Any] = {}
    simple = {
        "first_name": "first_name",
        "last_name": "last_name",
        "email": "email",
        "phone": "phone",
        "note": "extra.note",
        "locale": "extra.locale",
        "verified_email": "extra.verified_email",
        "tax_exempt": "extra.tax_exempt",
    }
    for source, target in simple.items():
        if source in record:
            raw[target] = record[source]
    if "first_name" in record or "last_name" in record:
        # Shopify's displayName: the name, else the email, else the phone.
        name = " ".join(p for p in (record.get("first_name"), record.get("last_name")) if p)
        raw["display_name"] = name or record.get("email") or record.get("phone") or ""
    if "orders_count" in record:
        raw["number_of_orders"] = int(record["orders_count"] or 0)
    if "total_spent" in record:
        raw["amount_spent"] = money(record["total_spent"])
        raw["currency"] = record.get("currency") or context.shop_currency
    if "state" in record:
        raw["state"] = lower(record["state"])
    if "created_at" in record:
        raw["shopify_created_at"] = instant(record["created_at"])
    return raw, record.get("tags")


@hookimpl
def lumo_map_record(
    category: Category, record: Mapping[str, Any], shape: RecordShape, context: MapContext
) -> list[Row] | None:
    if category.key != KEY:
        return None
    number = shopify_id(record.get("id"))
    if number is None:
        raise ValueError("A customer record without an id cannot be stored.")

    if shape is RecordShape.WEBHOOK:
        raw, tags = _from_webhook(record, context)
    else:
        raw, tags = _from_graphql(record)
    personal_on = {"email", "phone"} & context.enabled
    if personal_on != {"email", "phone"} and looks_personal(raw.get("display_name")):
        # With email or phone off, a display name that falls back to them is not kept.
        raw["display_name"] = None
    updated = instant(record.get("updatedAt") or record.get("updated_at"))
    if updated is not None:
        raw["shopify_updated_at"] = updated

    values = build_values(category, context, raw, shopify_id=number)
    row = Row(category.table, values, updated_at=updated)
    if "tags" not in context.enabled or tags is None:
        return [row]

    row.replace_children = {TAGS_TABLE: "customer_shopify_id"}
    tag_rows = [
        Row(
            TAGS_TABLE,
            {
                "workspace_id": context.workspace_id,
                "customer_shopify_id": number,
                "tag": tag,
                "tag_key": tag.lower(),
            },
            key=("workspace_id", "customer_shopify_id", "tag_key"),
        )
        for tag in tag_list(tags)
    ]
    return [row, *tag_rows]


def _count(record: Mapping[str, Any]) -> int | None:
    return int(record["numberOfOrders"] or 0) if "numberOfOrders" in record else None


#: What a bulk customer line gives each column (see `_from_graphql`, which this must match).
COPY_READERS: dict[str, Any] = {
    "shopify_id": lambda r: gid_number(r["id"]),
    "first_name": lambda r: r.get("firstName"),
    "last_name": lambda r: r.get("lastName"),
    "display_name": lambda r: r.get("displayName"),
    "number_of_orders": _count,
    "amount_spent": lambda r: money(r.get("amountSpent")),
    "currency": lambda r: money_currency(r.get("amountSpent")),
    "last_order_at": lambda r: copy_instant((r.get("lastOrder") or {}).get("processedAt")),
    "state": lambda r: lower(r.get("state")),
    "shopify_created_at": lambda r: copy_instant(r.get("createdAt")),
    "email": lambda r: (r.get("defaultEmailAddress") or {}).get("emailAddress"),
    "phone": lambda r: (r.get("defaultPhoneNumber") or {}).get("phoneNumber"),
    "shopify_updated_at": copy_updated,
}


@hookimpl
def lumo_bulk_copy_plan(category: Category, context: MapContext) -> CopyPlan | None:
    """Customers and their Shopify customer tags, copied."""
    if category.key != KEY:
        return None
    found = copy_columns(category, context.enabled, COPY_READERS)
    if found is None:
        return None
    columns, read = found
    display = columns.index("display_name") if "display_name" in columns else None
    hide_personal = {"email", "phone"} & context.enabled != {"email", "phone"}
    with_tags = "tags" in context.enabled
    customers = category.table

    def rows(record: Mapping[str, Any]) -> CopyRows:
        values = read(record)
        number = values[0]
        if number is None:
            raise ValueError("A customer record without an id cannot be stored.")
        if display is not None and hide_personal and looks_personal(values[display]):
            values[display] = None
        tags = record.get("tags")
        if not with_tags or tags is None:
            return [(customers, values)]
        return [
            (customers, values),
            *((TAGS_TABLE, (number, tag, tag.lower())) for tag in tag_list(tags)),
        ]

    return CopyPlan(
        {customers: columns, TAGS_TABLE: ("customer_shopify_id", "tag", "tag_key")}, rows
    )


lumo_deleted_key = delete_by_id_hook(KEY)


lumo_map_records = batch_mapping_hook(KEY, lumo_map_record)
