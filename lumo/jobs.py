"""Background jobs: RQ queues on Redis, or in-process when there is no Redis.

Queues are split by urgency so a big store's initial sync never delays webhooks:
`webhooks` first, `writebacks` next, `sync` last. Job functions take ids, not objects, and
reload what they need, so any job can be retried or re-run.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from flask import Flask, current_app, has_app_context
from redis import Redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry
from rq import Queue

logger = logging.getLogger(__name__)

#: Queue names, most urgent first; a worker listens to them in this order.
QUEUES: tuple[str, ...] = ("webhooks", "writebacks", "sync")

#: Per-queue limits: how long one job may run, and how long a failure is kept for inspection.
JOB_TIMEOUTS = {"webhooks": 120, "writebacks": 300, "sync": 6 * 3600}
FAILURE_TTL = 7 * 24 * 3600


class JobRunner:
    """Sends jobs to RQ, or runs them in this process when Redis is not available."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.mode = app.config["LUMO_JOBS_MODE"]
        self.redis: Redis | None = None
        self._executors: dict[str, ThreadPoolExecutor] = {}
        self._lock = threading.Lock()

        if self.mode in {"auto", "redis"}:
            self.redis = _connect(app.config["REDIS_URL"])
            if self.redis is None:
                if self.mode == "redis":
                    raise RuntimeError(
                        f"LUMO_JOBS_MODE=redis but Redis at {app.config['REDIS_URL']!r} is not "
                        "reachable. Start Redis or set LUMO_JOBS_MODE=auto."
                    )
                logger.warning(
                    "Redis is not reachable at the configured REDIS_URL: jobs will run "
                    "in-process in background threads (fine for a demo, not for production)"
                )
                self.mode = "thread"
            else:
                self.mode = "redis"

    @property
    def uses_redis(self) -> bool:
        return self.mode == "redis"

    def queue(self, name: str) -> Queue:
        if self.redis is None:
            raise RuntimeError("No Redis connection: jobs are running in-process.")
        return Queue(name, connection=self.redis, default_timeout=JOB_TIMEOUTS[name])

    def enqueue(
        self, queue: str, func: Callable[..., Any], *args: Any, job_id: str | None = None
    ) -> str | None:
        """Run `func(*args)` as a job on `queue`; returns the RQ job id when there is one."""
        if queue not in QUEUES:
            raise ValueError(f"Unknown queue {queue!r}; use one of {', '.join(QUEUES)}.")

        if self.mode == "inline":
            func(*args)
            return None

        if self.mode == "thread":
            self._executor(queue).submit(self._run_in_app, func, *args)
            return None

        job = self.queue(queue).enqueue(
            func, *args, job_id=job_id, failure_ttl=FAILURE_TTL, result_ttl=3600
        )
        logger.debug("queued job %s on %s", job.id, queue)
        return str(job.id)

    def _executor(self, queue: str) -> ThreadPoolExecutor:
        with self._lock:
            if queue not in self._executors:
                self._executors[queue] = ThreadPoolExecutor(1, thread_name_prefix=f"lumo-{queue}")
            return self._executors[queue]

    def _run_in_app(self, func: Callable[..., Any], *args: Any) -> None:
        with self.app.app_context():
            try:
                func(*args)
            except Exception:
                logger.exception("in-process job %s failed", getattr(func, "__name__", func))

    def wait_idle(self) -> None:
        """Wait for in-process jobs to finish (used by the CLI and tests)."""
        with self._lock:
            executors = list(self._executors.values())
            self._executors = {}
        for executor in executors:
            executor.shutdown(wait=True)


def _connect(url: str) -> Redis | None:
    if not url:
        return None
    # No retries inside redis-py: a webhook must be acknowledged within seconds even when Redis
    # is down (the delivery is already stored and a sweeper re-queues it later).
    connection = Redis.from_url(
        url, socket_connect_timeout=1, socket_timeout=5, retry=Retry(NoBackoff(), 0)
    )
    try:
        connection.ping()
    except (RedisError, OSError):
        return None
    return connection


def init_app(app: Flask) -> None:
    app.extensions["lumo.jobs"] = JobRunner(app)


def runner() -> JobRunner:
    return current_app.extensions["lumo.jobs"]  # type: ignore[no-any-return]


def enqueue(
    queue: str, func: Callable[..., Any], *args: Any, job_id: str | None = None
) -> str | None:
    """Queue a job from inside the app (a request, a CLI command or another job)."""
    return runner().enqueue(queue, func, *args, job_id=job_id)


_worker_app: Flask | None = None
_engine_pid: int | None = None


def set_worker_app(app: Flask) -> None:
    """Give job functions the app a worker process created before forking."""
    global _worker_app
    _worker_app = app


def job(func: Callable[..., Any]) -> Callable[..., Any]:
    """Make a module-level function safe to run as an RQ job.

    Inside a request or CLI command the function runs in the current app context. In a worker
    it runs in the worker's app (created once, before RQ forks), and a forked child first drops
    the database connections it inherited, since a connection must never be shared by two
    processes.
    """

    @functools.wraps(func)
    def wrapper(*args: Any) -> Any:
        if has_app_context():
            return func(*args)
        app = _worker_app
        if app is None:
            from lumo.app import create_app

            app = create_app()
            set_worker_app(app)
        with app.app_context():
            _dispose_inherited_connections()
            return func(*args)

    return wrapper


def _dispose_inherited_connections() -> None:
    global _engine_pid
    if _engine_pid == os.getpid():
        return
    from lumo.extensions import db

    db.engine.dispose(close=False)
    _engine_pid = os.getpid()
