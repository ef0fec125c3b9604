"""Broadcast drafts grounded in the data, within LINE's limits."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select

from agent.broadcasts import draft_broadcast, suggest_broadcasts
from agent.eval.fixture_store import EVAL_NOW
from lumo.extensions import db
from lumo.line.messages import MAX_MESSAGES_PER_REQUEST, MAX_TEXT_LENGTH, utf16_length
from lumo.models import AbandonedCheckout
from lumo.segments.parser import parse_segment


def test_cart_reminder_names_the_most_abandoned_products(store: int) -> None:
    draft = draft_broadcast(store, parse_segment("abandoned_checkout_date IS SET"), now=EVAL_NOW)
    assert draft["kind"] == "cart_reminder"
    titles = Counter()
    for row in db.session.scalars(
        select(AbandonedCheckout).where(
            AbandonedCheckout.workspace_id == store, AbandonedCheckout.completed_at.is_(None)
        )
    ):
        titles.update(row.product_titles)
    top = draft["based_on"]["most_abandoned_products"]
    assert top and top[0] in draft["messages"][0]["text"]
    assert titles[top[0]] == max(titles.values()) or titles[top[0]] > 0


def test_frequent_buyers_get_new_products_in_their_favourite_types(store: int) -> None:
    segment = parse_segment("number_of_orders >= 2")
    draft = draft_broadcast(store, segment, "ja", now=EVAL_NOW)
    assert draft["kind"] == "new_in_favourites"
    assert draft["based_on"]["favourite_product_types"]
    for message in draft["messages"]:
        assert utf16_length(message["text"]) <= MAX_TEXT_LENGTH
    assert len(draft["messages"]) <= MAX_MESSAGES_PER_REQUEST


def test_suggestions_come_from_the_data(store: int) -> None:
    suggestions = suggest_broadcasts(store, now=EVAL_NOW)
    keys = {s["key"] for s in suggestions}
    assert keys and keys <= {
        "recent_abandoned_carts",
        "lapsed_vips",
        "new_unlinked_friends",
        "frequent_buyers",
    }
    reachable = [s["reachable"] for s in suggestions]
    assert reachable == sorted(reachable, reverse=True)
