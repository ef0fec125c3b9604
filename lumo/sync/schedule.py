"""Periodic sync jobs, declared as a list and run by `lumo worker`.

Each worker starts a small daemon thread that wakes every `TICK` seconds and, for each entry
below that is due, takes a Redis key `lumo:schedule:<name>` with `SET NX EX every`: whichever
worker sets it enqueues the job, so any number of workers enqueue each job once per period.
At start the thread also re-queues webhook deliveries left `received` (the queue was down).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import Flask
from redis.exceptions import RedisError
from sqlalchemy import select

from lumo import jobs
from lumo.extensions import db
from lumo.models import ShopifyConnection

logger = logging.getLogger(__name__)

TICK = 30.0
KEY_PREFIX = "lumo:schedule:"


@jobs.job
def reconcile_all_job() -> None:
    """Start the catch-up pass for every connected store."""
    from lumo.sync.service import start_reconcile

    workspace_ids = db.session.scalars(
        select(ShopifyConnection.workspace_id).where(ShopifyConnection.state == "connected")
    ).all()
    started = sum(1 for workspace_id in workspace_ids if start_reconcile(workspace_id) is not None)
    logger.info("reconciliation: %d of %d stores started", started, len(workspace_ids))


@jobs.job
def requeue_deliveries_job() -> None:
    """Queue again webhook deliveries that never reached the queue."""
    from lumo.sync.deliveries import requeue_received

    requeue_received(older_than=timedelta(minutes=1))


@jobs.job
def forget_old_bodies_job() -> None:
    """Failed deliveries keep their bodies for inspection for a while, not for ever."""
    from lumo.sync.deliveries import forget_old_bodies

    forget_old_bodies()


@dataclass(frozen=True)
class Periodic:
    name: str
    every: timedelta
    queue: str
    func: Callable[..., Any]


#: What runs on a schedule; edit this list to add or retime a periodic job.
SCHEDULE: tuple[Periodic, ...] = (
    Periodic("reconcile", timedelta(hours=1), "sync", reconcile_all_job),
    Periodic("requeue-deliveries", timedelta(minutes=5), "webhooks", requeue_deliveries_job),
    Periodic("forget-old-bodies", timedelta(days=1), "webhooks", forget_old_bodies_job),
)


def run_due(schedule: tuple[Periodic, ...] = SCHEDULE) -> list[str]:
    """Enqueue every entry no other worker enqueued within its period; returns their names."""
    runner = jobs.runner()
    queued = []
    for entry in schedule:
        if runner.redis is not None:
            try:
                claimed = runner.redis.set(
                    KEY_PREFIX + entry.name, "1", nx=True, ex=int(entry.every.total_seconds())
                )
            except RedisError as error:
                logger.warning("schedule %s skipped: Redis unavailable (%s)", entry.name, error)
                continue
            if not claimed:
                continue
        jobs.enqueue(entry.queue, entry.func)
        queued.append(entry.name)
    if queued:
        logger.info("schedule: queued %s", ", ".join(queued))
    return queued


def start_scheduler(app: Flask, *, tick: float = TICK) -> threading.Thread:
    """Start the schedule thread of a worker process (sweeps waiting deliveries first)."""
    stop = threading.Event()

    def loop() -> None:
        with app.app_context():
            from lumo.sync.deliveries import requeue_received

            try:
                requeue_received(older_than=timedelta(0))
            except Exception:
                logger.exception("start-up sweep of waiting deliveries failed")
            while not stop.is_set():
                try:
                    run_due()
                except Exception:
                    logger.exception("schedule tick failed; trying again next tick")
                finally:
                    db.session.remove()
                stop.wait(tick)

    thread = threading.Thread(target=loop, name="lumo-schedule", daemon=True)
    thread.stop = stop  # type: ignore[attr-defined]
    thread.start()
    return thread
