"""Lumo friend tags: labels the merchant puts on friends in Lumo.

Not to be confused with Shopify customer tags (set in Shopify, synced read-only) or Segments
(conditions evaluated when used). Names are trimmed, inner spaces collapsed, at most
`MAX_NAME_LENGTH` characters and unique per workspace ignoring case (`name_key` is the
lowercased name, the form the Segment language compares with).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError

from lumo.extensions import db
from lumo.friends.errors import (
    FriendNotFound,
    LumoTagNameInvalid,
    LumoTagNameTaken,
    LumoTagNotFound,
)
from lumo.models import FriendLumoTag, LineFriend, LumoTag

logger = logging.getLogger(__name__)

MAX_NAME_LENGTH = 100
CHUNK = 1000

#: Friends chosen for a bulk change: ids, a Segment (text or JSON), or a function giving ids.
FriendSelection = Sequence[int] | str | Mapping[str, Any] | Callable[[int], Iterable[int]]


@dataclass(frozen=True)
class BulkResult:
    """A bulk change: friends changed, friends that already were so, ids not in the workspace."""

    changed: int
    unchanged: int
    not_found: list[int]


def clean_name(name: str) -> tuple[str, str]:
    """(display name, name key) of a Lumo tag name, or `LumoTagNameInvalid`."""
    if not isinstance(name, str):
        raise LumoTagNameInvalid("A Lumo tag name must be text.")
    cleaned = " ".join(name.split())
    if not cleaned:
        raise LumoTagNameInvalid("Type a name for the Lumo tag.")
    if len(cleaned) > MAX_NAME_LENGTH:
        raise LumoTagNameInvalid(
            f"Lumo tag names are at most {MAX_NAME_LENGTH} characters; this one has "
            f"{len(cleaned)}. Shorten it."
        )
    return cleaned, cleaned.lower()


def list_lumo_tags(workspace_id: int) -> list[tuple[LumoTag, int]]:
    """Every Lumo tag of the workspace with how many friends carry it, by name."""
    counts = (
        select(FriendLumoTag.lumo_tag_id, func.count().label("friends"))
        .where(FriendLumoTag.workspace_id == workspace_id)
        .group_by(FriendLumoTag.lumo_tag_id)
        .subquery()
    )
    rows = db.session.execute(
        select(LumoTag, func.coalesce(counts.c.friends, 0))
        .outerjoin(counts, counts.c.lumo_tag_id == LumoTag.id)
        .where(LumoTag.workspace_id == workspace_id)
        .order_by(LumoTag.name_key)
    ).all()
    return [(tag, int(count)) for tag, count in rows]


def get_lumo_tag(workspace_id: int, lumo_tag_id: int) -> LumoTag:
    tag = db.session.get(LumoTag, lumo_tag_id)
    if tag is None or tag.workspace_id != workspace_id:
        raise LumoTagNotFound(lumo_tag_id)
    return tag


def find_lumo_tag(workspace_id: int, name: str) -> LumoTag | None:
    """The workspace's Lumo tag with this name, ignoring case and extra spaces."""
    _, key = clean_name(name)
    return db.session.scalar(
        select(LumoTag).where(LumoTag.workspace_id == workspace_id, LumoTag.name_key == key)
    )


def create_lumo_tag(workspace_id: int, name: str) -> LumoTag:
    """Create a Lumo tag; a name already used (any case) raises `LumoTagNameTaken`."""
    cleaned, key = clean_name(name)
    if find_lumo_tag(workspace_id, cleaned) is not None:
        raise LumoTagNameTaken(cleaned)
    tag = LumoTag(workspace_id=workspace_id, name=cleaned, name_key=key)
    db.session.add(tag)
    try:
        db.session.commit()
    except IntegrityError as error:
        db.session.rollback()
        raise LumoTagNameTaken(cleaned) from error
    logger.info("lumo tag %s created in workspace %s", tag.id, workspace_id)
    return tag


def rename_lumo_tag(workspace_id: int, lumo_tag_id: int, name: str) -> LumoTag:
    """Rename a Lumo tag (changing only the case of its name is allowed)."""
    tag = get_lumo_tag(workspace_id, lumo_tag_id)
    cleaned, key = clean_name(name)
    other = find_lumo_tag(workspace_id, cleaned)
    if other is not None and other.id != tag.id:
        raise LumoTagNameTaken(cleaned)
    tag.name, tag.name_key = cleaned, key
    try:
        db.session.commit()
    except IntegrityError as error:
        db.session.rollback()
        raise LumoTagNameTaken(cleaned) from error
    logger.info("lumo tag %s renamed in workspace %s", tag.id, workspace_id)
    return tag


def delete_lumo_tag(workspace_id: int, lumo_tag_id: int) -> int:
    """Delete a Lumo tag and take it off every friend; returns how many friends had it."""
    tag = get_lumo_tag(workspace_id, lumo_tag_id)
    result = db.session.execute(
        delete(FriendLumoTag).where(
            FriendLumoTag.workspace_id == workspace_id, FriendLumoTag.lumo_tag_id == tag.id
        )
    )
    db.session.delete(tag)
    db.session.commit()
    removed = int(getattr(result, "rowcount", 0) or 0)
    logger.info(
        "lumo tag %s deleted in workspace %s (%d friends)", lumo_tag_id, workspace_id, removed
    )
    return removed


