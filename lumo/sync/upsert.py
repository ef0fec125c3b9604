"""Writing mapped rows: batched `INSERT … ON CONFLICT DO UPDATE` with a staleness guard.

Only the columns a row carries are written, so a payload that lacks a field never blanks it.
The guard lives in the ON CONFLICT WHERE clause: an existing row whose `shopify_updated_at`
is newer than the incoming one is left alone. A row with `replace_children` replaces its child
rows (a customer's Shopify customer tags, an order's line items) only when it was itself
written, so an older payload changes neither the row nor its children.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import JSON, Table, and_, cast, delete, func, or_, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB

from lumo.extensions import db
from lumo.mapping import Row

logger = logging.getLogger(__name__)

UPDATED = "shopify_updated_at"
SEEN = "last_sync_run_id"


@dataclass
class WriteResult:
    """What one call wrote: rows written and rows skipped as older, per table."""

    written: dict[str, int] = field(default_factory=dict)
    stale: dict[str, int] = field(default_factory=dict)

    def add(self, other: WriteResult) -> None:
        for name, count in other.written.items():
            self.written[name] = self.written.get(name, 0) + count
        for name, count in other.stale.items():
            self.stale[name] = self.stale.get(name, 0) + count

    @property
    def total(self) -> int:
        return sum(self.written.values())


@dataclass
class _Unit:
    parent: Row
    children: list[Row]


def rowcount(result: Any) -> int:
    """Rows a DELETE or UPDATE touched."""
    return int(getattr(result, "rowcount", 0) or 0)


def table(name: str) -> Table:
    try:
        return db.metadata.tables[name]
    except KeyError:
        raise KeyError(f"No table {name!r}; check the category's `table`.") from None


def write_rows(
    rows: Iterable[Row], *, session: Any = None, run_id: int | None = None
) -> WriteResult:
    """Upsert `rows` (in this order of parents, then their children) in the current transaction.

    `run_id` stamps `last_sync_run_id` on tables that have it (the re-sync's mark).
    """
    session = session or db.session
    units = _units(rows)
    result = WriteResult()

    applied: set[tuple[str, tuple[Any, ...]]] = set()
    for name, group in _group([u.parent for u in units]).items():
        keys = _upsert(session, table(name[0]), group, run_id, result)
        applied |= {(name[0], key) for key in keys}

    replaced = [u for u in units if u.parent.replace_children]
    children_by_table: dict[str, list[Row]] = {}
    for unit in replaced:
        if (unit.parent.table, _key(unit.parent)) not in applied:
            continue
        for child in unit.children:
            children_by_table.setdefault(child.table, []).append(child)
    _delete_children(session, replaced, applied)
    for name, group in _group(
        [row for rows_ in children_by_table.values() for row in rows_]
    ).items():
        _upsert(session, table(name[0]), group, run_id, result)
    return result


def _units(rows: Iterable[Row]) -> list[_Unit]:
    units: list[_Unit] = []
    current: _Unit | None = None
    for row in rows:
        if current is not None and row.table in current.parent.replace_children:
            current.children.append(row)
            continue
        current = _Unit(row, []) if row.replace_children else None
        units.append(current or _Unit(row, []))
    return units


def _key(row: Row) -> tuple[Any, ...]:
    return tuple(row.values[column] for column in row.key)


def _group(rows: Sequence[Row]) -> dict[tuple[str, tuple[str, ...], frozenset[str]], list[Row]]:
    """Rows per (table, key, column set), one per key: the newest version wins."""
    groups: dict[tuple[str, tuple[str, ...], frozenset[str]], dict[tuple[Any, ...], Row]] = {}
    for row in rows:
        name = (row.table, row.key, frozenset(row.values))
        bucket = groups.setdefault(name, {})
        key = _key(row)
        kept = bucket.get(key)
        if kept is None or _newer_or_equal(row, kept):
            bucket[key] = row
    return {name: list(bucket.values()) for name, bucket in groups.items()}


def _newer_or_equal(row: Row, other: Row) -> bool:
    if row.updated_at is None or other.updated_at is None:
        return True
    return row.updated_at >= other.updated_at


def _upsert(
    session: Any,
    target: Table,
    rows: list[Row],
    run_id: int | None,
    result: WriteResult,
) -> list[tuple[Any, ...]]:
    """One batched upsert; returns the keys of the rows actually written."""
    if not rows:
        return []
    key_columns = rows[0].key
    stamp = run_id is not None and SEEN in target.c
    params = []
    for row in rows:
        values = dict(row.values)
        if row.updated_at is not None and UPDATED in target.c:
            values.setdefault(UPDATED, row.updated_at)
        if stamp:
            values[SEEN] = run_id
        params.append(values)

    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(target)
    columns = [c for c in params[0] if c not in key_columns]
    if not columns:
        # Nothing to update and no age to compare: every key counts as written.
        session.execute(statement.on_conflict_do_nothing(index_elements=list(key_columns)), params)
        result.written[target.name] = result.written.get(target.name, 0) + len(params)
        return [tuple(p[name] for name in key_columns) for p in params]
    else:
        excluded = statement.excluded
        guard = None
        if UPDATED in params[0]:
            guard = or_(
                target.c[UPDATED].is_(None),
                excluded[UPDATED].is_(None),
                target.c[UPDATED] <= excluded[UPDATED],
            )
        set_ = {name: excluded[name] for name in columns}
        if "extra" in set_:
            set_["extra"] = _merged_extra(dialect, target, excluded)
        statement = statement.on_conflict_do_update(
            index_elements=list(key_columns), set_=set_, where=guard
        )
    returning = statement.returning(*(target.c[name] for name in key_columns))
    written = [tuple(r) for r in session.execute(returning, params)]

    result.written[target.name] = result.written.get(target.name, 0) + len(written)
    skipped = len(params) - len(written)
    if skipped:
        result.stale[target.name] = result.stale.get(target.name, 0) + skipped
    return written


def _merged_extra(dialect: str, target: Table, excluded: Any) -> Any:
    """`extra` keys merge into the stored ones: a payload lacking a key keeps its value."""
    if dialect == "postgresql":
        stored = func.coalesce(cast(target.c.extra, JSONB), text("'{}'::jsonb"))
        return cast(stored.op("||")(cast(excluded.extra, JSONB)), JSON)
    return func.json_patch(func.coalesce(target.c.extra, "{}"), excluded.extra)


def _delete_children(
    session: Any, units: list[_Unit], applied: set[tuple[str, tuple[Any, ...]]]
) -> None:
    """Delete the existing children of every written parent that replaces them."""
    by_child: dict[tuple[str, str], dict[int, list[Any]]] = {}
    for unit in units:
        parent = unit.parent
        if (parent.table, _key(parent)) not in applied:
            continue
        for child_table, column in parent.replace_children.items():
            per_workspace = by_child.setdefault((child_table, column), {})
            per_workspace.setdefault(parent.values["workspace_id"], []).append(
                parent.values["shopify_id"]
            )
    for (child_table, column), per_workspace in by_child.items():
        target = table(child_table)
        for workspace_id, parent_ids in per_workspace.items():
            session.execute(
                delete(target).where(
                    target.c.workspace_id == workspace_id, target.c[column].in_(parent_ids)
                )
            )


def delete_matching(session: Any, table_name: str, key: Mapping[str, Any]) -> int:
    """Delete the rows of `table_name` whose columns equal `key` (a webhook delete)."""
    target = table(table_name)
    if "workspace_id" not in key or any(value is None for value in key.values()):
        raise ValueError(f"A delete needs the workspace and a full key, got {sorted(key)}.")
    statement = delete(target).where(
        and_(*(target.c[name] == value for name, value in key.items()))
    )
    return rowcount(session.execute(statement))
