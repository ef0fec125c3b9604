"""Segment fields about the LINE friend itself: Lumo friend tags, follow status, linking."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, not_, select

from lumo import hookimpl
from lumo.models import CustomerFriendLink, FriendLumoTag, LumoTag
from lumo.segments.builders import FRIEND, friend_column, label_list
from lumo.segments.compiler import CompileContext, among
from lumo.segments.fields import FieldType, SegmentField
from lumo.segments.model import Condition, Op

FRIEND_TAGS = FriendLumoTag.__table__
LUMO_TAGS = LumoTag.__table__
LINKS = CustomerFriendLink.__table__


def _tagged_friends(context: CompileContext, key: str | None) -> Select[Any]:
    query = select(FRIEND_TAGS.c.friend_id).where(context.in_workspace(FRIEND_TAGS))
    if key is None:
        return query
    return query.join(LUMO_TAGS, LUMO_TAGS.c.id == FRIEND_TAGS.c.lumo_tag_id).where(
        context.in_workspace(LUMO_TAGS), LUMO_TAGS.c.name_key == key
    )


def _linked(context: CompileContext, condition: Condition) -> ColumnElement[bool]:
    wanted = condition.value if condition.op is Op.EQ else not condition.value
    linked = among(
        context.friends.c.id, select(LINKS.c.friend_id).where(context.in_workspace(LINKS))
    )
    return context.friend_where(linked if wanted else not_(linked))


def _lumo_tag_names(context: CompileContext, _: Any) -> Any:
    from sqlalchemy import func

    return (
        select(func.aggregate_strings(LUMO_TAGS.c.name, ", "))
        .select_from(FRIEND_TAGS.join(LUMO_TAGS, LUMO_TAGS.c.id == FRIEND_TAGS.c.lumo_tag_id))
        .where(
            context.in_workspace(FRIEND_TAGS),
            FRIEND_TAGS.c.friend_id == context.friends.c.id,
        )
        .scalar_subquery()
    )


FIELDS = [
    SegmentField(
        name="lumo_tags",
        type=FieldType.LIST,
        description="Lumo friend tags set on the friend in Lumo (not Shopify customer tags).",
        build=label_list(_tagged_friends, FRIEND),
        synonyms=("lumo tag", "friend tag", "タグ", "友だちタグ", "Lumoタグ"),
        subject=FRIEND,
        display=_lumo_tag_names,
        example="lumo_tags CONTAINS 'campaign-2026'",
    ),
    SegmentField(
        name="line_follow_status",
        type=FieldType.ENUM,
        description="Whether the friend follows the LINE account now or has blocked it.",
        build=friend_column("follow_status", FieldType.ENUM),
        synonyms=("following", "blocked", "follow status", "フォロー", "ブロック", "友だち状態"),
        operators=frozenset({Op.EQ, Op.NE}),
        values=("following", "blocked"),
        subject=FRIEND,
        display=lambda context, _: context.friends.c.follow_status,
        example="line_follow_status = 'following'",
    ),
    SegmentField(
        name="line_friend_added_date",
        type=FieldType.DATE,
        description="When the person first added the LINE account as a friend.",
        build=friend_column("friend_added_at", FieldType.DATE),
        synonyms=("friend added", "new friend", "友だち追加", "友だち追加日", "新規友だち"),
        subject=FRIEND,
        display=lambda context, _: context.friends.c.friend_added_at,
        example="line_friend_added_date > -30d",
    ),
    SegmentField(
        name="shopify_linked",
        type=FieldType.BOOLEAN,
        description="Whether the friend is linked to a Shopify customer (ID link).",
        build=_linked,
        synonyms=("linked", "member", "連携", "ID連携", "会員連携"),
        subject=FRIEND,
        example="shopify_linked = true",
    ),
]


@hookimpl
def lumo_segment_fields() -> list[SegmentField]:
    return list(FIELDS)
