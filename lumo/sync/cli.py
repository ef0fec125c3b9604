"""`lumo sync`: start a re-sync, an initial sync or the catch-up pass from the shell."""

from __future__ import annotations

import logging
from datetime import timedelta

import click
from flask.cli import with_appcontext

from lumo.extensions import db
from lumo.models import SyncRun

logger = logging.getLogger(__name__)


@click.command("sync")
@click.option(
    "--workspace", "workspace_id", type=int, help="Workspace id (default: the only one)."
)
@click.option("--initial", "kind", flag_value="initial", help="Run the initial import.")
@click.option("--reconcile", "kind", flag_value="reconcile", help="Catch up on recent changes.")
@click.option("--resync", "kind", flag_value="manual", default=True, help="Re-sync (default).")
@click.option("--requeue", is_flag=True, help="Only re-queue webhook deliveries left waiting.")
@with_appcontext
def sync_command(workspace_id: int | None, kind: str, requeue: bool) -> None:
    """Start a sync of the workspace's store; the `sync` queue's worker runs it."""
    from lumo import jobs
    from lumo.sync.connection import NotConnected
    from lumo.sync.deliveries import requeue_received
    from lumo.sync.runs import SyncAlreadyRunning
    from lumo.sync.service import start_initial_sync, start_reconcile, start_resync
    from lumo.workspaces import WorkspaceNotFound, resolve_workspace

    if requeue:
        click.echo(f"{requeue_received(older_than=timedelta(0))} deliveries queued again.")
        return
    try:
        workspace = resolve_workspace(workspace_id)
        starters = {"initial": start_initial_sync, "manual": start_resync}
        run = starters[kind](workspace.id) if kind in starters else start_reconcile(workspace.id)
    except (WorkspaceNotFound, NotConnected, SyncAlreadyRunning) as error:
        raise click.ClickException(str(error)) from error
    if run is None:
        click.echo("Nothing to catch up: no successful sync yet, or the store is not connected.")
        return

    jobs.runner().wait_idle()
    finished = db.session.get(SyncRun, run.id)
    db.session.refresh(finished)
    assert finished is not None
    if finished.status == "running":
        click.echo(f"Sync run {finished.id} queued; a `lumo worker` will run it.")
    elif finished.status == "complete":
        click.echo(f"Sync run {finished.id} complete: {finished.counts}")
    else:
        raise click.ClickException(f"Sync run {finished.id} failed: {finished.error}")
