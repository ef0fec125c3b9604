"""Creating workspaces and finding the one a command acts on."""

from __future__ import annotations

import logging

from sqlalchemy import func, select

from lumo.extensions import db
from lumo.models import Workspace

logger = logging.getLogger(__name__)


class WorkspaceNotFound(LookupError):
    """The command did not say which workspace, and there is not exactly one."""


def create_workspace(
    name: str,
    *,
    timezone: str = "Asia/Tokyo",
    currency: str = "JPY",
    line_channel_secret: str | None = None,
    line_channel_access_token: str | None = None,
) -> Workspace:
    workspace = Workspace(
        name=name,
        timezone=timezone,
        currency=currency,
        line_channel_secret=line_channel_secret or None,
        line_channel_access_token=line_channel_access_token or None,
    )
    db.session.add(workspace)
    db.session.flush()
    logger.info("workspace %s created", workspace.id)
    return workspace


def resolve_workspace(workspace_id: int | None = None) -> Workspace:
    """The workspace with this id, or the only one there is when no id is given."""
    if workspace_id is not None:
        workspace = db.session.get(Workspace, workspace_id)
        if workspace is None:
            raise WorkspaceNotFound(f"There is no workspace {workspace_id}.")
        return workspace

    total = db.session.scalar(select(func.count()).select_from(Workspace)) or 0
    if total != 1:
        raise WorkspaceNotFound(
            "There are no workspaces yet; run `lumo init` first."
            if total == 0
            else f"There are {total} workspaces; pick one with --workspace ID."
        )
    return db.session.scalars(select(Workspace)).one()
