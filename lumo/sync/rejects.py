"""Records a sync skips because their plugin could not map them.

A bulk or catch-up sync maps records in batches. When a batch fails to map, its records are
mapped again one at a time: the ones that still fail are skipped, kept (Shopify id and reason)
in `sync_rejected_records` with the run, and the rest of the store syncs on. One odd record
therefore never blocks a store's sync, and a re-sync does not fail on it forever.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import psycopg
from sqlalchemy import func, select
from sqlalchemy.exc import DataError, IntegrityError

from lumo.extensions import db
from lumo.mapping import Row
from lumo.models import RejectedRecord
from lumo.sync.upsert import WriteResult, units_of, write_rows

logger = logging.getLogger(__name__)

#: What a mapper raises on a record it cannot read (a bad amount, a missing id, a wrong type).
MAPPING_ERRORS: tuple[type[Exception], ...] = (
    ValueError,
    TypeError,
    KeyError,
    AttributeError,
    ArithmeticError,
)

#: Rejections kept per category and run; beyond it they are only counted in the log.
KEEP_PER_CATEGORY = 10_000


@dataclass(frozen=True)
class Rejection:
    category: str
    shopify_id: str | None
    reason: str


def rejection(category: str, record: Mapping[str, Any], error: BaseException) -> Rejection:
    """Describe a record that failed to map: its id and the error, never its contents."""
    found = record.get("id") or record.get("admin_graphql_api_id") or record.get("token")
    shopify_id = None if found is None else str(found)[:128]
    return Rejection(category, shopify_id, f"{type(error).__name__}: {error}"[:2000])


def keep(workspace_id: int, run_id: int, rejections: list[Rejection], already: int) -> int:
    """Add rejections to the current transaction (up to the cap); returns how many are kept."""
    room = max(0, KEEP_PER_CATEGORY - already)
    for item in rejections[:room]:
        db.session.add(
            RejectedRecord(
                workspace_id=workspace_id,
                sync_run_id=run_id,
                category=item.category,
                shopify_id=item.shopify_id,
                reason=item.reason,
            )
        )
        logger.warning(
            "sync run %s: skipped %s record %s (%s)",
            run_id,
            item.category,
            item.shopify_id,
            item.reason.partition(":")[0],
        )
    return min(room, len(rejections))


#: What is raised for one row the database refuses (a value out of range, a broken key, a
#: text it cannot encode), as opposed to losing the connection, which must fail the sync.
#: The staged (COPY) path talks to psycopg directly, so its own errors are listed too.
ROW_ERRORS: tuple[type[Exception], ...] = (
    DataError,
    IntegrityError,
    psycopg.DataError,
    psycopg.IntegrityError,
    UnicodeError,
)


def write_or_reject(
    rows: list[Row], category: str, run_id: int | None = None
) -> tuple[WriteResult, list[Rejection]]:
    """Write a batch; if the database refuses it, write it record by record and reject the
    records it refuses, so one row the database cannot take never blocks the rest.

    Each attempt runs in a SAVEPOINT, so a refusal undoes only that attempt.
    """
    _begin_for_savepoints()
    try:
        with db.session.begin_nested():
            return write_rows(rows, run_id=run_id), []
    except ROW_ERRORS:
        pass
    result, rejected = WriteResult(), []
    for unit in units_of(rows):
        try:
            with db.session.begin_nested():
                result.add(write_rows(unit, run_id=run_id))
        except ROW_ERRORS as error:
            rejected.append(_refused(category, unit[0], error))
    return result, rejected


def _begin_for_savepoints() -> None:
    """Open the transaction for real before a SAVEPOINT on SQLite.

    Python's sqlite3 begins a transaction only before a data change, so a SAVEPOINT issued
    first becomes the outermost transaction and releasing it commits: the batch would be
    committed before its progress, and a sync ended elsewhere could not undo it.
    """
    raw = db.session.connection().connection.driver_connection
    if isinstance(raw, sqlite3.Connection) and not raw.in_transaction:
        raw.execute("BEGIN")


def _refused(category: str, row: Row, error: Exception) -> Rejection:
    """The record's id and the database's own first line, which names no values."""
    found = row.values.get("shopify_id") or row.values.get("token")
    cause = getattr(error, "orig", None) or error
    first_line = (str(cause).strip().splitlines() or [""])[0]
    return Rejection(
        category,
        None if found is None else str(found)[:128],
        f"The database refused it ({type(cause).__name__}): {first_line}"[:2000],
    )


class Skipped:
    """A category's skipped records in one run: counted, and kept in each batch's transaction."""

    def __init__(self, workspace_id: int, run_id: int) -> None:
        self.workspace_id, self.run_id = workspace_id, run_id
        self.count = self.kept = 0

    def keep(self, rejected: list[Rejection]) -> None:
        if rejected:
            self.kept += keep(self.workspace_id, self.run_id, rejected, self.kept)
            self.count += len(rejected)


def skipped_by_run(workspace_id: int, run_ids: list[int]) -> dict[int, dict[str, int]]:
    """Skipped records per run and category, for the Sync History."""
    if not run_ids:
        return {}
    rows = db.session.execute(
        select(RejectedRecord.sync_run_id, RejectedRecord.category, func.count())
        .where(
            RejectedRecord.workspace_id == workspace_id,
            RejectedRecord.sync_run_id.in_(run_ids),
        )
        .group_by(RejectedRecord.sync_run_id, RejectedRecord.category)
    )
    found: dict[int, dict[str, int]] = {}
    for run_id, category, count in rows:
        found.setdefault(int(run_id), {})[str(category)] = int(count)
    return found


def rejected_records(workspace_id: int, run_id: int, limit: int = 200) -> list[RejectedRecord]:
    return list(
        db.session.scalars(
            select(RejectedRecord)
            .where(
                RejectedRecord.workspace_id == workspace_id, RejectedRecord.sync_run_id == run_id
            )
            .order_by(RejectedRecord.id)
            .limit(limit)
        )
    )