def lumo_tags_of(workspace_id: int, friend_id: int) -> list[LumoTag]:
    """A friend's Lumo tags, by name."""
    _friend(workspace_id, friend_id)
    return list(
        db.session.scalars(
            select(LumoTag)
            .join(FriendLumoTag, FriendLumoTag.lumo_tag_id == LumoTag.id)
            .where(
                FriendLumoTag.workspace_id == workspace_id, FriendLumoTag.friend_id == friend_id
            )
            .order_by(LumoTag.name_key)
        )
    )


def add_lumo_tag(workspace_id: int, friend_id: int, lumo_tag: int | str) -> LumoTag:
    """Put a Lumo tag on one friend: by id, or by name (created the first time it is used)."""
    _friend(workspace_id, friend_id)
    tag = _resolve(workspace_id, lumo_tag, create=True)
    add_lumo_tag_to_friends(workspace_id, tag.id, [friend_id])
    return tag


def remove_lumo_tag(workspace_id: int, friend_id: int, lumo_tag: int | str) -> bool:
    """Take a Lumo tag off one friend; True when the friend had it."""
    _friend(workspace_id, friend_id)
    tag = _resolve(workspace_id, lumo_tag, create=False)
    return remove_lumo_tag_from_friends(workspace_id, tag.id, [friend_id]).changed == 1


def add_lumo_tag_to_friends(
    workspace_id: int, lumo_tag_id: int, friends: FriendSelection
) -> BulkResult:
    """Put a Lumo tag on many friends at once (ids, a Segment, or a function of the workspace)."""
    tag = get_lumo_tag(workspace_id, lumo_tag_id)
    wanted, not_found = _selected_friend_ids(workspace_id, friends)
    added = 0
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        have = set(
            db.session.scalars(
                select(FriendLumoTag.friend_id).where(
                    FriendLumoTag.lumo_tag_id == tag.id, FriendLumoTag.friend_id.in_(chunk)
                )
            )
        )
        rows = [
            {"workspace_id": workspace_id, "friend_id": friend_id, "lumo_tag_id": tag.id}
            for friend_id in chunk
            if friend_id not in have
        ]
        if rows:
            db.session.execute(insert(FriendLumoTag), rows)
            added += len(rows)
    db.session.commit()
    logger.info(
        "lumo tag %s added to %d friends in workspace %s (%d already had it)",
        tag.id,
        added,
        workspace_id,
        len(wanted) - added,
    )
    return BulkResult(added, len(wanted) - added, not_found)


def remove_lumo_tag_from_friends(
    workspace_id: int, lumo_tag_id: int, friends: FriendSelection
) -> BulkResult:
    """Take a Lumo tag off many friends at once."""
    tag = get_lumo_tag(workspace_id, lumo_tag_id)
    wanted, not_found = _selected_friend_ids(workspace_id, friends)
    removed = 0
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        result = db.session.execute(
            delete(FriendLumoTag).where(
                FriendLumoTag.workspace_id == workspace_id,
                FriendLumoTag.lumo_tag_id == tag.id,
                FriendLumoTag.friend_id.in_(chunk),
            )
        )
        removed += int(getattr(result, "rowcount", 0) or 0)
    db.session.commit()
    logger.info(
        "lumo tag %s removed from %d friends in workspace %s", tag.id, removed, workspace_id
    )
    return BulkResult(removed, len(wanted) - removed, not_found)


def segment_friend_ids(workspace_id: int, segment: str | Mapping[str, Any]) -> list[int]:
    """Friend ids a Segment selects now (text or JSON form), through the Segments engine."""
    from lumo.segments.service import member_ids

    return member_ids(workspace_id, segment)


# -- helpers ----------------------------------------------------------------------------------


def _friend(workspace_id: int, friend_id: int) -> LineFriend:
    friend = db.session.get(LineFriend, friend_id)
    if friend is None or friend.workspace_id != workspace_id:
        raise FriendNotFound(friend_id)
    return friend


def _resolve(workspace_id: int, lumo_tag: int | str, *, create: bool) -> LumoTag:
    if isinstance(lumo_tag, int):
        return get_lumo_tag(workspace_id, lumo_tag)
    found = find_lumo_tag(workspace_id, lumo_tag)
    if found is not None:
        return found
    if not create:
        raise LumoTagNotFound(lumo_tag)
    return create_lumo_tag(workspace_id, lumo_tag)


def _selected_friend_ids(
    workspace_id: int, friends: FriendSelection
) -> tuple[list[int], list[int]]:
    """(ids of the workspace's friends, asked-for ids that are not) in a stable order."""
    if isinstance(friends, str | Mapping):
        return sorted(set(segment_friend_ids(workspace_id, friends))), []
    asked = friends(workspace_id) if callable(friends) else friends
    unique = list(dict.fromkeys(int(friend_id) for friend_id in asked))
    found: set[int] = set()
    for start in range(0, len(unique), CHUNK):
        chunk = unique[start : start + CHUNK]
        found.update(
            db.session.scalars(
                select(LineFriend.id).where(
                    LineFriend.workspace_id == workspace_id, LineFriend.id.in_(chunk)
                )
            )
        )
    return [i for i in unique if i in found], [i for i in unique if i not in found]
