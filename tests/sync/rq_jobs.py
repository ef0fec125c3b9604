"""A job for a real `rq worker` subprocess in the sync-liveness tests.

It does what a sync job does that matters to liveness, and nothing else: it holds the
workspace's Redis sync lock under its run's token, says which process runs it, and works
(sleeps) until it is killed or stopped.
"""

from __future__ import annotations

import os
import time

from rq import get_current_job

from lumo.sync.runs import LOCK_PREFIX, STALE_AFTER, lock_token


def hold_sync_lock_and_sleep(workspace_id: int, run_id: int, seconds: float) -> None:
    job = get_current_job()
    assert job is not None
    ttl = int(STALE_AFTER.total_seconds())
    job.connection.set(f"{LOCK_PREFIX}{workspace_id}", lock_token(run_id), nx=True, ex=ttl)
    job.meta["pid"] = os.getpid()
    job.save_meta()
    time.sleep(seconds)
