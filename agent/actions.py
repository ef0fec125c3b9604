"""What the marketer can do with an agent's Segment: save it, tag everyone, draft a broadcast.

Each action validates the Segment exactly like a hand-made one before touching anything.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from agent.broadcasts import draft_broadcast
from agent.limits import check_definition_size, check_has_conditions, check_values
from lumo.friends.errors import LumoTagNameInvalid
from lumo.friends.lumo_tags import add_lumo_tag_to_friends, create_lumo_tag, find_lumo_tag
from lumo.segments import service
from lumo.segments.errors import SegmentValidationError
from lumo.segments.model import Segment
from lumo.segments.printer import format_segment

logger = logging.getLogger(__name__)

#: The lengths of the `segments.name` column and of a sane description.
MAX_SEGMENT_NAME = 200
MAX_DESCRIPTION = 2_000


def checked_segment(workspace_id: int, definition: Any, *, now: datetime | None = None) -> Segment:
    """Parse (text or JSON) and validate a Segment against the workspace's fields.

    An action touches every member, so a Segment without conditions (every friend), an
    oversized definition or an out-of-range number is refused before anything is counted.
    """
    check_definition_size(definition)
    try:
        segment, _ = service.prepare(workspace_id, definition, now=now)
    except RecursionError:
        raise SegmentValidationError("The Segment nests too deeply; simplify it.") from None
    check_has_conditions(segment)
    check_values(segment)
    return segment


def save_segment_action(
    workspace_id: int, definition: Any, name: str, *, description: str | None = None
) -> dict[str, Any]:
    """Save the Segment under a name (replacing one of the same name) with its count."""
    if len(name.strip()) > MAX_SEGMENT_NAME:
        raise SegmentValidationError(
            f"Segment names are at most {MAX_SEGMENT_NAME} characters; shorten this one."
        )
    if description is not None and (
        not isinstance(description, str) or len(description) > MAX_DESCRIPTION
    ):
        raise SegmentValidationError(
            f"The description must be text of at most {MAX_DESCRIPTION:,} characters."
        )
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
    segment = checked_segment(workspace_id, definition)
    try:
        tag = find_lumo_tag(workspace_id, tag_name) or create_lumo_tag(workspace_id, tag_name)
    except LumoTagNameInvalid as error:
        raise SegmentValidationError(str(error)) from error

    members = service.member_ids(workspace_id, segment)
    result = add_lumo_tag_to_friends(workspace_id, tag.id, members)
    return {
        "lumo_tag_id": tag.id,
        "lumo_tag": tag.name,
        "members": len(members),
        "added": result.changed,
    }


def draft_broadcast_action(
    workspace_id: int, definition: Any, language: str = "en"
) -> dict[str, Any]:
    segment = checked_segment(workspace_id, definition)
    return draft_broadcast(workspace_id, segment, "ja" if language == "ja" else "en")
