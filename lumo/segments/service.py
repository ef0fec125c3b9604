"""Using a Segment in a workspace: count, members, preview, reachability and saving.

Every function takes the workspace id and a Segment as a `Segment`, its text form or its JSON
form; it validates the Segment against the fields the workspace may use, compiles it and runs
one SQL statement. Call them inside a Flask app context (they use `db.session`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from flask import current_app
from sqlalchemy import and_, case, func, select, true

from lumo.extensions import db
from lumo.models import PropertySetting, Workspace
from lumo.models import Segment as SavedSegment
from lumo.segments.compiler import (
    CompileContext,
    Subject,
    among,
    compile_predicate,
    compile_segment,
    count_statement,
    make_context,
)
from lumo.segments.errors import SegmentNameTaken, SegmentValidationError
from lumo.segments.fields import SegmentFieldRegistry
from lumo.segments.model import FunctionCondition, Segment, iter_conditions
from lumo.segments.parser import parse_segment
from lumo.segments.validation import validate_segment

logger = logging.getLogger(__name__)

SegmentLike = Segment | str | Mapping[str, Any]

_REGISTRY_KEY = "lumo.segment_fields"


def field_registry() -> SegmentFieldRegistry:
    """The Segment fields of the current app's plugins, collected once per app."""
    app = current_app
    registry = app.extensions.get(_REGISTRY_KEY)
    if registry is None:
        pm = app.extensions.get("lumo.plugins")
        if pm is None:
            from lumo.plugin_manager import build_plugin_manager

            pm = app.extensions["lumo.plugins"] = build_plugin_manager()
        registry = SegmentFieldRegistry.from_plugin_manager(pm)
        app.extensions[_REGISTRY_KEY] = registry
    return registry  # type: ignore[no-any-return]


def as_segment(definition: SegmentLike) -> Segment:
    """Accept a `Segment`, its text form or its JSON form."""
    if isinstance(definition, Segment):
        return definition
    if isinstance(definition, str):
        return parse_segment(definition)
    return Segment.from_json(dict(definition))


def enabled_properties(workspace_id: int) -> frozenset[tuple[str, str]]:
    """The (category, property key) pairs the merchant switched on in Synced Data."""
    rows = db.session.execute(
        select(PropertySetting.category, PropertySetting.property_key).where(
            PropertySetting.workspace_id == workspace_id, PropertySetting.enabled.is_(True)
        )
    )
    return frozenset((category, key) for category, key in rows)


def prepare(
    workspace_id: int,
    definition: SegmentLike,
    *,
    now: datetime | None = None,
    registry: SegmentFieldRegistry | None = None,
    subject: Subject = "friend",
) -> tuple[Segment, CompileContext]:
    """Parse, validate and set up the compile context for one use in a workspace."""
    workspace = db.session.get(Workspace, workspace_id)
    if workspace is None:
        raise LookupError(f"There is no workspace {workspace_id}.")
    segment = as_segment(definition)
    fields = registry or field_registry()
    validate_segment(segment, fields, enabled_properties(workspace_id))
    context = make_context(
        workspace_id, fields, timezone=workspace.timezone or "UTC", now=now, subject=subject
    )
    return segment, context


def count(
    workspace_id: int,
    definition: SegmentLike,
    *,
    now: datetime | None = None,
    registry: SegmentFieldRegistry | None = None,
) -> int:
    """How many friends of the workspace the Segment selects now."""
    segment, context = prepare(workspace_id, definition, now=now, registry=registry)
    started = time.perf_counter()
    total = int(db.session.execute(count_statement(segment, context)).scalar_one())
    logger.info(
        "segment count in workspace %s: %d friends in %.1f ms",
        workspace_id,
        total,
        (time.perf_counter() - started) * 1000,
    )
    return total


def member_ids(
    workspace_id: int,
    definition: SegmentLike,
    *,
    limit: int | None = None,
    now: datetime | None = None,
    registry: SegmentFieldRegistry | None = None,
) -> list[int]:
    """The ids (`line_friends.id`) of the friends the Segment selects, in id order."""
    segment, context = prepare(workspace_id, definition, now=now, registry=registry)
    statement = compile_segment(segment, context).order_by(context.friends.c.id)
    if limit is not None:
        statement = statement.limit(limit)
    ids = [int(friend_id) for friend_id in db.session.execute(statement).scalars()]
    logger.info("segment members in workspace %s: %d friends", workspace_id, len(ids))
    return ids


def preview(
    workspace_id: int,
    definition: SegmentLike,
    limit: int = 20,
    *,
    now: datetime | None = None,
    registry: SegmentFieldRegistry | None = None,
) -> list[dict[str, Any]]:
    """The first `limit` members with the values of the fields their conditions used."""
    segment, context = prepare(workspace_id, definition, now=now, registry=registry)
    friends, links = context.friends, context.links
    shown: dict[str, Any] = {}
    for condition in iter_conditions(segment.where):
        name = condition.function if isinstance(condition, FunctionCondition) else condition.field
        spec = context.registry.require(name)
        if spec.display is not None and name not in shown:
            shown[name] = spec.display(context, condition).label(f"field_{len(shown)}")
    customer_id = (
        select(links.c.customer_shopify_id)
        .where(context.in_workspace(links), links.c.friend_id == friends.c.id)
        .scalar_subquery()
    )
    statement = (
        select(
            friends.c.id,
            friends.c.display_name,
            friends.c.follow_status,
            friends.c.friend_added_at,
            customer_id.label("customer_shopify_id"),
            *shown.values(),
        )
        .where(context.in_workspace(friends), compile_predicate(segment.where, context))
        .order_by(friends.c.id)
        .limit(limit)
    )
    members = []
    for row in db.session.execute(statement):
        members.append(
            {
                "friend_id": row.id,
                "display_name": row.display_name,
                "line_follow_status": row.follow_status,
                "line_friend_added_at": _plain(row.friend_added_at),
                "customer_shopify_id": row.customer_shopify_id,
                "fields": {name: _plain(row[index + 5]) for index, name in enumerate(shown)},
            }
        )
    return members


