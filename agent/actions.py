"""What the marketer can do with an agent's Segment: save it, tag everyone, draft a broadcast.

Each action validates the Segment exactly like a hand-made one before touching anything.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select

from agent.broadcasts import draft_broadcast
from lumo.extensions import db
from lumo.models import FriendLumoTag, LumoTag
from lumo.segments import service
from lumo.segments.errors import SegmentValidationError
from lumo.segments.model import Segment
from lumo.segments.printer import format_segment

logger = logging.getLogger(__name__)

MAX_LUMO_TAG = 100


def checked_segment(workspace_id: int, definition: Any, *, now: datetime | None = None) -> Segment:
    """Parse (text or JSON) and validate a Segment against the workspace's fields."""
    segment, _ = service.prepare(workspace_id, definition, now=now)
    return segment


def save_segment_action(
    workspace_id: int, definition: Any, name: str, *, description: str | None = None
) -> dict[str, Any]:
    segment = checked_segment(workspace_id, definition)
    row = service.save_segment(workspace_id, name, segment, description=description)
    return {
        "segment_id": row.id,
        "name": row.name,
        "count": row.last_count,
        "text": format_segment(segment),
    }


def add_lumo_tag_action(workspace_id: int, definition: Any, tag_name: str) -> dict[str, Any]:
    """Put the Lumo tag on every friend in the Segment (creating the tag if it is new)."""
    name = (tag_name or "").strip()
    if not name or len(name) > MAX_LUMO_TAG:
        raise SegmentValidationError(
            f"Give the Lumo tag a name of 1 to {MAX_LUMO_TAG} characters."
        )
    segment = checked_segment(workspace_id, definition)
    members = service.member_ids(workspace_id, segment)
    tag = db.session.scalar(
        select(LumoTag).where(
            LumoTag.workspace_id == workspace_id, LumoTag.name_key == name.lower()
        )
    )
    if tag is None:
        tag = LumoTag(workspace_id=workspace_id, name=name, name_key=name.lower())
        db.session.add(tag)
        db.session.flush()
    tagged = set(
        db.session.scalars(
            select(FriendLumoTag.friend_id).where(
                FriendLumoTag.workspace_id == workspace_id, FriendLumoTag.lumo_tag_id == tag.id
            )
        )
    )
    added = [friend for friend in members if friend not in tagged]
    db.session.add_all(
        FriendLumoTag(workspace_id=workspace_id, friend_id=friend, lumo_tag_id=tag.id)
        for friend in added
    )
    db.session.commit()
    logger.info(
        "lumo tag %s added to %d friends in workspace %s", tag.id, len(added), workspace_id
    )
    return {
        "lumo_tag_id": tag.id,
        "lumo_tag": tag.name,
        "members": len(members),
        "added": len(added),
    }


def draft_broadcast_action(
    workspace_id: int, definition: Any, language: str = "en"
) -> dict[str, Any]:
    segment = checked_segment(workspace_id, definition)
    return draft_broadcast(workspace_id, segment, "ja" if language == "ja" else "en")
