"""The values a category plugin's mapping hook receives and returns.

A Shopify record reaches Lumo in three shapes — a bulk JSONL line, a GraphQL node from a
paginated query, or a REST-shaped webhook payload — and each must land on the same stored row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class RecordShape(StrEnum):
    BULK = "bulk"
    GRAPHQL = "graphql"
    WEBHOOK = "webhook"


@dataclass(frozen=True)
class MapContext:
    """What a mapper needs to know besides the record itself.

    `enabled` holds the keys of the properties the merchant syncs for this category; a mapper
    leaves every other column out of its row (and never writes personal values that are off).
    """

    workspace_id: int
    enabled: frozenset[str]
    shop_currency: str | None = None
    shop_timezone: str | None = None


@dataclass
class Row:
    """One row to upsert into `table`, matched on the `key` columns.

    Columns absent from `values` are left as they are on an existing row: a webhook payload that
    lacks a field never blanks it. `updated_at` (Shopify's) lets the host skip stale versions.
    `replace_children` names child tables whose rows for this parent are replaced wholesale
    (e.g. a customer's Shopify customer tags), as `{table: parent_column}`.
    """

    table: str
    values: dict[str, Any]
    key: tuple[str, ...] = ("workspace_id", "shopify_id")
    updated_at: datetime | None = None
    replace_children: dict[str, str] = field(default_factory=dict)


#: What a `CopyPlan` makes of one bulk record: `(table, values)` pairs, values in column order.
CopyRows = list[tuple[str, Sequence[Any]]]


@dataclass(frozen=True)
class CopyPlan:
    """How a category's bulk records become plain column tuples, for tables that start empty.

    An initial sync writes such tables with PostgreSQL's COPY, skipping `Row`s and upserts,
    which is several times faster on a big store (`lumo.sync.copy_lane` says when it applies
    and how it falls back). `columns` lists, per table, the columns `rows` fills and in which
    order; the engine adds `workspace_id` and its own bookkeeping. `rows` turns one record
    (a bulk parent line with its child lines under `__children`, or a lone child line) into
    exactly the rows `lumo_map_record` would return, in the same order, as `(table, values)`
    pairs; raising `ValueError` sends that one record down the ordinary path instead, and a
    plan must refuse at least what the mapper refuses. `guards` names parent tables whose
    rows only carry a key and Shopify's `updated_at` to guard their children (a line item's
    order), with the children they guard as in `Row.replace_children`: those parent rows are
    upserted rather than copied, and a batch whose parents already have children is left to
    the ordinary path, which replaces them.
    """

    columns: Mapping[str, tuple[str, ...]]
    rows: Callable[[Mapping[str, Any]], CopyRows]
    guards: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class MetafieldValue:
    """A metafield a write-back plugin wants set on a Shopify customer."""

    namespace: str
    key: str
    type: str
    value: str
