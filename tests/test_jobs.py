"""Jobs: RQ on real Redis, and in-process when Redis is not there."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from flask import Flask
from redis import Redis
from rq import SimpleWorker

from lumo import jobs
from tests.conftest import REDIS_TEST_URL, make_test_app

RECORDED: list[int] = []


@jobs.job
def record_workspace(workspace_id: int) -> None:
    from flask import current_app

    assert current_app  # job functions always run inside an app context
    RECORDED.append(workspace_id)


@pytest.fixture(autouse=True)
def _clear() -> None:
    RECORDED.clear()


def test_jobs_go_through_redis_and_a_real_worker(
    _schema: str, tmp_path: Path, redis_connection: Redis
) -> None:
    app = make_test_app(_schema, tmp_path, LUMO_JOBS_MODE="redis", REDIS_URL=REDIS_TEST_URL)

    with app.app_context():
        runner = jobs.runner()
        job_id = jobs.enqueue("webhooks", record_workspace, 7)
        assert job_id is not None
        assert RECORDED == []  # nothing ran yet: it waits in Redis
        SimpleWorker([runner.queue("webhooks")], connection=runner.redis).work(burst=True)

    assert RECORDED == [7]


def test_without_redis_jobs_run_in_process_and_the_log_says_so(
    _schema: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="lumo.jobs"):
        app = make_test_app(
            _schema, tmp_path, LUMO_JOBS_MODE="auto", REDIS_URL="redis://127.0.0.1:1/0"
        )

    with app.app_context():
        runner = jobs.runner()
        assert runner.mode == "thread"
        jobs.enqueue("sync", record_workspace, 3)
        runner.wait_idle()

    assert RECORDED == [3]
    warnings = [r for r in caplog.records if "in-process" in r.getMessage()]
    assert len(warnings) == 1


def test_redis_mode_refuses_to_start_without_redis(_schema: str, tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="not reachable"):
        make_test_app(_schema, tmp_path, LUMO_JOBS_MODE="redis", REDIS_URL="redis://127.0.0.1:1/0")


def test_unknown_queues_are_refused(app: Flask) -> None:
    with pytest.raises(ValueError, match="Unknown queue"):
        jobs.enqueue("later", record_workspace, 1)
