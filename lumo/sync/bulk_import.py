"""Importing whole categories through bulk operations (initial sync and manual re-sync).

The JSONL result is streamed: lines are grouped into parent records (children attached under
`__children`), mapped by the category's plugin and upserted in batches of
`LUMO_SYNC_BATCH_SIZE`, committing each batch. A re-sync stamps every row it writes with its
run id (`last_sync_run_id`) and then deletes the rows it did not see — mark-and-sweep in the
tables themselves, so memory stays flat however big the store is. Rows a webhook changed after
the re-sync started are never swept.
"""

from __future__ import annotations

import gc
import logging
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from flask import current_app
from sqlalchemy import Select, and_, delete, exists, literal_column, or_, select, text

from lumo.app import current_flask_app, plugin_manager
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
from lumo.sync.copy_lane import CopyLane, LaneBatch, LaneRefused
from lumo.sync.fields import BULK_CHILDREN
from lumo.sync.lane_batches import (
    ForkedBatches,
    InlineBatches,
    Ordinary,
    Preparation,
    Prepared,
)
from lumo.sync.properties import map_context
from lumo.sync.rejects import MAPPING_ERRORS, Rejection, Skipped, rejection, write_or_reject
from lumo.sync.runs import extend_lock, now, record_progress, update_running
from lumo.sync.upsert import UPDATED, WriteResult, rowcount, table

logger = logging.getLogger(__name__)

#: Parents kept open for late children before a batch is written (Shopify writes children
#: right after their parent; a small window also catches slightly delayed ones).
OPEN_WINDOW = 64

#: Mapped batches that may wait for the writer thread (each holds one batch of rows).
WRITE_AHEAD = 2

#: How many times `LUMO_SYNC_BATCH_SIZE` records the COPY lane writes per batch.
LANE_BATCH_FACTOR = 2

#: The JSON bytes per record an ordinary batch is sized for. Its records stay in memory as
#: mapped rows until written (several batches at once), so a batch of big records (products
#: with long descriptions and hundreds of variants) ends early: memory follows the bytes
#: read, not the record count. Customer and order lines are smaller and fill batches by
#: count. The lane's batches are COPY text and need no such bound.
ORDINARY_RECORD_BYTES = 256

#: Child tables swept with their parent: (child table, parent column, parent table).
CHILD_TABLES = (
    ("shopify_order_line_items", "order_shopify_id", "shopify_orders"),
    ("shopify_customer_tags", "customer_shopify_id", "shopify_customers"),
)


#: The children of a parent that has none (yet): shared, so a store's millions of childless
#: parents cost no list each; a parent's own list is made when its first child comes.
NO_CHILDREN: tuple[dict[str, Any], ...] = ()


def group_records(
    records: Iterable[BulkRecord], batch_size: int, max_bytes: int | None = None
) -> Iterator[list[dict[str, Any]]]:
    """Batches of parent records with their child lines under `__children`.

    A batch ends at `batch_size` parents or, with `max_bytes`, once the lines read for it
    (children included) reach that many bytes, whichever comes first.

    Children that arrive before their parent wait for it; children whose parent was already
    written (or never came) are yielded on their own, still carrying `__parentId`. A parent
    without an id, or one whose id is already open, is passed on as it is (an earlier copy of
    the same id first), so no record is ever dropped.
    """
    if batch_size < 1 or (max_bytes is not None and max_bytes < 1):
        raise ValueError(
            f"A batch must hold at least one record (batch size {batch_size}, byte bound "
            f"{max_bytes})."
        )
    opened: deque[int] = deque()  # ids of the open parents, oldest first
    open_parents: dict[int, dict[str, Any]] = {}
    waiting: dict[int, list[dict[str, Any]]] = {}
    batch: list[dict[str, Any]] = []
    limit = max_bytes if max_bytes is not None else sys.maxsize
    read = 0  # bytes of the lines read since the last batch

    for record in records:
        read += record.size
        data = record.data
        parent_id = record.parent_id
        if parent_id is None:
            number = record.id
            if number is None:
                data[BULK_CHILDREN] = NO_CHILDREN
                batch.append(data)
            else:
                data[BULK_CHILDREN] = waiting.pop(number, NO_CHILDREN) if waiting else NO_CHILDREN
                if number in open_parents:  # the same id again: its earlier copy is complete
                    opened.remove(number)
                    batch.append(open_parents.pop(number))
                open_parents[number] = data
                opened.append(number)
                if len(opened) > OPEN_WINDOW:
                    batch.append(open_parents.pop(opened.popleft()))
            if batch and (len(batch) >= batch_size or read >= limit):
                yield batch
                batch = []
                read = 0
            continue
        data["__parentId"] = record.parent_gid
        parent = open_parents.get(parent_id)
        if parent is None:
            waiting.setdefault(parent_id, []).append(data)
        elif parent[BULK_CHILDREN] is NO_CHILDREN:
            parent[BULK_CHILDREN] = [data]
        else:
            parent[BULK_CHILDREN].append(data)

    batch.extend(open_parents[number] for number in opened)
    for children in waiting.values():
        batch.extend(children)
    for start in range(0, len(batch), batch_size):
        yield batch[start : start + batch_size]


