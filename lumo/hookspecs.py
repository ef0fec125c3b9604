"""The contract between Lumo and its plugins — start here if you are writing one.

A plugin is a module (or object) with functions named after the hooks below and marked with
`@lumo.hookimpl`. Lumo's own six data categories are plugins of exactly this kind (see the
`plugins/` folder), and a third-party package adds a category by exposing a module in the
`lumo.plugins` entry-point group; `docs/plugins.md` walks through one end to end.

Hooks marked *first result* stop at the first plugin that returns something other than `None`:
a plugin answers for its own categories and returns `None` for the rest. Every other hook
collects a list with one answer per plugin.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pluggy

from lumo.categories import Category
from lumo.mapping import CopyPlan, MapContext, MetafieldValue, RecordShape, Row

if TYPE_CHECKING:
    from lumo.models import LineFriend
    from lumo.segments.fields import SegmentField

hookspec = pluggy.HookspecMarker("lumo")
hookimpl = pluggy.HookimplMarker("lumo")


@hookspec
def lumo_categories() -> list[Category]:
    """Declare the data categories this plugin provides.

    Called once when the plugin manager starts. Return `Category` records: a unique `key`
    ("customers"), a label for screens, the storage table, every property that can sync (with
    its Shopify path, Lumo field, type, whether it is personal information and whether it is on
    by default), and the Shopify webhook topics that create, update or delete its records.
    Personal properties (email, phone) must default to off.
    """


@hookspec(firstresult=True)
def lumo_bulk_query(category: Category, enabled: frozenset[str]) -> str | None:
    """Return the GraphQL query that exports every record of `category` as a bulk operation.

    Used by the initial sync and the manual re-sync. The query selects one top-level connection
    (`customers { edges { node { … } } }`) and may nest child connections; Shopify writes each
    child as its own JSONL line carrying `__parentId`. Select only what the `enabled` property
    keys need — never a personal field that is off. Return `None` for categories that are not
    yours, or that Shopify cannot export (carts).
    """


@hookspec(firstresult=True)
def lumo_changed_since_query(category: Category, enabled: frozenset[str]) -> str | None:
    """Return a paginated GraphQL query for records of `category` changed since a moment.

    The reconciliation pass runs it with the variables `$first`, `$after` (cursor) and `$query`
    (`updated_at:>'2026-01-01T00:00:00Z'`). The query must select one connection whose
    `pageInfo { hasNextPage endCursor }` and `nodes` (or `edges { node }`) the host follows.
    Return `None` for categories that are not yours or that cannot be listed.
    """


@hookspec(firstresult=True)
def lumo_map_record(
    category: Category, record: Mapping[str, Any], shape: RecordShape, context: MapContext
) -> list[Row] | None:
    """Turn one Shopify record into the rows Lumo stores.

    `shape` says where the record came from: a bulk JSONL line (GraphQL field names, GIDs,
    children as separate lines with `__parentId`), a GraphQL node from a paginated query, or a
    webhook payload (REST field names, numeric ids, tags as one comma-separated string). All
    three must produce the same rows. Leave out of a row any column the record does not carry —
    an absent field is unknown, not empty — and any property not in `context.enabled`.
    Return `None` for records that are not yours.
    """


@hookspec(firstresult=True)
def lumo_map_records(
    category: Category,
    records: Sequence[Mapping[str, Any]],
    shape: RecordShape,
    context: MapContext,
) -> list[Row] | None:
    """Map a batch of records at once: the fast form of `lumo_map_record` (optional).

    The engine calls it with each batch of a bulk sync (thousands of records) and with the
    single record of a webhook, so one hook call replaces thousands. Return every record's rows
    in record order, each record's rows together and its parent row first, exactly as
    `lumo_map_record` would for each; return `None` for categories that are not yours, and the
    engine falls back to calling `lumo_map_record` per record.
    `lumo_map_records = lumo.sync.fields.batch_mapping_hook(KEY, lumo_map_record)` in a plugin
    module is a complete implementation.
    """


@hookspec(firstresult=True)
def lumo_bulk_copy_plan(category: Category, context: MapContext) -> CopyPlan | None:
    """Offer a `CopyPlan` so an initial sync can COPY this category's rows (optional).

    Worth it for categories with millions of records: the plan's `rows` function reads a bulk
    record straight into column tuples, which skips building `Row`s and the upsert. The
    engine checks the plan against `lumo_map_record` on the first records of every import and
    on samples after, and goes back to the ordinary path if they ever disagree. Return `None`
    for categories that are not yours, or when `context.enabled` holds a property the plan
    does not cover (the ordinary path then handles the whole category). `rows` (and the
    mapper it is compared with) may run in a process forked for the import: it must not use
    the database.
    """


@hookspec(firstresult=True)
def lumo_deleted_key(
    category: Category, payload: Mapping[str, Any], context: MapContext
) -> dict[str, Any] | None:
    """Return the key columns of the row a `…/delete` webhook payload removes.

    For example `{"workspace_id": 1, "shopify_id": 42}`. Return `None` for payloads that are not
    yours.
    """


@hookspec
def lumo_write_back(
    friend: LineFriend, customer_shopify_id: int, changed_at: datetime
) -> list[MetafieldValue]:
    """Return the metafields to set on the Shopify customer linked to `friend`.

    Called in a write-back job whenever a link is made or a linked friend follows, blocks or
    unblocks. Every plugin's metafields are sent together in one `metafieldsSet` call (split at
    Shopify's per-call limit). Return an empty list when there is nothing to write.
    """


@hookspec
def lumo_segment_fields() -> list[SegmentField]:
    """Declare the Segment fields this plugin adds to the Segment language.

    Each field has a name (Shopify's segment attribute name where the meaning matches), a type,
    a description and synonyms the Marketing Agent uses, the operators it accepts, and a
    function that turns a condition into a SQL expression over the friend row.
    """
