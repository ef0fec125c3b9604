"""Helpers category plugins use to read a Shopify record in any of its three shapes.

GraphQL nodes and bulk lines use camelCase names, GIDs and `MoneyV2`/`MoneyBag` objects;
webhook payloads use REST names, integer ids, money strings, `*_set` bags and instants in the
shop's offset. These helpers turn each into the one value Lumo stores.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from lumo.categories import Category
from lumo.hookspecs import hookimpl
from lumo.mapping import MapContext, RecordShape, Row
from lumo.shopify.ids import GID_PREFIX, parse_instant, parse_money

#: The key under which the engine hands a bulk parent line its child lines (see `children`).
BULK_CHILDREN = "__children"

MISSING = object()
_PHONE_LIKE = re.compile(r"^\+?[\d\s().-]{6,}$")


def shopify_id(value: Any) -> int | None:
    """A numeric id from an integer, a numeric string or a GID."""
    if type(value) is int:
        return value
    if value is None or value == "":
        return None
    if isinstance(value, int):
        return value
    text = str(value)
    if text.startswith(GID_PREFIX):
        text = text.rpartition("/")[2].partition("?")[0]
    return int(text)


def gid_number(value: str | None) -> int | None:
    """The number of a GID (or of a numeric string): `shopify_id` for bulk lines, faster.

    Anything else raises ValueError, which sends a `CopyPlan`'s record down the ordinary path.
    """
    if value is None:
        return None
    if value.startswith(GID_PREFIX):
        value = value.rpartition("/")[2].partition("?")[0]
    return int(value)


def instant(value: Any) -> datetime | None:
    """An aware UTC datetime from a GraphQL (`Z`) or REST (shop offset) timestamp."""
    if isinstance(value, datetime):
        return value
    return parse_instant(value) if value else None


def copy_instant(value: Any) -> datetime | str | None:
    """`instant` for a `CopyPlan`: Shopify's own UTC text (`2026-04-08T11:30:28Z`) is kept.

    COPY reads that text straight into a column without a time zone, where turning it into a
    datetime and back would cost more than the rest of the row. Only that exact form is kept,
    and only once Python has read it too: PostgreSQL reads some texts Python refuses (`24:00`)
    and some differently (`11:30.25`, fractions it rounds where Python cuts). Any other form
    goes through `instant`.
    """
    # `YYYY-MM-DDTHH:MM:SSZ`: the separators checked here, the digits by `fromisoformat`
    # (cheaper than a regular expression, on three instants per record).
    if (
        type(value) is str
        and len(value) == 20
        and value[19] == "Z"
        and value[10] == "T"
        and value[4] == value[7] == "-"
        and value[13] == value[16] == ":"
        and value.isascii()
    ):
        datetime.fromisoformat(value)  # a ValueError for a date Python refuses, as `instant`
        return value
    return instant(value)


def copy_updated(record: Mapping[str, Any]) -> datetime | str | None:
    """A record's Shopify `updated_at` for a `CopyPlan`, spelt either way, as mappers read it."""
    return copy_instant(record.get("updatedAt") or record.get("updated_at"))


def money(value: Any) -> Decimal | None:
    """A decimal amount from a money string, a `MoneyV2` or a `MoneyBag` (shop money)."""
    if type(value) is dict or isinstance(value, Mapping):
        if "shopMoney" in value or "shop_money" in value:
            value = value.get("shopMoney") or value.get("shop_money")
        value = (value or {}).get("amount")
    return parse_money(value)


def money_currency(value: Any) -> str | None:
    """The currency of a `MoneyV2`, a `MoneyBag` (shop money) or a REST `*_set`."""
    if type(value) is not dict and not isinstance(value, Mapping):
        return None
    if "shopMoney" in value or "shop_money" in value:
        value = value.get("shopMoney") or value.get("shop_money") or {}
    code = value.get("currencyCode") or value.get("currency_code")
    return str(code) if code else None


def tag_list(value: Any) -> list[str]:
    """Tags from a GraphQL list or a REST comma-separated string, trimmed, case-deduplicated."""
    if value is None:
        return []
    items: Iterable[Any] = value.split(",") if isinstance(value, str) else value
    seen: set[str] = set()
    tags = []
    for item in items:
        # NUL cannot be stored (PostgreSQL); dropped first, so `a\0b` and `ab` are one tag.
        tag = str(item).replace("\x00", "").strip()
        if tag and tag.lower() not in seen:
            seen.add(tag.lower())
            tags.append(tag)
    return tags


def lower(value: Any) -> str | None:
    """Enum values lowercased, so GraphQL `PAID` and REST `paid` store the same word."""
    return None if value is None else str(value).lower()


def dig(record: Mapping[str, Any], path: str, default: Any = MISSING) -> Any:
    """The value at a dotted path, or `default` (MISSING) when a step is absent."""
    current: Any = record
    for step in path.split("."):
        if not isinstance(current, Mapping) or step not in current:
            return default
        current = current[step]
    return current


def children(record: Mapping[str, Any], field: str, typename: str) -> list[dict[str, Any]] | None:
    """The nodes of a nested connection, from a GraphQL node or a bulk parent line.

    A GraphQL node carries `field { nodes }` or `field { edges { node } }`; a bulk parent line
    carries its child lines under `__children` (the engine groups them), filtered here by GID
    type. Returns None when the record does not carry the connection at all.
    """
    if BULK_CHILDREN in record:
        prefix = f"{GID_PREFIX}{typename}/"
        return [
            child
            for child in record[BULK_CHILDREN]
            if str(child.get("id", "")).startswith(prefix) or child.get("__typename") == typename
        ]
    connection = record.get(field)
    if connection is None:
        return None
    if isinstance(connection, list):
        return list(connection)
    if "nodes" in connection:
        return list(connection["nodes"] or [])
    return [edge["node"] for edge in connection.get("edges") or []]


