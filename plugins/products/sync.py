"""Fetching and mapping products; price is the lowest variant price, stock the total."""

from __future__ import annotations

import html
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
    lower,
    money,
    shopify_id,
    tag_list,
)

KEY = "products"
TAG = re.compile(r"<[^>]+>")

SELECTIONS = {
    "title": "title",
    "handle": "handle",
    "description": "descriptionHtml",
    "vendor": "vendor",
    "product_type": "productType",
    "tags": "tags",
    "status": "status",
    "inventory_quantity": "totalInventory",
    "published_at": "publishedAt",
    "online_store_url": "onlineStoreUrl",
}


def node_fields(enabled: frozenset[str]) -> str:
    return " ".join(
        ["id updatedAt createdAt", *(SELECTIONS[k] for k in SELECTIONS if k in enabled)]
    )


@hookimpl
def lumo_bulk_query(category: Category, enabled: frozenset[str]) -> str | None:
    if category.key != KEY:
        return None
    variants = " variants { edges { node { id price } } }" if "price" in enabled else ""
    return "{ products { edges { node { " + node_fields(enabled) + variants + " } } } }"


@hookimpl
def lumo_changed_since_query(category: Category, enabled: frozenset[str]) -> str | None:
    if category.key != KEY:
        return None
    variants = " variants(first: 100) { nodes { id price } }" if "price" in enabled else ""
    return (
        "query($first: Int!, $after: String, $query: String) { products(first: $first, "
        "after: $after, query: $query, sortKey: UPDATED_AT) { nodes { "
        + node_fields(enabled)
        + variants
        + " } pageInfo { hasNextPage endCursor } } }"
    )


def plain_text(body: str | None) -> str | None:
    """The description as text: tags dropped, entities decoded, spaces collapsed."""
    if body is None:
        return None
    return " ".join(html.unescape(TAG.sub(" ", body)).split())


def _lowest_price(variants: Sequence[Mapping[str, Any]] | None) -> Any:
    prices = [money(v.get("price")) for v in variants or []]
    known = [p for p in prices if p is not None]
    return min(known) if known else None


def _from_graphql(record: Mapping[str, Any], context: MapContext) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    for source, target in (
        ("title", "title"),
        ("handle", "handle"),
        ("vendor", "vendor"),
        ("productType", "product_type"),
        ("onlineStoreUrl", "extra.online_store_url"),
    ):
        if source in record:
            raw[target] = record[source]
    if "descriptionHtml" in record:
        raw["description"] = plain_text(record["descriptionHtml"])
    if "tags" in record:
        raw["tags"] = tag_list(record["tags"])
    if "status" in record:
        raw["status"] = lower(record["status"])
    if "totalInventory" in record:
        raw["inventory_quantity"] = record["totalInventory"]
    if "publishedAt" in record:
        raw["published_at"] = instant(record["publishedAt"])
    if "createdAt" in record:
        raw["shopify_created_at"] = instant(record["createdAt"])
    variants = children(record, "variants", "ProductVariant")
    if variants is not None:
        raw["price"] = _lowest_price(variants)
        raw["currency"] = context.shop_currency
    return raw


def _from_webhook(record: Mapping[str, Any], context: MapContext) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    for source, target in (
        ("title", "title"),
        ("handle", "handle"),
        ("vendor", "vendor"),
        ("product_type", "product_type"),
    ):
        if source in record:
            raw[target] = record[source]
    if "body_html" in record:
        raw["description"] = plain_text(record["body_html"])
    if "tags" in record:
        raw["tags"] = tag_list(record["tags"])
    if "status" in record:
        raw["status"] = lower(record["status"])
    if "published_at" in record:
        raw["published_at"] = instant(record["published_at"])
    if "created_at" in record:
        raw["shopify_created_at"] = instant(record["created_at"])
    variants = record.get("variants")
    if variants is not None:
        raw["inventory_quantity"] = sum(int(v.get("inventory_quantity") or 0) for v in variants)
        raw["price"] = _lowest_price(variants)
        raw["currency"] = context.shop_currency
    return raw


@hookimpl
def lumo_map_record(
    category: Category, record: Mapping[str, Any], shape: RecordShape, context: MapContext
) -> list[Row] | None:
    if category.key != KEY:
        return None
    if "__parentId" in record:
        return []  # a late bulk variant line: the product row was already written
    number = shopify_id(record.get("id"))
    if number is None:
        raise ValueError("A product record without an id cannot be stored.")
    if shape is RecordShape.WEBHOOK:
        raw = _from_webhook(record, context)
    else:
        raw = _from_graphql(record, context)
    updated = instant(record.get("updatedAt") or record.get("updated_at"))
    if updated is not None:
        raw["shopify_updated_at"] = updated
    values = build_values(category, context, raw, shopify_id=number)
    if "price" not in context.enabled:
        values.pop("currency", None)
    return [Row(category.table, values, updated_at=updated)]


lumo_deleted_key = delete_by_id_hook(KEY)


lumo_map_records = batch_mapping_hook(KEY, lumo_map_record)