def reachability(
    workspace_id: int,
    definition: SegmentLike,
    *,
    now: datetime | None = None,
    registry: SegmentFieldRegistry | None = None,
) -> dict[str, int]:
    """The funnel from matched Shopify customers to friends a broadcast reaches.

    `matched_customers` evaluates the Segment over Shopify customers (a friend condition holds
    for a customer whose linked friend meets it); `linked_customers` of those have a friend;
    `following_customers` of those follow now. `matched_friends` is the Segment's audience
    and `reachable_friends` the part of it that follows now, which a broadcast reaches.
    """
    segment, by_friend = prepare(workspace_id, definition, now=now, registry=registry)
    by_customer = make_context(
        workspace_id,
        by_friend.registry,
        timezone=by_friend.zone.key,
        now=by_friend.now,
        subject="customer",
    )
    friends, customers, links = by_friend.friends, by_friend.customers, by_friend.links
    following = friends.c.follow_status == "following"
    linked_ids = select(links.c.customer_shopify_id).where(by_friend.in_workspace(links))
    following_ids = (
        select(links.c.customer_shopify_id)
        .join(friends, friends.c.id == links.c.friend_id)
        .where(by_friend.in_workspace(links), following)
    )

    def tally(test: Any) -> Any:
        return func.coalesce(func.sum(case((test, 1), else_=0)), 0)

    customer_side = (
        select(
            func.count().label("matched"),
            tally(among(customers.c.shopify_id, linked_ids)).label("linked"),
            tally(among(customers.c.shopify_id, following_ids)).label("following"),
        )
        .where(
            by_customer.in_workspace(customers),
            compile_predicate(segment.where, by_customer),
        )
        .subquery()
    )
    friend_side = (
        select(func.count().label("matched"), tally(following).label("reachable"))
        .where(by_friend.in_workspace(friends), compile_predicate(segment.where, by_friend))
        .subquery()
    )
    row = db.session.execute(
        select(
            customer_side.c.matched,
            customer_side.c.linked,
            customer_side.c.following,
            friend_side.c.matched.label("friends"),
            friend_side.c.reachable,
        ).select_from(customer_side.join(friend_side, true()))
    ).one()
    funnel = {
        "matched_customers": int(row[0]),
        "linked_customers": int(row[1]),
        "following_customers": int(row[2]),
        "matched_friends": int(row[3]),
        "reachable_friends": int(row[4]),
    }
    logger.info("segment reachability in workspace %s: %s", workspace_id, funnel)
    return funnel


def save_segment(
    workspace_id: int,
    name: str,
    definition: SegmentLike,
    *,
    description: str | None = None,
    segment_id: int | None = None,
    now: datetime | None = None,
    registry: SegmentFieldRegistry | None = None,
    commit: bool = True,
) -> SavedSegment:
    """Save a new Segment, or the one `segment_id` names, with its current count.

    Names are unique per workspace: saving under a name another Segment has is refused rather
    than silently replacing that Segment.
    """
    name = name.strip()
    if not name:
        raise SegmentValidationError("Give the Segment a name before saving it.")
    segment = as_segment(definition)
    total = count(workspace_id, segment, now=now, registry=registry)

    same_name = db.session.execute(
        select(SavedSegment).where(
            SavedSegment.workspace_id == workspace_id, SavedSegment.name == name
        )
    ).scalar_one_or_none()
    if same_name is not None and same_name.id != segment_id:
        raise SegmentNameTaken(
            f"A Segment called “{name}” already exists. Pick another name, or open that "
            "Segment to change it."
        )
    row: SavedSegment | None
    if segment_id is None:
        row = SavedSegment(workspace_id=workspace_id, name=name, definition={})
        db.session.add(row)
    else:
        row = db.session.execute(
            select(SavedSegment).where(
                SavedSegment.workspace_id == workspace_id, SavedSegment.id == segment_id
            )
        ).scalar_one_or_none()
        if row is None:
            raise SegmentValidationError("That Segment no longer exists; save it as a new one.")
        row.name = name

    row.description = description
    row.definition = segment.to_json()
    row.last_count = total
    row.last_counted_at = now or datetime.now(UTC)
    if commit:
        db.session.commit()
    else:
        db.session.flush()
    logger.info("segment %s saved in workspace %s: %d friends", row.id, workspace_id, total)
    return row


def load_segment(workspace_id: int, segment_id: int) -> Segment:
    """The Segment of a saved row, only from its own workspace."""
    row = db.session.execute(
        select(SavedSegment).where(
            and_(SavedSegment.workspace_id == workspace_id, SavedSegment.id == segment_id)
        )
    ).scalar_one_or_none()
    if row is None:
        raise LookupError(f"There is no Segment {segment_id} in workspace {workspace_id}.")
    return Segment.from_json(row.definition)


def _plain(value: Any) -> Any:
    """A JSON-friendly copy of a database value."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value