def looks_personal(text: str | None) -> bool:
    """True for a display name that is really an email address or a phone number."""
    if not text:
        return False
    return "@" in text or bool(_PHONE_LIKE.match(text.strip()))


def build_values(
    category: Category, context: MapContext, raw: Mapping[str, Any], **always: Any
) -> dict[str, Any]:
    """Turn `{lumo_field: value}` into row values, keeping only enabled properties.

    Columns that no property declares (bookkeeping such as `shopify_updated_at`) are kept;
    `extra.<key>` fields are gathered into the `extra` JSON column. Absent fields stay absent.
    """
    plan = _plan(category, context.enabled, tuple(raw))
    values: dict[str, Any] = {"workspace_id": context.workspace_id, **always}
    for name in plan[0]:
        values[name] = raw[name]
    if plan[1]:
        values["extra"] = {name[6:]: raw[name] for name in plan[1]}
    return values


_plans: dict[tuple[int, frozenset[str], tuple[str, ...]], tuple[tuple[str, ...], ...]] = {}


def _plan(
    category: Category, enabled: frozenset[str], names: tuple[str, ...]
) -> tuple[tuple[str, ...], ...]:
    """(column fields kept, `extra.` fields kept) for one field layout, computed once.

    A mapper produces the same few layouts over and over, so a bulk sync decides what to keep
    once per layout instead of once per field of every record.
    """
    cache_key = (id(category), enabled, names)
    plan = _plans.get(cache_key)
    if plan is None:
        skipped = _skipped_fields(category, enabled)
        kept = [name for name in names if name not in skipped]
        plan = (
            tuple(name for name in kept if not name.startswith("extra.")),
            tuple(name for name in kept if name.startswith("extra.")),
        )
        if len(_plans) > 4096:
            _plans.clear()
        _plans[cache_key] = plan
    return plan


_skipped: dict[tuple[int, frozenset[str]], tuple[Category, frozenset[str]]] = {}


def _skipped_fields(category: Category, enabled: frozenset[str]) -> frozenset[str]:
    """The fields of properties switched off (computed once per category and switch set)."""
    cached = _skipped.get((id(category), enabled))
    if cached is not None and cached[0] is category:
        return cached[1]
    by_field = {prop.lumo_field: prop for prop in category.properties}
    fields = frozenset(
        name for name, prop in by_field.items() if not prop.required and prop.key not in enabled
    )
    if len(_skipped) > 256:
        _skipped.clear()
    _skipped[(id(category), enabled)] = (category, fields)
    return fields


def copy_columns(
    category: Category,
    enabled: frozenset[str],
    readers: Mapping[str, Callable[[Mapping[str, Any]], Any]],
) -> tuple[tuple[str, ...], Callable[[Mapping[str, Any]], list[Any]]] | None:
    """The columns a `CopyPlan` fills, and one function reading them all from a record.

    `readers` maps each column to a function of the record. The columns of properties switched
    off are left out, exactly as `build_values` leaves them out of a `Row`. Returns None when
    an enabled property lands in `extra`: plans leave those categories to the ordinary path.
    """
    if any(
        prop.lumo_field.startswith("extra.") and (prop.required or prop.key in enabled)
        for prop in category.properties
    ):
        return None
    skipped = _skipped_fields(category, enabled)
    kept = [(name, read) for name, read in readers.items() if name not in skipped]
    functions = tuple(read for _, read in kept)

    def read_all(record: Mapping[str, Any]) -> list[Any]:
        return [read(record) for read in functions]

    return tuple(name for name, _ in kept), read_all


def present(record: Mapping[str, Any], raw: dict[str, Any], name: str, key: str, fn: Any) -> None:
    """Set `raw[name] = fn(record[key])` only when the record carries `key`."""
    if key in record:
        raw[name] = fn(record[key])


def map_each(
    map_one: Callable[..., list[Row] | None],
    category: Category,
    records: Iterable[Mapping[str, Any]],
    shape: RecordShape,
    context: MapContext,
) -> list[Row]:
    """A `lumo_map_records` body: every record through the plugin's own `lumo_map_record`."""
    rows: list[Row] = []
    extend = rows.extend
    for record in records:
        mapped = map_one(category=category, record=record, shape=shape, context=context)
        if mapped:
            extend(mapped)
    return rows


def is_webhook(shape: RecordShape) -> bool:
    return shape is RecordShape.WEBHOOK


def batch_mapping_hook(key: str, map_one: Callable[..., list[Row] | None]) -> Callable[..., Any]:
    """A category plugin's `lumo_map_records`, built from its own `lumo_map_record`.

    In a plugin module: `lumo_map_records = batch_mapping_hook(KEY, lumo_map_record)`.
    """

    def lumo_map_records(
        category: Category,
        records: Sequence[Mapping[str, Any]],
        shape: RecordShape,
        context: MapContext,
    ) -> list[Row] | None:
        if category.key != key:
            return None
        return map_each(map_one, category, records, shape, context)

    return hookimpl(lumo_map_records)


def delete_by_id_hook(key: str) -> Callable[..., Any]:
    """A `lumo_deleted_key` for categories whose delete payload is `{"id": …}`."""

    def lumo_deleted_key(
        category: Category, payload: Mapping[str, Any], context: MapContext
    ) -> dict[str, Any] | None:
        if category.key != key:
            return None
        return {"workspace_id": context.workspace_id, "shopify_id": shopify_id(payload.get("id"))}

    return hookimpl(lumo_deleted_key)
