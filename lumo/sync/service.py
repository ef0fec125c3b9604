"""Starting syncs, and the jobs that run them.

`start_initial_sync` and `start_resync` refuse (with `SyncAlreadyRunning`) while another sync
of the store runs; both enqueue a job on the `sync` queue and return the running `SyncRun`,
whose `progress` pages can poll. `start_reconcile` is the hourly catch-up pass.
"""

from __future__ import annotations

import logging
import time

from flask import current_app
from redis.exceptions import RedisError

from lumo import jobs
from lumo.app import plugin_manager
from lumo.extensions import db
from lumo.logs import log_context
from lumo.models import ShopifyConnection, SyncRun
from lumo.shopify import ShopifyAuthError, ShopifyError
from lumo.sync.bulk_import import import_category
from lumo.sync.connection import NotConnected, connection_for, shopify_client
from lumo.sync.reconcile import reconcile_category, reconcile_since
from lumo.sync.runs import (
    RunEnded,
    RunHeldElsewhere,
    SyncAlreadyRunning,
    begin_run,
    fail_run,
    finish_run,
    heartbeat,
    sync_lock,
)

logger = logging.getLogger(__name__)


def _require_connected(workspace_id: int) -> ShopifyConnection:
    connection = connection_for(workspace_id)
    if connection is None or connection.state in ("pending", "uninstalled"):
        raise NotConnected(
            "No Shopify store is connected to this workspace. Connect one from "
            "Integrations → Shopify."
        )
    if connection.state == "broken":
        raise NotConnected(connection.broken_reason or "Reconnect the store.")
    return connection


def start_initial_sync(workspace_id: int) -> SyncRun:
    """Import every enabled category right after connecting (a job on the `sync` queue)."""
    return _start(workspace_id, "initial")


def start_resync(workspace_id: int) -> SyncRun:
    """Re-fetch everything and delete rows that no longer exist in Shopify."""
    return _start(workspace_id, "manual")


def start_reconcile(workspace_id: int) -> SyncRun | None:
    """Catch up on changes since the last successful sync; None when there is nothing to do."""
    connection = connection_for(workspace_id)
    if connection is None or connection.state != "connected":
        return None
    if reconcile_since(workspace_id) is None:
        return None
    try:
        return _start(workspace_id, "reconcile")
    except SyncAlreadyRunning:
        logger.info("workspace %s: reconcile skipped, a sync is running", workspace_id)
        return None


def _start(workspace_id: int, kind: str) -> SyncRun:
    _require_connected(workspace_id)
    run = begin_run(workspace_id, kind)
    try:
        job_id = jobs.enqueue("sync", run_sync_job, run.id, job_id=f"lumo-sync-{run.id}")
    except (RedisError, OSError) as error:
        fail_run(run, "The job queue is unreachable; start the sync again in a minute.")
        raise SyncAlreadyRunning(
            "Lumo could not queue the sync because its job queue is unreachable. "
            "Try again in a minute."
        ) from error
    if job_id is not None:
        refreshed = db.session.get(SyncRun, run.id)
        if refreshed is not None and refreshed.status == "running":
            refreshed.job_id = job_id
            db.session.commit()
    return db.session.get(SyncRun, run.id) or run


@jobs.job
def run_sync_job(run_id: int) -> None:
    """Run one sync (initial, manual or reconcile) to the end, recording how it went."""
    run = db.session.get(SyncRun, run_id)
    if run is None or run.status != "running":
        logger.info("sync run %s is not running; nothing to do", run_id)
        return
    with log_context(sync_run=run_id):
        try:
            with sync_lock(run.workspace_id, run_id):
                counts = _run(run)
        except RunHeldElsewhere:
            logger.warning("sync run %s: another job is working on it; this one stops", run_id)
            return
        except RunEnded:
            db.session.rollback()
            logger.warning("sync run %s was ended elsewhere (taken as dead); job stops", run_id)
            return
        except SyncAlreadyRunning as error:
            fail_run(run, str(error))
            return
        except ShopifyAuthError as error:
            db.session.rollback()
            fail_run(run, error.reason)
            return
        except (ShopifyError, NotConnected) as error:
            db.session.rollback()
            fail_run(run, str(error))
            return
        except Exception as error:
            db.session.rollback()
            logger.exception("sync run %s crashed", run_id)
            fail_run(
                run,
                f"The sync stopped on an unexpected error ({type(error).__name__}). "
                "Start it again; rows already written are kept and updated.",
            )
            return
        finish_run(run, counts)


def _run(run: SyncRun) -> dict[str, int]:
    run_id = run.id

    def sleep(seconds: float) -> None:
        heartbeat(run_id)
        time.sleep(seconds)

    counts: dict[str, int] = {}
    with shopify_client(run.workspace_id, sleep=sleep) as client:
        if run.kind == "reconcile":
            since = reconcile_since(run.workspace_id)
            if since is None:
                return counts
            for category in plugin_manager(current_app).categories():
                counts[category.key] = reconcile_category(client, run, category, since)
            return {k: v for k, v in counts.items() if v or k in (run.progress or {})}

        for category in plugin_manager(current_app).categories():
            if not category.bulk:
                continue
            counts[category.key] = import_category(
                client, run, category, sweep=run.kind == "manual"
            )
    return counts
