"""A friend's follow status as LINE reports it: follow, block (unfollow) and unblock.

LINE does not promise ordering, so each change carries the event's own time and an older event
never overrides a newer one. The friend-added date is the first follow Lumo saw and survives
blocking and unblocking.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from lumo.extensions import db
from lumo.models import LineFriend

logger = logging.getLogger(__name__)

FOLLOWING = "following"
BLOCKED = "blocked"


@dataclass(frozen=True)
class FollowChange:
    """What one follow or unfollow event did to a friend."""

    friend: LineFriend
    created: bool
    status_changed: bool


def find_friend(workspace_id: int, line_user_id: str) -> LineFriend | None:
    return db.session.scalar(
        select(LineFriend).where(
            LineFriend.workspace_id == workspace_id, LineFriend.line_user_id == line_user_id
        )
    )


def get_or_create_friend(
    workspace_id: int, line_user_id: str, *, status: str = FOLLOWING
) -> tuple[LineFriend, bool]:
    """The workspace's friend row for this LINE user, created (with `status`) when missing."""
    friend = find_friend(workspace_id, line_user_id)
    if friend is not None:
        return friend, False

    # Two jobs racing to create the same friend: the loser's flush fails on the unique index
    # and its event is applied again (see `events.apply_line_delivery`), finding this row.
    friend = LineFriend(workspace_id=workspace_id, line_user_id=line_user_id, follow_status=status)
    db.session.add(friend)
    db.session.flush()
    logger.info("friend %s created in workspace %s", friend.id, workspace_id)
    return friend, True


def record_follow(
    workspace_id: int, line_user_id: str, at: datetime, *, is_unblocked: bool
) -> FollowChange:
    """Apply a `follow` event: a new friend, or one who unblocked the account."""
    friend, created = get_or_create_friend(workspace_id, line_user_id)

    # The friend-added date is the earliest real first follow; an unblock is not one.
    if not is_unblocked and (friend.friend_added_at is None or at < friend.friend_added_at):
        friend.friend_added_at = at

    changed = False
    if friend.follow_status_at is None or at >= friend.follow_status_at:
        changed = friend.follow_status != FOLLOWING or created
        friend.follow_status = FOLLOWING
        friend.blocked_at = None
        friend.follow_status_at = at
    else:
        logger.info("friend %s: follow event older than the current status, kept", friend.id)
    db.session.flush()
    return FollowChange(friend, created, changed)


def record_unfollow(workspace_id: int, line_user_id: str, at: datetime) -> FollowChange:
    """Apply an `unfollow` event: the friend blocked the account."""
    friend, created = get_or_create_friend(workspace_id, line_user_id, status=BLOCKED)

    changed = False
    if friend.follow_status_at is None or at >= friend.follow_status_at:
        changed = friend.follow_status != BLOCKED or created
        friend.follow_status = BLOCKED
        friend.blocked_at = at
        friend.follow_status_at = at
    else:
        logger.info("friend %s: unfollow event older than the current status, kept", friend.id)
    db.session.flush()
    return FollowChange(friend, created, changed)
