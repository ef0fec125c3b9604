"""The `lumo` console script: set up, run the demo, the worker and the stand-ins.

Built on Flask's CLI, so `lumo db upgrade` (Flask-Migrate), `lumo routes` and `lumo shell` come
with it. Commands that act on data take `--workspace` and default to the only workspace.
"""

from __future__ import annotations

import logging
import sys

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext
from flask_migrate import upgrade
from flask_migrate.cli import db as db_commands

from agent.cli import agent_command
from config import SETTINGS, SettingsError
from lumo.app import create_app, current_flask_app, plugin_manager
from lumo.extensions import db
from lumo.logs import configure_logging
from lumo.sandbox.cli import sandbox_command
from lumo.segments.cli import segment_command
from lumo.sync.cli import sync_command

logger = logging.getLogger(__name__)


def _make_app() -> object:
    try:
        return create_app()
    except SettingsError as error:
        raise click.ClickException(str(error)) from error


@click.group(cls=FlaskGroup, create_app=_make_app, add_version_option=False)
@click.option("-v", "--verbose", is_flag=True, help="Log what Lumo does (info level).")
def main(verbose: bool) -> None:
    """Lumo: LINE friends, a synced Shopify store and a Marketing Agent."""
    configure_logging(logging.INFO if verbose else logging.WARNING)


main.add_command(db_commands, "db")
main.add_command(sync_command)
main.add_command(agent_command, "agent")
main.add_command(segment_command)
main.add_command(sandbox_command)


@main.command("init")
@click.option("--workspace-name", default="My LINE shop", show_default=True)
@click.option("--email", help="Sign-in email of the first account.")
@click.option("--password", help="Its password (at least 8 characters).")
@click.option("--timezone", default="Asia/Tokyo", show_default=True)
@with_appcontext
def init_command(
    workspace_name: str, email: str | None, password: str | None, timezone: str
) -> None:
    """Bring the database to the current schema and create the first workspace."""
    from lumo.web.auth import create_account
    from lumo.workspaces import WorkspaceNotFound, create_workspace, resolve_workspace

    upgrade()
    try:
        workspace = resolve_workspace()
        click.echo(f"Workspace {workspace.id} already exists; database is up to date.")
    except WorkspaceNotFound:
        workspace = create_workspace(
            workspace_name,
            timezone=timezone,
            line_channel_secret=current_app.config["LINE_CHANNEL_SECRET"],
            line_channel_access_token=current_app.config["LINE_CHANNEL_ACCESS_TOKEN"],
        )
        click.echo(f"Created workspace {workspace.id} ({workspace_name}).")
    if email and password:
        try:
            create_account(workspace.id, email, password)
        except ValueError as error:
            raise click.ClickException(str(error)) from error
        click.echo(f"Created the account {email}.")
    db.session.commit()


@main.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@with_appcontext
def worker_command(burst: bool) -> None:
    """Run an RQ worker on the webhooks, writebacks and sync queues (in that order)."""
    from rq import Worker

    from lumo import jobs

    runner = jobs.runner()
    if not runner.uses_redis:
        raise click.ClickException(
            "Redis is not reachable at REDIS_URL, so there is no queue to work on; jobs run "
            "inside the web process instead. Start Redis to use separate workers."
        )
    logging.getLogger().setLevel(logging.INFO)
    jobs.set_worker_app(current_flask_app())
    from lumo.sync.schedule import start_scheduler

    start_scheduler(current_flask_app())
    queues = [runner.queue(name) for name in jobs.QUEUES]
    Worker(queues, connection=runner.redis).work(burst=burst, with_scheduler=False)


@main.command("settings")
@with_appcontext
def settings_command() -> None:
    """List every setting with the value in effect (secrets hidden) and what it is for."""
    for setting in SETTINGS:
        value = current_app.config.get(setting.name, setting.default)
        shown = _shown_value(setting.name, value)
        click.echo(f"{setting.name}={shown}")
        click.echo(f"    {setting.help} (default: {setting.default or 'empty'})")


def _shown_value(name: str, value: object) -> str:
    secret = any(word in name for word in ("SECRET", "KEY", "TOKEN", "PASSWORD"))
    if secret and value:
        return "(set, hidden)"
    return str(value) if value not in ("", None) else "(empty)"


@main.command("plugins")
@with_appcontext
def plugins_command() -> None:
    """List loaded plugins, the categories they declare and any that failed to load."""
    pm = plugin_manager(current_app)
    for name, _plugin in sorted(pm.list_name_plugin()):
        click.echo(f"plugin   {name}")
    for category in pm.categories():
        click.echo(f"category {category.key:22} from {category.plugin}")
    for failure in pm.failures:
        click.echo(f"FAILED   {failure.name}: {failure.reason}", err=True)


@main.command("demo")
@click.option("--port", default=5000, show_default=True, help="Port of the web app.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--customers", default=300, show_default=True, help="Size of the demo store.")
@click.option("--no-serve", is_flag=True, help="Stop after the setup instead of serving.")
@with_appcontext
def demo_command(port: int, host: str, customers: int, no_serve: bool) -> None:
    """Connect a demo store, sync it, add LINE friends, and serve Lumo with its agent."""
    from lumo.demo import DemoOptions, run_demo

    options = DemoOptions(host=host, port=port, customers=customers, serve=not no_serve)
    sys.exit(run_demo(current_flask_app(), options))
