"""Sync runs: starting one under the workspace's sync lock, progress, and how it ended.

The lock has two layers. In the database, a partial unique index allows one running initial,
manual or reconcile run per workspace, so a second start is refused whichever process asks;
a run silent for `STALE_AFTER` is taken as dead (its worker was killed) and no longer blocks.
When jobs go through Redis, the job also holds a Redis lock while it works, so a job that is
delivered twice never runs twice at once.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from lumo import jobs
from lumo.extensions import db
from lumo.models import SyncRun

logger = logging.getLogger(__name__)

KINDS = ("initial", "manual", "automatic", "reconcile")
STALE_AFTER = timedelta(minutes=15)
LOCK_PREFIX = "lumo:sync-lock:"


class SyncAlreadyRunning(RuntimeError):
    """Another sync of this store is running; the message says when it started."""


def now() -> datetime:
    return datetime.now(UTC)


def running_run(workspace_id: int) -> SyncRun | None:
    """The workspace's running initial, manual or reconcile run, if any."""
    return db.session.scalar(
        select(SyncRun).where(
            SyncRun.workspace_id == workspace_id,
            SyncRun.status == "running",
            SyncRun.kind != "automatic",
        )
    )


def begin_run(workspace_id: int, kind: str) -> SyncRun:
    """Create a running SyncRun and commit it, or raise `SyncAlreadyRunning`."""
    if kind not in KINDS or kind == "automatic":
        raise ValueError(f"begin_run is for initial, manual or reconcile runs, not {kind!r}.")
    current = running_run(workspace_id)
    if current is not None:
        last_sign = current.heartbeat_at or current.started_at
        if now() - last_sign < STALE_AFTER:
            raise SyncAlreadyRunning(_busy_message(current))
        fail_run(current, "The sync stopped unexpectedly (its worker went away). It was re-run.")

    run = SyncRun(
        workspace_id=workspace_id,
        kind=kind,
        status="running",
        progress={},
        counts={},
        started_at=now(),
        heartbeat_at=now(),
    )
    db.session.add(run)
    try:
        db.session.commit()
    except IntegrityError as error:
        db.session.rollback()
        current = running_run(workspace_id)
        raise SyncAlreadyRunning(_busy_message(current)) from error
    logger.info("sync run %s (%s) started for workspace %s", run.id, kind, workspace_id)
    return run


def _busy_message(run: SyncRun | None) -> str:
    started = run.started_at.strftime("%H:%M UTC") if run else "a moment ago"
    kind = {"initial": "The initial sync", "manual": "A re-sync", "reconcile": "A catch-up sync"}
    what = kind.get(run.kind if run else "", "A sync")
    return (
        f"{what} of this store is already running (started {started}). "
        "Wait for it to finish, then try again."
    )


def record_progress(run: SyncRun, category: str, rows: int) -> None:
    """Save rows done for one category and a heartbeat; commits so pages see it at once."""
    progress = dict(run.progress or {})
    progress[category] = rows
    run.progress = progress
    run.heartbeat_at = now()
    db.session.commit()
    extend_lock(run.workspace_id)


def heartbeat(run_id: int) -> None:
    """Mark a long wait (a bulk operation running at Shopify) as a sign of life."""
    run = db.session.get(SyncRun, run_id)
    if run is not None and run.status == "running":
        run.heartbeat_at = now()
        db.session.commit()
        extend_lock(run.workspace_id)


def finish_run(run: SyncRun, counts: dict[str, Any]) -> None:
    run.status = "complete"
    run.counts = counts
    run.finished_at = now()
    run.error = None
    db.session.commit()
    logger.info("sync run %s complete: %s", run.id, counts)


def fail_run(run: SyncRun, reason: str) -> None:
    run.status = "failed"
    run.error = reason
    run.finished_at = now()
    run.counts = dict(run.progress or {})
    db.session.commit()
    logger.warning("sync run %s failed: %s", run.id, reason)


def automatic_run(workspace_id: int) -> SyncRun:
    """This hour's "automatic" run of the workspace, which webhook applies add their counts to."""
    hour = now().replace(minute=0, second=0, microsecond=0)
    run = db.session.scalar(
        select(SyncRun)
        .where(
            SyncRun.workspace_id == workspace_id,
            SyncRun.kind == "automatic",
            SyncRun.started_at >= hour,
        )
        .order_by(SyncRun.id)
        .limit(1)
        .with_for_update()
    )
    if run is None:
        run = SyncRun(
            workspace_id=workspace_id,
            kind="automatic",
            status="complete",
            progress={},
            counts={},
            started_at=now(),
        )
        db.session.add(run)
        db.session.flush()
    return run


def add_counts(run: SyncRun, counts: dict[str, int]) -> None:
    merged = dict(run.counts or {})
    for key, value in counts.items():
        merged[key] = int(merged.get(key, 0)) + value
    run.counts = merged
    run.finished_at = now()


# ---- the Redis layer ----------------------------------------------------------------------


_held: dict[int, Any] = {}


@contextlib.contextmanager
def sync_lock(workspace_id: int) -> Iterator[None]:
    """Hold the workspace's Redis sync lock while a sync job works (no-op without Redis)."""
    runner = jobs.runner()
    if not runner.uses_redis or runner.redis is None:
        yield
        return
    lock = runner.redis.lock(
        f"{LOCK_PREFIX}{workspace_id}",
        timeout=int(STALE_AFTER.total_seconds()),
        blocking=False,
        thread_local=False,
    )
    try:
        acquired = lock.acquire()
    except RedisError:
        logger.warning(
            "workspace %s: Redis lock unavailable; relying on the DB guard", workspace_id
        )
        acquired = None
    if acquired is False:
        raise SyncAlreadyRunning(
            "Another worker is already running this store's sync. Wait for it to finish."
        )
    _held[workspace_id] = lock if acquired else None
    try:
        yield
    finally:
        _held.pop(workspace_id, None)
        if acquired:
            with contextlib.suppress(RedisError):
                lock.release()


def extend_lock(workspace_id: int) -> None:
    lock = _held.get(workspace_id)
    if lock is not None:
        with contextlib.suppress(RedisError):
            lock.reacquire()


def start_sync(workspace_id: int, kind: str = "manual") -> SyncRun:
    """Start an initial or manual sync (`kind`); same as `lumo.sync.service.start_*`."""
    from lumo.sync.service import start_initial_sync, start_resync

    return start_initial_sync(workspace_id) if kind == "initial" else start_resync(workspace_id)
