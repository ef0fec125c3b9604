"""Using Segments: count, members, preview, reachability, saving, plugins and SQL hygiene."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, select

from lumo import hookimpl
from lumo.extensions import db
from lumo.models import LineFriend
from lumo.segments import service
from lumo.segments.builders import FRIEND, friend_column
from lumo.segments.compiler import compile_segment, make_context
from lumo.segments.errors import SegmentNameTaken, SegmentSyntaxError, SegmentValidationError
from lumo.segments.fields import FieldType, SegmentField, SegmentFieldRegistry
from lumo.segments.parser import parse_segment

from .conftest import NOW, W1, W2, Store


def test_count_and_members_agree_and_accept_every_form(in_app: Store) -> None:
    text = "customer_tags CONTAINS 'vip' OR lumo_tags CONTAINS 'vip'"
    segment = parse_segment(text)

    ids = service.member_ids(W1, text, now=NOW)

    assert service.count(W1, segment, now=NOW) == len(ids) == 4
    assert service.member_ids(W1, segment.to_json(), now=NOW) == ids == sorted(ids)
    assert service.member_ids(W1, text, limit=2, now=NOW) == ids[:2]


def test_one_statement_runs_the_segment_whatever_the_audience(in_app: Store) -> None:
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        service.member_ids(W1, "line_follow_status = 'following'", now=NOW)
    finally:
        event.remove(engine, "before_cursor_execute", record)

    on_friends = [s for s in statements if "line_friends" in s]
    assert len(on_friends) == 1


def test_values_are_bound_never_written_into_the_sql(in_app: Store) -> None:
    text = "customer_tags CONTAINS 'x\\'; DROP TABLE line_friends; --' OR lumo_tags CONTAINS 'y'"
    context = make_context(W1, in_app.registry, now=NOW)

    compiled = compile_segment(parse_segment(text), context).compile(db.engine)

    assert "DROP TABLE" not in str(compiled)
    assert "x'; drop table line_friends; --" in compiled.params.values()
    assert service.count(W1, text, now=NOW) == 0
    assert db.session.execute(select(LineFriend.id)).first() is not None


def test_whole_days_follow_the_workspace_time_zone(in_app: Store) -> None:
    # fumi became a friend on 2026-03-14 08:00 in Tokyo, which is 2026-03-13 in UTC.
    segment = parse_segment("line_friend_added_date = yesterday")

    def members(zone: str) -> set[str]:
        context = make_context(W1, in_app.registry, timezone=zone, now=NOW)
        return in_app.names(list(db.session.execute(compile_segment(segment, context)).scalars()))

    assert members("Asia/Tokyo") == {"fumi"}
    assert members("UTC") == set()
    assert in_app.names(service.member_ids(W1, segment, now=NOW)) == {"fumi"}


def test_preview_shows_the_fields_that_made_friends_match(in_app: Store) -> None:
    text = (
        "customer_tags CONTAINS 'vip' AND orders_placed MATCHES (date > -90d) "
        "AND line_follow_status = 'following' AND NOT lumo_tags CONTAINS 'nobody'"
    )

    rows = service.preview(W1, text, now=NOW)

    assert len(rows) == 1
    row = rows[0]
    assert row["friend_id"] == in_app.friends["aiko"]
    assert row["customer_shopify_id"] == 101
    assert row["line_follow_status"] == "following"
    assert set(row["fields"]["customer_tags"].split(", ")) == {"VIP", "O'Brien"}
    assert row["fields"]["orders_placed"] == 3
    assert row["fields"]["line_follow_status"] == "following"
    assert row["fields"]["lumo_tags"] == "早期購入者"


def test_preview_is_limited_and_in_id_order(in_app: Store) -> None:
    rows = service.preview(W1, "amount_spent >= 0", limit=2, now=NOW)

    assert [r["friend_id"] for r in rows] == [in_app.friends["aiko"], in_app.friends["ben"]]
    assert rows[0]["fields"] == {"amount_spent": 50000}


def test_reachability_walks_from_customers_to_friends_a_broadcast_reaches(
    in_app: Store,
) -> None:
    # customers tagged vip: 101 (aiko, following), 102 (ben, blocked), 107 (never linked)
    funnel = service.reachability(W1, "customer_tags CONTAINS 'vip'", now=NOW)

    assert funnel == {
        "matched_customers": 3,
        "linked_customers": 2,
        "following_customers": 1,
        "matched_friends": 2,
        "reachable_friends": 1,
    }


def test_reachability_of_friend_conditions_counts_customers_through_their_friend(
    in_app: Store,
) -> None:
    mixed = service.reachability(
        W1, "line_follow_status = 'following' AND number_of_orders >= 1", now=NOW
    )
    friends_only = service.reachability(W1, "lumo_tags CONTAINS 'vip'", now=NOW)

    assert mixed == {
        "matched_customers": 2,  # 101 via aiko and 105 via emi
        "linked_customers": 2,
        "following_customers": 2,
        "matched_friends": 2,
        "reachable_friends": 2,
    }
    assert friends_only["matched_customers"] == 0
    assert friends_only["matched_friends"] == 2
    assert friends_only["reachable_friends"] == 1  # chika follows, goro blocked


def test_saving_stores_the_json_form_and_the_count(in_app: Store) -> None:
    text = "orders_placed MATCHES (count >= 3, date > -90d)"

    saved = service.save_segment(W1, "Regulars", text, description="常連", now=NOW)
    with pytest.raises(SegmentNameTaken, match="already exists"):
        service.save_segment(W1, "Regulars", "number_of_orders >= 1", now=NOW)
    db.session.rollback()
    again = service.save_segment(
        W1, "Regulars", "number_of_orders >= 1", segment_id=saved.id, now=NOW
    )

    assert again.id == saved.id
    assert again.last_count == 3
    assert again.definition == parse_segment("number_of_orders >= 1").to_json()
    assert service.load_segment(W1, saved.id) == parse_segment("number_of_orders >= 1")
    with pytest.raises(LookupError):
        service.load_segment(W2, saved.id)
    db.session.delete(again)
    db.session.commit()


def test_errors_reach_the_caller_unchanged(in_app: Store) -> None:
    with pytest.raises(SegmentSyntaxError, match="at column 21"):
        service.count(W1, "number_of_orders >= ", now=NOW)
    with pytest.raises(SegmentValidationError, match="Did you mean 'customer_tags'"):
        service.count(W1, "customer_tag CONTAINS 'vip'", now=NOW)
    with pytest.raises(SegmentValidationError, match="Turn it on in Synced Data"):
        service.count(W2, "email_subscription_status = 'subscribed'", now=NOW)
    with pytest.raises(LookupError):
        service.count(999, "", now=NOW)


class LanguagePlugin:
    """A plugin outside Lumo that adds a field without touching the host."""

    @hookimpl
    def lumo_segment_fields(self) -> list[SegmentField]:
        return [
            SegmentField(
                name="line_language",
                type=FieldType.STRING,
                description="The language of the friend's LINE app.",
                build=friend_column("display_name", FieldType.STRING),
                synonyms=("language", "言語"),
                subject=FRIEND,
                example="line_language = 'ja'",
            )
        ]


def test_a_new_plugin_adds_a_field_through_the_hook(in_app: Store) -> None:
    from lumo.plugin_manager import build_plugin_manager

    pm = build_plugin_manager(entry_points=False)
    pm.register(LanguagePlugin(), name="language")
    registry = SegmentFieldRegistry.from_plugin_manager(pm)

    ids = service.member_ids(W1, "line_language IN ('Aiko', 'BEN')", now=NOW, registry=registry)

    assert registry.get("line_language").plugin == "language"  # type: ignore[union-attr]
    assert in_app.names(ids) == {"aiko", "ben"}


def test_two_plugins_declaring_one_field_is_an_error(in_app: Store) -> None:
    field = next(iter(in_app.registry))

    with pytest.raises(ValueError, match="both declare the Segment field"):
        SegmentFieldRegistry([field, field])