def map_records(
    category: Category,
    records: Iterable[dict[str, Any]],
    shape: RecordShape,
    context: MapContext,
    rejected: list[Rejection] | None = None,
) -> list[Row]:
    """Rows for `records`: one `lumo_map_records` call, else `lumo_map_record` per record.

    With a `rejected` list, a batch that fails to map is mapped again record by record and
    the records that still fail are added to it instead of failing the sync.
    """
    batch = records if isinstance(records, list) else list(records)
    try:
        return _map_batch(category, batch, shape, context)
    except MAPPING_ERRORS as error:
        if rejected is None:
            raise
        if len(batch) == 1:
            rejected.append(rejection(category.key, batch[0], error))
            return []
    rows: list[Row] = []
    for record in batch:
        try:
            rows.extend(_map_batch(category, [record], shape, context))
        except MAPPING_ERRORS as error:
            rejected.append(rejection(category.key, record, error))
    return rows


def _map_batch(
    category: Category, batch: list[dict[str, Any]], shape: RecordShape, context: MapContext
) -> list[Row]:
    hook = plugin_manager(current_app).hook
    mapped = hook.lumo_map_records(category=category, records=batch, shape=shape, context=context)
    if mapped is not None:
        return list(mapped)
    rows: list[Row] = []
    for record in batch:
        one = hook.lumo_map_record(category=category, record=record, shape=shape, context=context)
        rows.extend(one or [])
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
    poll = float(current_app.config.get("LUMO_BULK_POLL_SECONDS", 2.0))

    operation = _run_bulk(client, query, poll)
    return import_records(
        run, category, read_bulk_result(client, operation), context, sweep=sweep, on_batch=on_batch
    )


def import_records(
    run: SyncRun,
    category: Category,
    records: Iterable[BulkRecord],
    context: MapContext,
    *,
    sweep: bool,
    on_batch: Callable[[int], None] | None = None,
) -> int:
    """Group, map and write a category's streamed bulk records; returns rows of its table."""
    batch_size = int(current_app.config["LUMO_SYNC_BATCH_SIZE"])
    started = time.monotonic()
    record_progress(run, category.key, 0)
    skipped = Skipped(run.workspace_id, run.id)
    if db.session.get_bind().dialect.name == "postgresql":
        lane = CopyLane.open(category, context, run.id)
        # Each COPY and commit has a fixed cost that the lane's cheap rows make stand out.
        if lane is not None:
            grouped = group_records(records, batch_size * LANE_BATCH_FACTOR)
        else:
            grouped = group_records(records, batch_size, batch_size * ORDINARY_RECORD_BYTES)
        with streaming_settings():
            done = _write_alongside(run, category, context, grouped, lane, skipped, on_batch)
        db.session.expire(run)
    else:
        done = 0
        grouped = group_records(records, batch_size, batch_size * ORDINARY_RECORD_BYTES)
        for rows, rejected in (_mapped(category, batch, context) for batch in grouped):
            result, refused = write_or_reject(rows, category.key, run.id)
            skipped.keep(rejected + refused)
            done += result.written.get(category.table, 0)
            record_progress(run, category.key, done)  # commits the batch with the progress
            if on_batch is not None:
                on_batch(done)
    record_progress(run, category.key, done)
    if skipped.count:
        logger.warning("sync run %s: %s skipped %d records", run.id, category.key, skipped.count)

    removed = 0
    if sweep and skipped.count:
        # A skipped record was not stamped as seen; sweeping would delete it though it exists.
        logger.warning("sync run %s: %s not swept, records were skipped", run.id, category.key)
    elif sweep:
        removed = sweep_unseen(category, run)
    logger.info(
        "sync run %s: %s %d rows in %.1f s, %d removed",
        run.id,
        category.key,
        done,
        time.monotonic() - started,
        removed,
    )
    return done


class _Interpreter:
    """The interpreter's settings while bulk imports run (shared by concurrent ones)."""

    lock = threading.Lock()
    depth = 0
    threshold: tuple[int, int, int] = gc.get_threshold()
    switch_interval = sys.getswitchinterval()
    froze = False


#: How often the running thread hands the GIL over during a bulk import, in seconds.
SWITCH_INTERVAL = 0.0002


