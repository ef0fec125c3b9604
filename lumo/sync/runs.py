"""Sync runs: starting one under the workspace's sync lock, progress, and how it ended.

The lock has two layers. In the database, a partial unique index allows one running initial,
manual or reconcile run per workspace, so a second start is refused whichever process asks,
until the running one is found dead (`lumo.sync.liveness`: its RQ job failed, was stopped or
is gone, or its worker died; without RQ, silent for `STALE_AFTER`). A dead run is marked
failed and its Redis lock released, so the new sync starts at once. When jobs go through
Redis, the job holds that lock (its token names the run) while it works, so a job delivered
twice never runs twice at once.

A run ended elsewhere while its job still works (a worker taken as dead that was not) is
fenced off: its next `record_progress` or `heartbeat` raises `RunEnded`, and it never
overwrites how the run ended.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from lumo import jobs
from lumo.extensions import db
from lumo.models import SyncRun
from lumo.sync.liveness import why_dead

logger = logging.getLogger(__name__)

KINDS = ("initial", "manual", "automatic", "reconcile")
STALE_AFTER = timedelta(minutes=15)
LOCK_PREFIX = "lumo:sync-lock:"


class SyncAlreadyRunning(RuntimeError):
    """Another sync of this store is running; the message says when it started."""


class RunHeldElsewhere(SyncAlreadyRunning):
    """This very run is being worked on by another job (its job was delivered twice)."""


class RunEnded(RuntimeError):
    """The run was ended elsewhere (taken as dead); the job working on it must stop."""

    def __init__(self, run_id: int) -> None:
        super().__init__(f"Sync run {run_id} was ended elsewhere; this job stops.")
        self.run_id = run_id


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


def live_running_run(workspace_id: int) -> SyncRun | None:
    """The running run if it is still being worked on; a dead one is ended on the spot.

    Pages use this too, so a sync whose worker was killed stops showing as running (and
    stops blocking a re-sync) as soon as RQ knows, not when the next sync is attempted.
    """
    current = running_run(workspace_id)
    if current is None:
        return None
    reason = why_dead(current, STALE_AFTER)
    if reason is None:
        return current
    fail_run(current, reason)
    release_lock(workspace_id, current.id)
    return None


def begin_run(workspace_id: int, kind: str) -> SyncRun:
    """Create a running SyncRun and commit it, or raise `SyncAlreadyRunning`."""
    if kind not in KINDS or kind == "automatic":
        raise ValueError(f"begin_run is for initial, manual or reconcile runs, not {kind!r}.")
    current = live_running_run(workspace_id)
    if current is not None:
        raise SyncAlreadyRunning(_busy_message(current))

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
    """Save rows done for one category and a heartbeat; commits so pages see it at once.

    Raises `RunEnded`, with the caller's uncommitted rows rolled back, when the run was ended
    elsewhere.
    """
    run_id, workspace_id = run.id, run.workspace_id
    progress = dict(run.progress or {})
    progress[category] = rows
    update_running(run_id, progress=progress, heartbeat_at=now())
    db.session.commit()
    extend_lock(workspace_id)


def heartbeat(run_id: int) -> None:
    """Mark a long wait (a bulk operation running at Shopify) as a sign of life.

    Raises `RunEnded` when the run was ended elsewhere, so the wait stops.
    """
    workspace_id = db.session.scalar(select(SyncRun.workspace_id).where(SyncRun.id == run_id))
    if workspace_id is None:
        return
    update_running(run_id, heartbeat_at=now())
    db.session.commit()
    extend_lock(workspace_id)


def update_running(run_id: int, **values: Any) -> None:
    """UPDATE the run only while it is running; otherwise roll back and raise `RunEnded`."""
    result = db.session.execute(
        update(SyncRun)
        .where(SyncRun.id == run_id, SyncRun.status == "running")
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if not getattr(result, "rowcount", 0):
        db.session.rollback()
        raise RunEnded(run_id)


def finish_run(run: SyncRun, counts: dict[str, Any]) -> None:
    """Mark the run complete, unless it was ended elsewhere meanwhile (that ending stands)."""
    if _end_run(run, status="complete", counts=counts, error=None):
        logger.info("sync run %s complete: %s", run.id, counts)


def fail_run(run: SyncRun, reason: str) -> None:
    """Mark the run failed with the reason the Dashboard shows; counts keep its progress."""
    if _end_run(run, status="failed", counts=SyncRun.progress, error=reason):
        logger.warning("sync run %s failed: %s", run.id, reason)


def _end_run(run: SyncRun, **values: Any) -> bool:
    run_id = run.id
    result = db.session.execute(
        update(SyncRun)
        .where(SyncRun.id == run_id, SyncRun.status == "running")
        .values(finished_at=now(), **values)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if not getattr(result, "rowcount", 0):
        logger.warning("sync run %s had already ended; its ending is kept", run_id)
        return False
    return True


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

#: Deletes the lock only while the given run holds it (compare and delete in one step).
_RELEASE_IF_HELD = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


def lock_token(run_id: int) -> str:
    """The value of the workspace's Redis sync lock while run `run_id` holds it."""
    return f"sync-run-{run_id}"


@contextlib.contextmanager
def sync_lock(workspace_id: int, run_id: int) -> Iterator[None]:
    """Hold the workspace's Redis sync lock while a sync job works (no-op without Redis)."""
    runner = jobs.runner()
    if not runner.uses_redis or runner.redis is None:
        yield
        return
    key = f"{LOCK_PREFIX}{workspace_id}"
    lock = runner.redis.lock(
        key, timeout=int(STALE_AFTER.total_seconds()), blocking=False, thread_local=False
    )
    try:
        acquired = lock.acquire(token=lock_token(run_id))
        holder = None if acquired else runner.redis.get(key)
    except RedisError:
        logger.warning(
            "workspace %s: Redis lock unavailable; relying on the DB guard", workspace_id
        )
        acquired, holder = None, None
    if acquired is False:
        if (holder.decode() if isinstance(holder, bytes) else holder) == lock_token(run_id):
            raise RunHeldElsewhere(f"Sync run {run_id} is already being worked on.")
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


def release_lock(workspace_id: int, run_id: int) -> bool:
    """Free the workspace's sync lock if run `run_id` still holds it (the run was found dead)."""
    runner = jobs.runner()
    if not runner.uses_redis or runner.redis is None:
        return False
    try:
        released = runner.redis.eval(
            _RELEASE_IF_HELD, 1, f"{LOCK_PREFIX}{workspace_id}", lock_token(run_id)
        )
    except RedisError as error:
        logger.warning(
            "workspace %s: sync lock of run %s not released (%s); it expires by itself",
            workspace_id,
            run_id,
            type(error).__name__,
        )
        return False
    if released:
        logger.info("workspace %s: sync lock of dead run %s released", workspace_id, run_id)
    return bool(released)


def start_sync(workspace_id: int, kind: str = "manual") -> SyncRun:
    """Start an initial or manual sync (`kind`); same as `lumo.sync.service.start_*`."""
    from lumo.sync.service import start_initial_sync, start_resync

    return start_initial_sync(workspace_id) if kind == "initial" else start_resync(workspace_id)
