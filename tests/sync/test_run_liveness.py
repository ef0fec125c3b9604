"""A killed sync never blocks a re-sync: RQ's view of its job decides, the heartbeat without RQ.

The worker tests run a real `rq worker` subprocess on the test Redis and kill it for real;
only the expiry of a dead worker's heartbeat key (about 90 s in RQ) is fast-forwarded.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from rq import Queue
from rq.command import send_stop_job_command
from rq.job import Job, JobStatus
from rq.worker import BaseWorker
from sqlalchemy import update

from lumo.extensions import db
from lumo.models import SyncRun
from lumo.sync import liveness, service
from lumo.sync.runs import (
    LOCK_PREFIX,
    STALE_AFTER,
    RunEnded,
    SyncAlreadyRunning,
    begin_run,
    fail_run,
    finish_run,
    heartbeat,
    lock_token,
    record_progress,
    sync_lock,
)
from lumo.workspaces import create_workspace
from tests.conftest import REDIS_TEST_URL, make_test_app
from tests.sync.conftest import empty_tables
from tests.sync.rq_jobs import hold_sync_lock_and_sleep

ROOT = Path(__file__).resolve().parents[2]
RQ = str(Path(sys.executable).with_name("rq"))


@pytest.fixture
def rq_app(_schema: str, tmp_path: Path, redis_connection: Redis) -> Iterator[Flask]:
    """An app whose jobs go through RQ on the test Redis."""
    application = make_test_app(_schema, tmp_path, LUMO_JOBS_MODE="redis")
    with application.app_context():
        yield application
        db.session.rollback()
        empty_tables()
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def workspace_id(rq_app: Flask) -> int:
    workspace = create_workspace("Liveness shop")
    db.session.commit()
    return workspace.id


class WorkerProcess:
    """A real `rq worker` on the sync queue, in its own session; killed for good at teardown."""

    def __init__(self, log: Path) -> None:
        self.name = f"lumo-liveness-{uuid.uuid4().hex[:8]}"
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [RQ, "worker", "sync", "--url", REDIS_TEST_URL, "--path", str(ROOT)]
                + ["--name", self.name, "--disable-job-desc-logging"],
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.horse: int | None = None

    def wait_for_horse(self, job: Job, timeout: float = 30.0) -> int:
        """The pid of the work-horse once it runs `job`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()
            job.refresh()
            if job.meta.get("pid"):
                self.horse = int(job.meta["pid"])
                return self.horse
            time.sleep(0.1)
        raise AssertionError(f"the worker never started the job:\n{self.log.read_text()}")

    def kill(self) -> None:
        """SIGKILL the worker and its work-horse, as an OOM killer or a lost machine would."""
        for pid in (self.process.pid, self.horse):
            if pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        self.process.wait(timeout=10)


@pytest.fixture
def worker(tmp_path: Path) -> Iterator[WorkerProcess]:
    started = WorkerProcess(tmp_path / "rq-worker.log")
    yield started
    started.kill()


def run_with_job(redis: Redis, workspace_id: int, *, queued: bool = True) -> tuple[SyncRun, Job]:
    """A running manual sync whose RQ job (queued or not) is recorded the way `_start` does."""
    run = begin_run(workspace_id, "manual")
    job_id = f"lumo-sync-{run.id}"
    job = Queue("sync", connection=redis).create_job(
        hold_sync_lock_and_sleep, args=(workspace_id, run.id, 60), job_id=job_id
    )
    if queued:
        job = Queue("sync", connection=redis).enqueue_job(job)
    run.job_id = job_id
    db.session.commit()
    return run, job


