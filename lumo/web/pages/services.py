"""The pages' calls into the sync engine and the friends feature, with their errors worded.

Pages never change synced data themselves: they call the owning feature's service function and
turn its specific errors into `ActionRefused`, whose message the page shows as it is.
"""

from __future__ import annotations

import logging

from lumo.categories import Category
from lumo.friends import lumo_tags, messages
from lumo.friends.errors import FriendsError
from lumo.line.errors import LineError
from lumo.models import LineFriend, LumoTag
from lumo.sync import properties, runs
from lumo.sync.connection import NotConnected
from lumo.sync.integration import remove_integration as _remove_integration

logger = logging.getLogger(__name__)


class ActionRefused(RuntimeError):
    """The action could not be carried out; the message says why and what to do."""


def start_sync(workspace_id: int, kind: str) -> int:
    """Start an initial or manual sync (a job); returns the sync run id."""
    try:
        run = runs.start_sync(workspace_id, kind=kind)
    except (runs.SyncAlreadyRunning, NotConnected) as error:
        raise ActionRefused(str(error)) from error
    logger.info(
        "sync run %s (%s) started from the pages of workspace %s", run.id, kind, workspace_id
    )
    return run.id


def set_property_enabled(workspace_id: int, category: Category, key: str, enabled: bool) -> None:
    """Turn one property on or off; turning it off deletes what was stored for it."""
    try:
        properties.set_property_enabled(workspace_id, category.key, key, enabled)
    except properties.PropertyChangeRefused as error:
        raise ActionRefused(str(error)) from error


def remove_integration(workspace_id: int) -> None:
    """Disconnect the store: webhooks removed, token forgotten, every link deleted."""
    _remove_integration(workspace_id)


def add_lumo_tag(workspace_id: int, friend_id: int, name: str) -> LumoTag:
    """Put the Lumo tag `name` on a friend, creating the tag the first time it is used."""
    cleaned = " ".join(name.split())
    if not cleaned:
        raise ActionRefused("Type a Lumo tag name first.")
    try:
        return lumo_tags.add_lumo_tag(workspace_id, friend_id, cleaned)
    except FriendsError as error:
        raise ActionRefused(str(error)) from error


def remove_lumo_tag(workspace_id: int, friend_id: int, lumo_tag_id: int) -> None:
    """Take a Lumo tag off a friend; the tag stays for other friends."""
    try:
        lumo_tags.remove_lumo_tag(workspace_id, friend_id, lumo_tag_id)
    except FriendsError as error:
        raise ActionRefused(str(error)) from error


def send_reply(workspace_id: int, friend: LineFriend, text: str) -> None:
    """Send a text message to a friend over LINE; it is stored for the chat view."""
    try:
        messages.send_text(workspace_id, friend.id, text)
    except (FriendsError, LineError, ValueError) as error:
        raise ActionRefused(f"The message was not sent: {error}") from error
