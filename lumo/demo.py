"""`lumo demo`: the main job on one machine, from an empty database to a served app."""

from __future__ import annotations

import logging

import click
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import select
from werkzeug.serving import make_server

from lumo.extensions import db
from lumo.models import Account
from lumo.web.auth import create_account
from lumo.workspaces import WorkspaceNotFound, create_workspace, resolve_workspace

logger = logging.getLogger(__name__)

DEMO_EMAIL = "demo@lumo.test"
DEMO_PASSWORD = "lumo-demo-2026"


def prepare_demo_workspace() -> int:
    """Create (once) the demo workspace and its sign-in; returns the workspace id."""
    upgrade()
    try:
        workspace = resolve_workspace()
    except WorkspaceNotFound:
        workspace = create_workspace("Demo shop", timezone="Asia/Tokyo", currency="JPY")
    if db.session.scalar(select(Account).where(Account.email == DEMO_EMAIL)) is None:
        create_account(workspace.id, DEMO_EMAIL, DEMO_PASSWORD)
    db.session.commit()
    return workspace.id


def run_demo(app: Flask, *, host: str, port: int, customers: int) -> int:
    """Prepare the demo and serve it until Ctrl-C; returns the process exit code."""
    workspace_id = prepare_demo_workspace()
    server = make_server(host, port, app, threaded=True)
    url = f"http://{host}:{server.server_port}/"

    click.echo("")
    click.echo(f"Lumo is running at {url}")
    click.echo(f"Sign in with {DEMO_EMAIL} / {DEMO_PASSWORD} (workspace {workspace_id}).")
    click.echo("Press Ctrl-C to stop.")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("\nStopping Lumo.")
    finally:
        server.server_close()
    return 0
