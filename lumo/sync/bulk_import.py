"""Importing whole categories through bulk operations (initial sync and manual re-sync).

The JSONL result is streamed: lines are grouped into parent records (children attached under
`__children`), mapped by the category's plugin and upserted in batches of
`LUMO_SYNC_BATCH_SIZE`, committing each batch. A re-sync stamps every row it writes with its
run id (`last_sync_run_id`) and then deletes the rows it did not see — mark-and-sweep in the
tables themselves, so memory stays flat however big the store is. Rows a webhook changed after
the re-sync started are never swept.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from flask import current_app
from sqlalchemy import and_, delete, or_, select

from lumo.app import plugin_manager
from lumo.categories import Category
from lumo.extensions import db
from lumo.mapping import MapContext, RecordShape, Row
from lumo.models import SyncRun
from lumo.shopify import ShopifyClient
from lumo.shopify.bulk import (
    BulkRecord,
    read_bulk_result,
    run_bulk_query,
    wait_for_bulk_operation,
)
from lumo.shopify.errors import BulkOperationBusyError, BulkOperationError
from lumo.sync.fields import BULK_CHILDREN
from lumo.sync.properties import map_context
from lumo.sync.runs import record_progress
from lumo.sync.upsert import UPDATED, WriteResult, rowcount, table, write_rows

logger = logging.getLogger(__name__)

#: Parents kept open for late children before a batch is written (Shopify writes children
#: right after their parent; a small window also catches slightly delayed ones).
OPEN_WINDOW = 64

#: Child tables swept with their parent: (child table, parent column, parent table).
CHILD_TABLES = (
    ("shopify_order_line_items", "order_shopify_id", "shopify_orders"),
    ("shopify_customer_tags", "customer_shopify_id", "shopify_customers"),
)


def group_records(
    records: Iterable[BulkRecord], batch_size: int
) -> Iterator[list[dict[str, Any]]]:
    """Batches of parent records with their child lines under `__children`.

    Children that arrive before their parent wait for it; children whose parent was already
    written (or never came) are yielded on their own, still carrying `__parentId`.
    """
    open_parents: OrderedDict[int | None, dict[str, Any]] = OrderedDict()
    waiting: dict[int, list[dict[str, Any]]] = {}
    batch: list[dict[str, Any]] = []

    for record in records:
        data = record.data
        if record.parent_id is None:
            data[BULK_CHILDREN] = waiting.pop(record.id, []) if record.id is not None else []
            open_parents[record.id] = data
            if len(open_parents) > OPEN_WINDOW:
                batch.append(open_parents.popitem(last=False)[1])
                if len(batch) >= batch_size:
                    yield batch
                    batch = []
            continue
        data["__parentId"] = record.parent_gid
        parent = open_parents.get(record.parent_id)
        if parent is not None:
            parent[BULK_CHILDREN].append(data)
        else:
            waiting.setdefault(record.parent_id, []).append(data)

    batch.extend(open_parents.values())
    for children in waiting.values():
        batch.extend(children)
    for start in range(0, len(batch), batch_size):
        yield batch[start : start + batch_size]


def map_records(
    category: Category, records: Iterable[dict[str, Any]], shape: RecordShape, context: MapContext
) -> list[Row]:
    hook = plugin_manager(current_app).hook
    rows: list[Row] = []
    for record in records:
        mapped = hook.lumo_map_record(
            category=category, record=record, shape=shape, context=context
        )
        rows.extend(mapped or [])
    return rows


def import_category(
    client: ShopifyClient,
    run: SyncRun,
    category: Category,
    *,
    sweep: bool,
    on_batch: Callable[[int], None] | None = None,
) -> int:
    """Bulk-export one category and write it; returns rows written to its table."""
    context = map_context(run.workspace_id, category)
    query = plugin_manager(current_app).hook.lumo_bulk_query(
        category=category, enabled=context.enabled
    )
    if query is None:
        return 0
    config = current_app.config
    batch_size = int(config["LUMO_SYNC_BATCH_SIZE"])
    poll = float(config.get("LUMO_BULK_POLL_SECONDS", 2.0))

    operation = _run_bulk(client, query, poll)
    started = time.monotonic()
    done = 0
    record_progress(run, category.key, 0)
    for batch in group_records(read_bulk_result(client, operation), batch_size):
        rows = map_records(category, batch, RecordShape.BULK, context)
        result = write_rows(rows, run_id=run.id)
        db.session.commit()
        done += _own_rows(category, rows, result)
        record_progress(run, category.key, done)
        if on_batch is not None:
            on_batch(done)

    removed = sweep_unseen(category, run) if sweep else 0
    logger.info(
        "sync run %s: %s %d rows in %.1f s, %d removed",
        run.id,
        category.key,
        done,
        time.monotonic() - started,
        removed,
    )
    return done


def _run_bulk(client: ShopifyClient, query: str, poll: float) -> Any:
    """Start and await one bulk query, retrying once when Shopify fails or expires it."""
    for attempt in (1, 2):
        try:
            started = run_bulk_query(client, query, poll_interval=poll)
            return wait_for_bulk_operation(client, started.id, poll_interval=poll)
        except BulkOperationBusyError:
            raise
        except BulkOperationError as error:
            if attempt == 2 or error.status not in ("FAILED", "EXPIRED"):
                raise
            logger.warning("bulk query ended %s; starting it once more", error.status)
    raise AssertionError("unreachable")


def _own_rows(category: Category, rows: list[Row], result: WriteResult) -> int:
    return sum(1 for row in rows if row.table == category.table) - result.stale.get(
        category.table, 0
    )


def sweep_unseen(category: Category, run: SyncRun) -> int:
    """Delete the category's rows this re-sync did not see (and children left orphaned)."""
    target = table(category.table)
    if "last_sync_run_id" not in target.c:
        return 0
    conditions = [
        target.c.workspace_id == run.workspace_id,
        or_(target.c.last_sync_run_id.is_(None), target.c.last_sync_run_id != run.id),
    ]
    if UPDATED in target.c:
        conditions.append(or_(target.c[UPDATED].is_(None), target.c[UPDATED] < run.started_at))
    for child, column, parent_name in CHILD_TABLES:
        if child == category.table:
            parent = table(parent_name)
            fresh = select(parent.c.shopify_id).where(
                parent.c.workspace_id == run.workspace_id, parent.c[UPDATED] >= run.started_at
            )
            conditions.append(target.c[column].not_in(fresh))
    removed = rowcount(db.session.execute(delete(target).where(and_(*conditions))))
    removed += delete_orphans(run.workspace_id, category.table)
    db.session.commit()
    return removed


def delete_orphans(workspace_id: int, parent_table: str) -> int:
    """Delete child rows whose parent row no longer exists."""
    removed = 0
    for child_name, column, parent_name in CHILD_TABLES:
        if parent_name != parent_table:
            continue
        child, parent = table(child_name), table(parent_name)
        existing = select(parent.c.shopify_id).where(parent.c.workspace_id == workspace_id)
        statement = delete(child).where(
            child.c.workspace_id == workspace_id, child.c[column].not_in(existing)
        )
        removed += rowcount(db.session.execute(statement))
    return removed
