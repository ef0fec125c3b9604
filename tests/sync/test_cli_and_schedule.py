"""`lumo sync` from the shell, and the periodic schedule enqueueing each job once per period."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from redis import Redis
from rq import Queue

from lumo import jobs
from lumo.sync.cli import sync_command
from lumo.sync.schedule import SCHEDULE, run_due


def test_cli_resync_and_reconcile(sync_app: Flask, connected: tuple[FlaskClient, int]) -> None:
    runner = sync_app.test_cli_runner()
    resync = runner.invoke(sync_command, [])
    assert resync.exit_code == 0 and "complete" in resync.output, resync.output
    reconcile = runner.invoke(sync_command, ["--reconcile"])
    assert reconcile.exit_code == 0 and "complete" in reconcile.output, reconcile.output
    requeue = runner.invoke(sync_command, ["--requeue"])
    assert "0 deliveries" in requeue.output


def test_schedule_enqueues_each_job_once_per_period(
    sync_app: Flask, redis_connection: Redis
) -> None:
    runner = jobs.runner()
    runner.mode, runner.redis = "redis", redis_connection
    assert run_due() == [entry.name for entry in SCHEDULE]
    assert run_due() == []  # another worker's tick within the period enqueues nothing
    assert Queue("sync", connection=redis_connection).count == 1
    assert Queue("webhooks", connection=redis_connection).count == 2  # requeue, old bodies
