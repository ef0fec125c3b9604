"""Whether a running sync run is still being worked on, so a killed one never blocks a re-sync.

A run that went through RQ is judged by its job: RQ knows at once when a work-horse died
(the job is failed), when a job was stopped or canceled, and when the job is gone; and a
worker killed outright stops refreshing its `rq:worker:<name>` key, which expires within
about 90 s (RQ's job-monitoring heartbeat). A queued job, or a started one whose worker is
alive, is alive however long it waits. Runs without an RQ job (in-process thread jobs), or
whose job RQ cannot be asked about, keep the heartbeat rule: silent for `stale_after` is dead.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from redis import Redis
from redis.exceptions import RedisError
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.worker import BaseWorker

from lumo import jobs
from lumo.models import SyncRun

logger = logging.getLogger(__name__)

#: What each finished RQ status says happened to the sync's job.
ENDED = {
    JobStatus.FAILED: "its background job failed (the worker running it was killed or crashed)",
    JobStatus.STOPPED: "its background job was stopped",
    JobStatus.CANCELED: "its background job was canceled",
    JobStatus.FINISHED: "its background job ended without recording the result",
}
GONE = "its background job is no longer in the queue"
WORKER_GONE = "the worker running it stopped (no heartbeat from it)"
SILENT = "no sign of life from it for {minutes} minutes"


@dataclass(frozen=True)
class JobCheck:
    """What RQ says of a sync's job: alive, or dead and why."""

    alive: bool
    why: str = ""


def why_dead(run: SyncRun, stale_after: timedelta) -> str | None:
    """The reason a running run is taken as dead, or None while it may still be working."""
    runner = jobs.runner()
    if run.job_id and runner.uses_redis and runner.redis is not None:
        try:
            check = check_job(runner.redis, run.job_id)
        except RedisError as error:
            logger.warning(
                "sync run %s: RQ unreachable (%s); judging by heartbeat",
                run.id,
                type(error).__name__,
            )
            check = None
        if check is not None:
            return None if check.alive else _reason(check.why)

    last_sign = run.heartbeat_at or run.started_at
    if datetime.now(UTC) - last_sign < stale_after:
        return None
    return _reason(SILENT.format(minutes=int(stale_after.total_seconds() // 60)))


def check_job(connection: Redis, job_id: str) -> JobCheck | None:
    """Ask RQ about a job; None when RQ's records cannot tell (the heartbeat rule decides)."""
    try:
        job = Job.fetch(job_id, connection=connection)
    except NoSuchJobError:
        return JobCheck(alive=False, why=GONE)
    status = job.get_status(refresh=False)
    if status in ENDED:
        if status == JobStatus.FAILED:
            _log_failure(job)
        return JobCheck(alive=False, why=ENDED[status])
    if status != JobStatus.STARTED:
        return JobCheck(alive=True)  # queued, deferred or scheduled: waiting for a worker

    if not job.worker_name:
        return None
    worker_key = BaseWorker.redis_worker_namespace_prefix + job.worker_name
    if connection.exists(worker_key):
        return JobCheck(alive=True)
    return JobCheck(alive=False, why=WORKER_GONE)


def _reason(why: str) -> str:
    return (
        f"The sync stopped unexpectedly: {why}. It was ended so a new sync could start; "
        "rows already written are kept."
    )


def _log_failure(job: Job) -> None:
    """Log RQ's own account of the failure (a killed work-horse, an abandoned job) for ops."""
    result = job.latest_result()
    detail = (result.exc_string or "").strip().splitlines() if result is not None else []
    logger.warning("RQ job %s failed: %s", job.id, detail[-1] if detail else "no detail")
