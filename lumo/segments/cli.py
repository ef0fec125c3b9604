"""`lumo segment count|members "TEXT FORM"`: use a Segment from the shell."""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from lumo.segments.errors import SegmentError


@click.group("segment")
def segment_command() -> None:
    """Count a Segment or list its members (the Segment text form, as on the Segments page)."""


def _workspace_id(workspace_id: int | None) -> int:
    from lumo.workspaces import WorkspaceNotFound, resolve_workspace

    try:
        return resolve_workspace(workspace_id).id
    except WorkspaceNotFound as error:
        raise click.ClickException(str(error)) from error


@segment_command.command("count")
@click.argument("text")
@click.option("--workspace", "workspace_id", type=int, help="Workspace id; default: the only one.")
@click.option("--json", "as_json", is_flag=True, help="Print the count and reachability as JSON.")
@with_appcontext
def count_command(text: str, workspace_id: int | None, as_json: bool) -> None:
    """How many friends TEXT selects, and how many a broadcast can reach."""
    from lumo.segments import service

    workspace = _workspace_id(workspace_id)
    try:
        total = service.count(workspace, text)
        reach = service.reachability(workspace, text)
    except SegmentError as error:
        raise click.ClickException(str(error)) from error

    if as_json:
        click.echo(json.dumps({"count": total, "reachability": reach}))
        return
    click.echo(f"{total} {'friend matches' if total == 1 else 'friends match'}.")
    for key, value in reach.items():
        click.echo(f"  {key.replace('_', ' '):22} {value}")


@segment_command.command("members")
@click.argument("text")
@click.option("--workspace", "workspace_id", type=int, help="Workspace id; default: the only one.")
@click.option("--limit", type=int, default=None, help="At most this many ids.")
@with_appcontext
def members_command(text: str, workspace_id: int | None, limit: int | None) -> None:
    """The friend ids TEXT selects, one per line."""
    from lumo.segments import service

    workspace = _workspace_id(workspace_id)
    try:
        ids = service.member_ids(workspace, text, limit=limit)
    except SegmentError as error:
        raise click.ClickException(str(error)) from error
    for friend_id in ids:
        click.echo(str(friend_id))
