"""Conversations: context across turns, clarifying questions, storage and tenancy."""

from __future__ import annotations

import pytest

from agent.conversation import ConversationNotFound, ask
from agent.eval.fixture_store import EVAL_NOW, build_fixture_store
from lumo.extensions import db
from lumo.models import AgentMessage


def test_refinement_across_turns_and_shown_work(store: int) -> None:
    first = ask(store, "VIP customers who haven't ordered in 90 days", now=EVAL_NOW)
    conversation = first["conversation_id"]
    assert first["segment"]["text"] == "customer_tags CONTAINS 'VIP' AND last_order_date < -90d"
    assert first["segment"]["plain"].startswith("Friends with the Shopify customer tag 'VIP'")
    assert first["count"] == first["reachability"]["matched_friends"]
    assert first["assumptions"]
    assert {a["action"] for a in first["actions"]} == {
        "save-segment",
        "add-lumo-tag",
        "draft-broadcast",
    }
    assert all("display_name" in row for row in first["preview"])

    second = ask(store, "only the ones who follow us", conversation_id=conversation, now=EVAL_NOW)
    assert second["refined"]
    assert second["segment"]["text"].endswith("AND line_follow_status = 'following'")
    assert second["count"] <= first["count"]

    third = ask(store, "now exclude staff", conversation_id=conversation, now=EVAL_NOW)
    assert third["segment"]["text"].endswith("AND NOT customer_tags CONTAINS 'staff'")
    roles = [
        m.role
        for m in db.session.query(AgentMessage)
        .filter_by(conversation_id=conversation)
        .order_by(AgentMessage.id)
    ]
    assert roles == ["marketer", "agent"] * 3


def test_clarifying_question_then_answer(store: int) -> None:
    asked = ask(store, "friends tagged summer who follow us", now=EVAL_NOW)
    assert asked["segment"] is None
    assert "Which one" in asked["clarifying_question"]["question"]
    answered = ask(store, "the Lumo one", conversation_id=asked["conversation_id"], now=EVAL_NOW)
    assert answered["segment"]["text"] == (
        "lumo_tags CONTAINS 'summer' AND line_follow_status = 'following'"
    )


def test_japanese_answer_in_japanese(store: int) -> None:
    answer = ask(store, "カゴ落ちした友だち", now=EVAL_NOW)
    assert answer["language"] == "ja"
    assert answer["segment"]["plain"] == "カゴ落ちがある友だち"
    assert "人" in answer["text"]


def test_broadcast_requested_in_the_same_turn(store: int) -> None:
    answer = ask(store, "draft a broadcast for friends who abandoned their cart", now=EVAL_NOW)
    draft = answer["broadcast_draft"]
    assert draft["kind"] == "cart_reminder"
    assert 1 <= len(draft["messages"]) <= 5


def test_another_workspaces_conversation_is_not_found(store: int) -> None:
    first = ask(store, "blocked friends", now=EVAL_NOW)
    other = build_fixture_store("Other", customers=5)
    db.session.commit()
    with pytest.raises(ConversationNotFound):
        ask(other.id, "only VIP", conversation_id=first["conversation_id"], now=EVAL_NOW)


def test_suggestions_have_counts(store: int) -> None:
    answer = ask(store, "what should I send this week?", now=EVAL_NOW)
    assert answer["intent"] == "suggest"
    assert answer["suggestions"]
    for suggestion in answer["suggestions"]:
        assert suggestion["count"] >= suggestion["reachable"] >= 0
        assert suggestion["draft"]["messages"]