@contextmanager
def streaming_settings() -> Iterator[None]:
    """Tune the interpreter for streaming millions of records through two threads.

    - The garbage collector runs less often. Every parsed record allocates a few containers,
      so the default thresholds start a collection every few hundred records, and every
      hundredth one walks every object the process holds (the app, its plugins,
      SQLAlchemy's metadata). Records are freed by reference counting anyway; the objects
      that already exist are frozen out of the collector's sight (unless the process froze
      them itself) and young collections wait for 50,000 allocations.
    - The parsing thread hands the GIL to the writer thread sooner. The writer gives it up
      at every send to the database and otherwise waits up to 5 ms to get it back, while
      the database sits idle; a shorter interval made a 100k-customer sync 10% faster.

    Restored on exit; nested and concurrent imports share one setting.
    """
    with _Interpreter.lock:
        if _Interpreter.depth == 0:
            _Interpreter.threshold = gc.get_threshold()
            _Interpreter.switch_interval = sys.getswitchinterval()
            # A process that froze its objects itself (a pre-forking server) keeps them so.
            _Interpreter.froze = gc.get_freeze_count() == 0
            if _Interpreter.froze:
                gc.freeze()
            gc.set_threshold(50_000, 20, 100)
            sys.setswitchinterval(SWITCH_INTERVAL)
        _Interpreter.depth += 1
    try:
        yield
    finally:
        with _Interpreter.lock:
            _Interpreter.depth -= 1
            if _Interpreter.depth == 0:
                gc.set_threshold(*_Interpreter.threshold)
                sys.setswitchinterval(_Interpreter.switch_interval)
                if _Interpreter.froze:
                    gc.unfreeze()


def _mapped(
    category: Category, batch: list[dict[str, Any]], context: MapContext
) -> tuple[list[Row], list[Rejection]]:
    rejected: list[Rejection] = []
    return map_records(category, batch, RecordShape.BULK, context, rejected), rejected


def _write_alongside(
    run: SyncRun,
    category: Category,
    context: MapContext,
    grouped: Iterator[list[dict[str, Any]]],
    lane: CopyLane | None,
    skipped: Skipped,
    on_batch: Callable[[int], None] | None,
) -> int:
    """Write batches while the next ones are prepared alongside.

    The database then works in parallel with Python instead of after it. Batches are written
    in order, one transaction each (rows and progress together). An error on either side
    stops both and is raised here. Batches the COPY lane takes are written by it, falling
    back to the ordinary path when it refuses one.

    With the lane, a forked process prepares the batches (see `lane_batches`) and this
    thread writes them; otherwise this thread prepares them and a writer thread writes, at
    most `WRITE_AHEAD` batches waiting.
    """
    app = current_flask_app()
    run_id, workspace_id = run.id, run.workspace_id
    progress = dict(run.progress or {})
    done = 0

    failed: list[BaseException] = []
    statistics = PlannerStatistics(lane.plan.columns if lane is not None else ())

    def remap(records: list[dict[str, Any]]) -> Ordinary:
        return _mapped(category, records, context)

    def prepare(index: int, records: list[dict[str, Any]]) -> Prepared:
        lane_batch = lane.prepare(index, records) if lane is not None else None
        if lane_batch is None:
            return remap(records)
        if lane_batch.diverted:
            lane_batch.diverted_rows = remap(lane_batch.diverted)
            lane_batch.diverted = []
        return lane_batch

    forked = (
        lane is not None
        and bool(app.config.get("LUMO_SYNC_LANE_PROCESS", True))
        and ForkedBatches.available()
    )
    work = Preparation(grouped, prepare, remap)
    source = ForkedBatches(work) if forked else InlineBatches(work)

    def write_batch(batch: Prepared) -> WriteResult:
        # A batch lost to a crash is written again by the re-run, so waiting for each
        # batch's commit to reach the disk buys nothing; the server still flushes it
        # within moments and never half-applies it.
        db.session.execute(text("SET LOCAL synchronous_commit = off"))
        if not isinstance(batch, LaneBatch):
            if lane is not None:
                # Prepared the ordinary way: the lane closed where the batch was prepared
                # (another process may have logged why), so it is closed here too.
                lane.close("closed while preparing", log=False)
            rows, rejected = batch
            result, refused = write_or_reject(rows, category.key, run_id)
            skipped.keep(rejected + refused)
            return result
        assert lane is not None
        if not lane.is_open:  # prepared before the lane closed
            return write_batch(source.ordinary(batch))
        # The records the plan left to the ordinary path go first: should one share its key
        # with a copied record (a record exported twice), the COPY then meets it and the
        # whole batch is upserted in export order, as the ordinary path would.
        result, rejected, refused = WriteResult(), [], []
        if batch.diverted_rows is not None:
            rows, rejected = batch.diverted_rows
            result, refused = write_or_reject(rows, category.key, run_id)
        try:
            result.add(lane.write(batch))
        except LaneRefused as refusal:
            db.session.rollback()
            lane.close(str(refusal))
            return write_batch(source.ordinary(batch))
        skipped.keep(rejected + refused)
        return result

    def write(batch: Prepared) -> int:
        nonlocal done
        if failed:
            raise failed[0]  # never write past a batch that failed
        with app.app_context():
            try:
                result = write_batch(batch)
                done += result.written.get(category.table, 0)
                progress[category.key] = done
                update_running(run_id, progress=dict(progress), heartbeat_at=now())
                db.session.commit()
                if statistics.quiet and lane is not None and not lane.is_open:
                    statistics.speak()
                statistics.after(result)
            except BaseException as error:
                failed.append(error)
                raise
        extend_lock(workspace_id)
        return done

    try:
        if forked:
            for batch in source:
                written = write(batch)
                if on_batch is not None:
                    on_batch(written)
        else:
            _write_on_a_thread(source, write, on_batch)
    finally:
        source.close()
    return done


