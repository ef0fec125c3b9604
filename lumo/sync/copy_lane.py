"""The COPY lane: an initial sync writes a big category into empty tables with COPY.

An upsert (`INSERT … ON CONFLICT`) costs PostgreSQL about twice what COPY costs for the same
rows, and mapping through `Row`s costs Python more than reading the JSON. When a category
plugin offers a `CopyPlan`, each bulk record becomes plain column tuples that go into the
tables with COPY; on a million-customer store that is most of an initial sync's time.

COPY neither merges with stored rows nor compares ages, so the lane stays narrow and hands a
batch back to the ordinary path whenever it could be wrong:

- It opens only on PostgreSQL and only when the category's tables hold no row of the
  workspace: an initial sync (or a re-sync after the rows were removed). A re-sync of stored
  rows upserts.
- A record the plan refuses (`ValueError` and kin) is mapped and upserted the ordinary way,
  in the same transaction as the copied rest of its batch.
- If the database refuses the COPY (a row a webhook stored meanwhile breaks a unique key; a
  value too long or out of range), or a guarding parent row is stored newer than the record
  or already holds children, the batch is rolled back and written the ordinary way, and the
  lane closes for the rest of the category.
- The plan is compared with the plugin's own `lumo_map_record` on the first records of every
  import and on a sample after. A difference (or a record the mapper refuses and the plan
  reads) closes the lane before the batch is written and is logged as an error naming the
  column, never the value.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from flask import current_app
from sqlalchemy import exists, select, text
from sqlalchemy.exc import DBAPIError

from lumo.app import plugin_manager
from lumo.categories import Category
from lumo.extensions import db
from lumo.mapping import CopyPlan, CopyRows, MapContext, RecordShape, Row
from lumo.shopify.ids import parse_instant
from lumo.sync.rejects import MAPPING_ERRORS
from lumo.sync.upsert import (
    SEEN,
    UPDATED,
    CopyText,
    WriteResult,
    copy_text,
    staging_table,
    table,
)

logger = logging.getLogger(__name__)

#: Records of every import checked against the plugin's mapper before anything is copied.
CHECK_FIRST = 200

#: After those, one record in this many is checked.
CHECK_EVERY = 1000

#: The columns of a guard table in a `CopyPlan`: the parent's key and Shopify's `updated_at`.
GUARD_COLUMNS = ("shopify_id", UPDATED)


class LaneRefused(Exception):
    """The lane cannot write this batch correctly; the ordinary path must."""


@dataclass
class LaneBatch:
    """One batch as the lane will write it: COPY text per table, made without a connection
    (so in whichever process prepared it), and what the ordinary path needs besides."""

    index: int
    #: The grouped records, kept only in the process that prepared them.
    records: list[dict[str, Any]] | None
    #: Per copied table: the rows' COPY text and how many rows it holds.
    copied: dict[str, tuple[bytes, int]] = field(default_factory=dict)
    #: Per guard table: the parents' key-and-age rows as COPY text, and their ids.
    guarded: dict[str, tuple[bytes, list[int]]] = field(default_factory=dict)
    #: Records the plan refused, for the ordinary path.
    diverted: list[dict[str, Any]] = field(default_factory=list)
    #: The diverted records mapped the ordinary way (rows, rejections), once mapped.
    diverted_rows: tuple[list[Row], list[Any]] | None = None


class CopyLane:
    """The lane for one category of one sync run (see the module doc)."""

    def __init__(
        self, category: Category, context: MapContext, plan: CopyPlan, run_id: int
    ) -> None:
        self.category = category
        self.context = context
        self.plan = plan
        self.run_id = run_id
        self.closed_because: str | None = None
        self.names: dict[str, tuple[str, ...]] = {}
        self.stamped: dict[str, bool] = {}
        self.guards = plan.guards
        self.texts: dict[str, CopyText] = {}
        dialect = db.engine.dialect
        for name, columns in plan.columns.items():
            if name in plan.guards and tuple(columns) != GUARD_COLUMNS:
                raise ValueError(
                    f"The copy plan of {category.key} guards {name} with {columns}; "
                    f"a guard table's columns must be {GUARD_COLUMNS}."
                )
            self.stamped[name] = SEEN in table(name).c
            self.names[name] = ("workspace_id", *columns, *((SEEN,) if self.stamped[name] else ()))
            written = tuple(columns) if name in plan.guards else self.names[name]
            self.texts[name] = CopyText(table(name), written, dialect)
        self._seen = 0

    @classmethod
    def open(cls, category: Category, context: MapContext, run_id: int) -> CopyLane | None:
        """The lane for `category`, or None when it does not apply (see the module doc)."""
        if not current_app.config.get("LUMO_SYNC_COPY_LANE", True):
            return None
        if db.session.get_bind().dialect.name != "postgresql":
            return None
        # The COPY text is made without a connection, in UTF-8.
        raw = db.session.connection().connection.driver_connection
        if raw is None or raw.info.encoding != "utf-8":
            logger.info("sync run %s: the database client encoding is not UTF-8", run_id)
            return None
        hook = plugin_manager(current_app).hook
        plan = hook.lumo_bulk_copy_plan(category=category, context=context)
        if plan is None:
            return None
        for name in plan.columns:
            if name in plan.guards:
                continue
            target = table(name)
            stored = exists(
                select(target.c.workspace_id).where(target.c.workspace_id == context.workspace_id)
            )
            if db.session.scalar(select(stored)):
                logger.info("sync run %s: %s holds rows; upserting", run_id, name)
                return None
        logger.info("sync run %s: %s takes the COPY lane", run_id, category.key)
        return cls(category, context, plan, run_id)

    @property
    def is_open(self) -> bool:
        return self.closed_because is None

    def close(self, reason: str, *, log: bool = True) -> None:
        if self.closed_because is None:
            self.closed_because = reason
            if log:
                logger.info(
                    "sync run %s: %s leaves the COPY lane: %s",
                    self.run_id,
                    self.category.key,
                    reason,
                )

    def prepare(self, index: int, records: list[dict[str, Any]]) -> LaneBatch | None:
        """Turn a grouped batch into COPY text, or None if the lane is (or just got) closed.

        Needs no database connection: the preparing process may be another than the writing
        one. The records the plan refuses are kept in `diverted` for the ordinary path.
        """
        if not self.is_open:
            return None
        copied: dict[str, list[list[Any]]] = {n: [] for n in self.names if n not in self.guards}
        guarded: dict[str, list[list[Any]]] = {n: [] for n in self.guards}
        batch = LaneBatch(index, records)
        workspace_id, run_id = self.context.workspace_id, self.run_id
        rows_of, guards, stamped = self.plan.rows, self.guards, self.stamped

        for record in records:
            try:
                pairs = rows_of(record)
            except MAPPING_ERRORS:
                batch.diverted.append(record)
                continue
            self._seen += 1
            if (self._seen <= CHECK_FIRST or self._seen % CHECK_EVERY == 0) and not self._agrees(
                record, pairs
            ):
                return None
            for name, values in pairs:
                if name in guards:
                    guarded[name].append([*values])
                elif stamped[name]:
                    copied[name].append([workspace_id, *values, run_id])
                else:
                    copied[name].append([workspace_id, *values])

        for name, parents in guarded.items():
            numbers = [values[0] for values in parents]
            batch.guarded[name] = (self.texts[name].format(parents), numbers)
        for name, rows in copied.items():
            batch.copied[name] = (self.texts[name].format(rows), len(rows))
        return batch

    def write(self, batch: LaneBatch) -> WriteResult:
        """Write a prepared batch's COPY text in the current transaction, after its diverted
        records were written.

        Raises `LaneRefused` when the batch must be rolled back and written the ordinary way.
        """
        result = WriteResult()
        for name, (staged, numbers) in batch.guarded.items():
            if numbers:
                self._guard(name, staged, numbers)
                result.written[name] = result.written.get(name, 0) + len(numbers)
        for name, (data, rows) in batch.copied.items():
            if not rows:
                continue
            try:
                copy_text(db.session, name, self.names[name], data)
            except psycopg.Error as error:
                raise LaneRefused(
                    f"the database refused the COPY ({_first_line(error)})"
                ) from error
            result.written[name] = result.written.get(name, 0) + rows
        return result

    def _guard(self, name: str, staged: bytes, numbers: list[int]) -> None:
        """Upsert the parents' key-and-age rows, as the ordinary path would, and refuse the
        batch if any stored parent is newer than the export (a webhook got there first).

        The upsert locks every parent row it meets until commit, so the check that follows
        stays true while the children are copied.
        """
        stamp = self.stamped[name]
        target = table(name)
        incoming = staging_table(db.session, target, GUARD_COLUMNS)
        copy_text(db.session, incoming, GUARD_COLUMNS, staged)
        params = {"workspace": self.context.workspace_id, "run": self.run_id}
        upsert = text(
            f'INSERT INTO "{name}" AS stored (workspace_id, shopify_id, {UPDATED}'
            f"{', ' + SEEN if stamp else ''}) "
            f"SELECT :workspace, i.shopify_id, i.{UPDATED}{', :run' if stamp else ''} "
            f'FROM "{incoming}" AS i '
            f"ON CONFLICT (workspace_id, shopify_id) DO UPDATE SET {UPDATED} = "
            f"coalesce(excluded.{UPDATED}, stored.{UPDATED})"
            f"{f', {SEEN} = excluded.{SEEN}' if stamp else ''} "
            f"WHERE (stored.{UPDATED} IS NULL OR excluded.{UPDATED} IS NULL "
            f"OR stored.{UPDATED} <= excluded.{UPDATED}) "
            f"AND (stored.{UPDATED} IS DISTINCT FROM excluded.{UPDATED}"
            f"{f' OR stored.{SEEN} IS DISTINCT FROM excluded.{SEEN}' if stamp else ''})"
        )
        # A LATERAL probe per row: a plain join would let the planner hash the whole table.
        newer = text(
            f'SELECT count(*) FROM "{incoming}" AS i, LATERAL (SELECT 1 FROM "{name}" stored '
            "WHERE stored.workspace_id = :workspace AND stored.shopify_id = i.shopify_id "
            f"AND stored.{UPDATED} > i.{UPDATED} LIMIT 1) AS found"
        )
        # Children already stored under these parents (a webhook's, or an earlier copy of the
        # same parent in the export) would stay beside the copied ones; the ordinary path
        # replaces them instead.
        owning = [
            text(
                f'SELECT count(*) FROM "{incoming}" AS i, LATERAL (SELECT 1 FROM "{child}" c '
                f"WHERE c.workspace_id = :workspace AND c.{column} = i.shopify_id LIMIT 1) "
                "AS found"
            )
            for child, column in self.plan.guards[name].items()
        ]
        try:
            db.session.execute(upsert, params)
            stale = db.session.scalar(newer, params)
            owners = sum(db.session.scalar(query, params) or 0 for query in owning)
        except DBAPIError as error:
            cause = error.orig or error
            reason = f"the database refused the guard rows ({_first_line(cause)})"
            raise LaneRefused(reason) from error
        if stale:
            raise LaneRefused(f"{stale} stored parent rows are newer than the export")
        if owners:
            raise LaneRefused(f"{owners} parent rows already hold children")

    def _agrees(self, record: Mapping[str, Any], pairs: CopyRows) -> bool:
        """Whether the plan gives the rows the plugin's mapper gives; closes the lane if not."""
        hook = plugin_manager(current_app).hook
        try:
            rows = hook.lumo_map_record(
                category=self.category, record=record, shape=RecordShape.BULK, context=self.context
            )
        except MAPPING_ERRORS:
            difference: str | None = "the mapper refuses a record the plan reads"
        else:
            difference = _difference(rows or [], pairs, self.plan)
        if difference is None:
            return True
        logger.error(
            "sync run %s: the copy plan of %s disagrees with its mapper (%s) on record %s; "
            "writing the category the ordinary way",
            self.run_id,
            self.category.key,
            difference,
            record.get("id"),
        )
        self.close(f"the copy plan disagrees with the mapper ({difference})")
        return False


def _first_line(error: BaseException) -> str:
    """The database's first line names the constraint or the type, never a value."""
    return (str(error).strip().splitlines() or [""])[0]


def _difference(rows: list[Row], pairs: CopyRows, plan: CopyPlan) -> str | None:
    """The first difference between mapped rows and a plan's pairs, or None.

    A column left out and a column given as None are the same thing in an empty table, and
    an instant given as Shopify's UTC text is the datetime the mapper makes of it.
    """
    if [row.table for row in rows] != [name for name, _ in pairs]:
        return "different rows"
    for row, (name, values) in zip(rows, pairs, strict=True):
        mine = {
            k: parse_instant(v) if type(v) is str and type(row.values.get(k)) is datetime else v
            for k, v in zip(plan.columns[name], values, strict=True)
            if v is not None
        }
        theirs = {k: v for k, v in row.values.items() if v is not None and k != "workspace_id"}
        if mine != theirs:
            names = mine.keys() | theirs.keys()
            return f"{name}.{min(k for k in names if mine.get(k) != theirs.get(k))}"
    return None
