"""Writes a linked friend's LINE follow status and friend-added date to the Shopify customer.

The metafields live in the app-reserved namespace `$app:line` (Shopify stores it as
`app--{app client id}--line`, reference shopify.md §6.2). Only Lumo can write there, so
neither the merchant nor another app with `write_customers` can overwrite the LINE status by
accident, and uninstalling the app cleans it up with the app. A plain namespace such as
`lumo_line` would be visible to everyone but writable by everyone too; a metafield definition
can still grant the merchant read access to the reserved one.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lumo import hookimpl
from lumo.extensions import db
from lumo.mapping import MetafieldValue
from lumo.models import LineFriend, Workspace

NAMESPACE = "$app:line"
FOLLOW_STATUS_KEY = "follow_status"
FRIEND_ADDED_KEY = "friend_added_date"
FOLLOW_STATUSES = frozenset({"following", "blocked"})


@hookimpl
def lumo_write_back(
    friend: LineFriend, customer_shopify_id: int, changed_at: datetime
) -> list[MetafieldValue]:
    """`follow_status` (following/blocked) and `friend_added_date` (workspace-local date)."""
    values = []
    if friend.follow_status in FOLLOW_STATUSES:
        values.append(
            MetafieldValue(
                NAMESPACE, FOLLOW_STATUS_KEY, "single_line_text_field", friend.follow_status
            )
        )
    if friend.friend_added_at is not None:
        local = friend.friend_added_at.astimezone(_workspace_zone(friend.workspace_id))
        day = local.date().isoformat()
        values.append(MetafieldValue(NAMESPACE, FRIEND_ADDED_KEY, "date", day))
    return values


def _workspace_zone(workspace_id: int) -> ZoneInfo:
    workspace = db.session.get(Workspace, workspace_id)
    try:
        return ZoneInfo(workspace.timezone if workspace is not None else "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")