def _write_on_a_thread(
    batches: Iterable[Prepared],
    write: Callable[[Prepared], int],
    on_batch: Callable[[int], None] | None,
) -> None:
    """Prepare batches on this thread while a writer thread writes the previous ones."""
    pending: deque[Future[int]] = deque()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="lumo-sync-writer") as writer:
        try:
            for batch in batches:
                pending.append(writer.submit(write, batch))
                while pending and (len(pending) > WRITE_AHEAD or pending[0].done()):
                    written = pending.popleft().result()
                    if on_batch is not None:
                        on_batch(written)
            while pending:
                written = pending.popleft().result()
                if on_batch is not None:
                    on_batch(written)
        except BaseException:
            for future in pending:
                future.cancel()
            raise


class PlannerStatistics:
    """Keeps PostgreSQL's row estimates current while a bulk import fills its tables.

    Autovacuum analyzes a table only some time after it changed, so during an initial sync
    the planner still believes the tables are empty. With no statistics it judges that
    `order_shopify_id = ANY(…)` matches every row and scans the whole table for each batch,
    which makes a big import quadratic. ANALYZE runs whenever a table has doubled since its
    last one (from `FIRST` rows on): a handful of times per sync, each a sample of the table.

    Tables the COPY lane fills (`quiet`) are analyzed once, at `FIRST` rows: nothing plans a
    join against them while the lane is open (its probes are index lookups of one key), and
    on a million-customer store the doublings cost more than a tenth of the sync.
    Autovacuum analyzes them again afterwards. Should the lane close, the ordinary path's
    upserts need the estimates again, and `speak` brings the doublings back.
    """

    FIRST = 10_000

    def __init__(self, quiet: Iterable[str] = ()) -> None:
        self.written: dict[str, int] = {}
        self.next_at: dict[str, int] = {}
        self.quiet = set(quiet)

    def after(self, result: WriteResult) -> None:
        for name, count in result.written.items():
            total = self.written[name] = self.written.get(name, 0) + count
            if total >= self.next_at.get(name, self.FIRST):
                db.session.execute(text(f'ANALYZE "{table(name).name}"'))
                db.session.commit()
                self.next_at[name] = sys.maxsize if name in self.quiet else total * 2
                logger.debug("analyzed %s after %d rows", name, total)

    def speak(self) -> None:
        """Analyze the quiet tables again as they double, from the next batch on."""
        for name in self.quiet:
            if self.next_at.get(name) == sys.maxsize:
                self.next_at[name] = self.written.get(name, 0)
        self.quiet.clear()


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
            fresh: Select[Any] = select(literal_column("1")).where(
                parent.c.workspace_id == target.c.workspace_id,
                parent.c.shopify_id == target.c[column],
                parent.c[UPDATED] >= run.started_at,
            )
            conditions.append(~exists(fresh))
    removed = rowcount(db.session.execute(delete(target).where(and_(*conditions))))
    removed += delete_orphans(run.workspace_id, category.table)
    db.session.commit()
    return removed


def delete_orphans(workspace_id: int, parent_table: str) -> int:
    """Delete child rows whose parent row no longer exists.

    Written as NOT EXISTS (an anti-join) rather than NOT IN: with millions of parents, NOT IN
    outgrows the database's hash memory and degrades to a scan per child row.
    """
    removed = 0
    for child_name, column, parent_name in CHILD_TABLES:
        if parent_name != parent_table:
            continue
        child, parent = table(child_name), table(parent_name)
        existing: Select[Any] = select(literal_column("1")).where(
            parent.c.workspace_id == child.c.workspace_id,
            parent.c.shopify_id == child.c[column],
        )
        statement = delete(child).where(child.c.workspace_id == workspace_id, ~exists(existing))
        removed += rowcount(db.session.execute(statement))
    return removed