def wait_for_status(job: Job, status: JobStatus, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while job.get_status() != status:
        assert time.monotonic() < deadline, f"job {job.id} is {job.get_status()}, not {status}"
        time.sleep(0.05)


def reloaded(run: SyncRun) -> SyncRun:
    db.session.expire_all()
    fresh = db.session.get(SyncRun, run.id)
    assert fresh is not None
    return fresh


def test_a_sync_whose_work_horse_was_killed_gives_way_at_once(
    workspace_id: int, redis_connection: Redis, worker: WorkerProcess
) -> None:
    run, job = run_with_job(redis_connection, workspace_id)
    horse = worker.wait_for_horse(job)
    with pytest.raises(SyncAlreadyRunning, match="already running"):
        begin_run(workspace_id, "manual")  # a live worker is running it

    os.kill(horse, signal.SIGKILL)
    wait_for_status(job, JobStatus.FAILED)  # the worker saw its horse die
    again = begin_run(workspace_id, "manual")

    old = reloaded(run)
    assert old.status == "failed" and old.finished_at is not None
    assert "background job failed" in (old.error or "")
    assert again.status == "running" and again.id != run.id
    assert redis_connection.get(f"{LOCK_PREFIX}{workspace_id}") is None


def test_a_sync_whose_job_was_stopped_gives_way_at_once(
    workspace_id: int, redis_connection: Redis, worker: WorkerProcess
) -> None:
    run, job = run_with_job(redis_connection, workspace_id)
    worker.wait_for_horse(job)

    send_stop_job_command(redis_connection, job.id)
    wait_for_status(job, JobStatus.STOPPED)
    begin_run(workspace_id, "manual")

    assert "was stopped" in (reloaded(run).error or "")


def test_a_sync_whose_whole_worker_was_killed_gives_way_when_rq_sees_the_worker_gone(
    rq_app: Flask, workspace_id: int, redis_connection: Redis, worker: WorkerProcess
) -> None:
    run, job = run_with_job(redis_connection, workspace_id)
    worker.wait_for_horse(job)
    worker_key = BaseWorker.redis_worker_namespace_prefix + worker.name

    worker.kill()
    assert job.get_status() == JobStatus.STARTED  # nobody is left to say otherwise
    assert 0 < redis_connection.ttl(worker_key) <= 480  # RQ's worker heartbeat, not renewed
    with pytest.raises(SyncAlreadyRunning):
        begin_run(workspace_id, "manual")

    redis_connection.pexpire(worker_key, 1)  # what RQ leaves once that heartbeat lapses
    time.sleep(0.05)
    again = begin_run(workspace_id, "manual")

    assert "the worker running it stopped" in (reloaded(run).error or "")
    # The dead job's sync lock was released, so the new run's job can take it at once.
    assert redis_connection.get(f"{LOCK_PREFIX}{workspace_id}") is None
    with sync_lock(workspace_id, again.id):
        assert redis_connection.get(f"{LOCK_PREFIX}{workspace_id}") == b"sync-run-%d" % again.id


def test_a_queued_sync_waits_for_a_worker_however_long_then_a_canceled_one_gives_way(
    workspace_id: int, redis_connection: Redis
) -> None:
    run, job = run_with_job(redis_connection, workspace_id)
    long_ago = datetime.now(UTC) - timedelta(hours=1)
    db.session.execute(update(SyncRun).where(SyncRun.id == run.id).values(heartbeat_at=long_ago))
    db.session.commit()
    with pytest.raises(SyncAlreadyRunning):
        begin_run(workspace_id, "manual")  # queued: no heartbeat is expected yet

    job.cancel()
    begin_run(workspace_id, "manual")

    assert "was canceled" in (reloaded(run).error or "")


def test_a_sync_whose_job_is_gone_from_redis_gives_way_at_once(
    workspace_id: int, redis_connection: Redis
) -> None:
    run, _ = run_with_job(redis_connection, workspace_id, queued=False)

    begin_run(workspace_id, "manual")

    assert "no longer in the queue" in (reloaded(run).error or "")


def test_when_rq_cannot_be_asked_the_heartbeat_decides(
    workspace_id: int, redis_connection: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    run, _ = run_with_job(redis_connection, workspace_id, queued=False)

    def unreachable(connection: Redis, job_id: str) -> None:
        raise RedisConnectionError("Redis went away")

    monkeypatch.setattr(liveness, "check_job", unreachable)
    with pytest.raises(SyncAlreadyRunning):
        begin_run(workspace_id, "manual")


@pytest.mark.parametrize("silent_minutes", [5, 16])
def test_in_process_syncs_keep_the_heartbeat_rule(app: Flask, silent_minutes: int) -> None:
    workspace = create_workspace("Thread shop")
    db.session.commit()
    run = begin_run(workspace.id, "manual")
    last_sign = datetime.now(UTC) - timedelta(minutes=silent_minutes)
    db.session.execute(update(SyncRun).where(SyncRun.id == run.id).values(heartbeat_at=last_sign))
    db.session.commit()

    if silent_minutes * 60 < STALE_AFTER.total_seconds():
        with pytest.raises(SyncAlreadyRunning):
            begin_run(workspace.id, "manual")
        return
    begin_run(workspace.id, "manual")
    assert "no sign of life from it for 15 minutes" in (reloaded(run).error or "")


def test_a_run_ended_elsewhere_is_fenced_off(workspace_id: int) -> None:
    run = begin_run(workspace_id, "manual")
    record_progress(run, "customers", 10)
    fail_run(run, "Taken as dead.")

    with pytest.raises(RunEnded):
        record_progress(run, "customers", 20)
    with pytest.raises(RunEnded):
        heartbeat(run.id)
    finish_run(run, {"customers": 20})
    fail_run(run, "Another reason.")

    ended = reloaded(run)
    assert (ended.status, ended.error) == ("failed", "Taken as dead.")
    assert ended.progress == ended.counts == {"customers": 10}


def test_a_sync_job_stops_without_a_trace_when_its_run_is_ended_elsewhere(
    workspace_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = begin_run(workspace_id, "manual")

    def taken_as_dead_midway(current: SyncRun) -> dict[str, int]:
        record_progress(current, "customers", 10)
        db.session.execute(
            update(SyncRun)
            .where(SyncRun.id == current.id)
            .values(status="failed", error="Taken as dead.")
        )
        db.session.commit()
        record_progress(current, "customers", 20)
        return {"customers": 20}

    monkeypatch.setattr(service, "_run", taken_as_dead_midway)
    service.run_sync_job(run.id)

    ended = reloaded(run)
    assert (ended.status, ended.error, ended.progress) == (
        "failed",
        "Taken as dead.",
        {"customers": 10},
    )


def test_a_sync_job_delivered_twice_leaves_the_run_to_the_first(
    workspace_id: int, redis_connection: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = begin_run(workspace_id, "manual")
    redis_connection.set(f"{LOCK_PREFIX}{workspace_id}", lock_token(run.id), ex=60)
    monkeypatch.setattr(service, "_run", lambda current: pytest.fail("ran twice"))

    service.run_sync_job(run.id)

    assert reloaded(run).status == "running"


def test_a_bulk_import_stops_writing_once_its_run_is_ended_elsewhere(
    rq_app: Flask, workspace_id: int
) -> None:
    from lumo.app import plugin_manager
    from lumo.models import Customer
    from lumo.shopify.bulk import parse_bulk_lines
    from lumo.sync.bulk_import import import_records
    from lumo.sync.properties import map_context

    category = plugin_manager(rq_app).category("customers")
    rq_app.config["LUMO_SYNC_BATCH_SIZE"] = 50
    run = begin_run(workspace_id, "manual")
    lines = [
        f'{{"id":"gid://shopify/Customer/{n}","firstName":"N{n}",'
        f'"updatedAt":"2026-01-01T00:00:00Z"}}'
        for n in range(1, 1001)
    ]
    context = map_context(workspace_id, category)
    ended: list[int] = []

    def taken_as_dead_after_the_first_batch(done: int) -> None:
        if not ended:
            ended.append(done)
            fail_run(db.session.get(SyncRun, run.id), "Taken as dead.")

    with pytest.raises(RunEnded):
        import_records(
            run,
            category,
            parse_bulk_lines(lines),
            context,
            sweep=False,
            on_batch=taken_as_dead_after_the_first_batch,
        )

    db.session.rollback()
    kept = db.session.query(Customer).count()
    assert ended and 0 < kept < 1000
    if db.engine.dialect.name == "sqlite":  # one batch at a time: exactly the first one
        assert kept == 50
    assert reloaded(run).error == "Taken as dead."
