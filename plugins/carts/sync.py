"""Mapping storefront carts; Shopify sends them only by webhook, so there is nothing to fetch."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from lumo import hookimpl
from lumo.categories import Category
from lumo.mapping import MapContext, RecordShape, Row
from lumo.sync.fields import batch_mapping_hook, build_values, instant, money

KEY = "carts"


@hookimpl
def lumo_bulk_query(category: Category, enabled: frozenset[str]) -> str | None:
    return None


@hookimpl
def lumo_changed_since_query(category: Category, enabled: frozenset[str]) -> str | None:
    return None


def _line_total(item: Mapping[str, Any]) -> Decimal:
    line = money(item.get("line_price"))
    if line is not None:
        return line
    return (money(item.get("price")) or Decimal(0)) * int(item.get("quantity") or 0)


@hookimpl
def lumo_map_record(
    category: Category, record: Mapping[str, Any], shape: RecordShape, context: MapContext
) -> list[Row] | None:
    if category.key != KEY:
        return None
    token = record.get("token") or record.get("id")
    if not token:
        raise ValueError("A cart payload without a token cannot be stored.")

    raw: dict[str, Any] = {}
    items = record.get("line_items")
    if items is not None:
        raw["item_count"] = sum(int(i.get("quantity") or 0) for i in items)
        raw["total_price"] = sum((_line_total(i) for i in items), Decimal(0))
        raw["currency"] = context.shop_currency
    if "note" in record:
        raw["note"] = record["note"]
    if "created_at" in record:
        raw["shopify_created_at"] = instant(record["created_at"])
    updated = instant(record.get("updated_at"))
    if updated is not None:
        raw["shopify_updated_at"] = updated
    values = build_values(category, context, raw, token=str(token))
    return [Row(category.table, values, key=("workspace_id", "token"), updated_at=updated)]


@hookimpl
def lumo_deleted_key(
    category: Category, payload: Mapping[str, Any], context: MapContext
) -> dict[str, Any] | None:
    if category.key != KEY:
        return None
    token = payload.get("token") or payload.get("id")
    return {"workspace_id": context.workspace_id, "token": str(token)}


lumo_map_records = batch_mapping_hook(KEY, lumo_map_record)
