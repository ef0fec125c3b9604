"""What the agent refuses: empty or oversized Segments, absurd numbers, bad conversation ids."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from agent.conversation import ask
from agent.eval.fixture_store import EVAL_NOW, build_fixture_store
from agent.limits import MAX_DEFINITION_CHARS, json_depth
from lumo.extensions import db
from lumo.models import FriendLumoTag, LineFriend, LumoTag, Segment
from lumo.sandbox.openai_server import OpenAISandbox
from tests.agent.conftest import empty_tables, llm_app

ACTIONS = ("save-segment", "add-lumo-tag", "draft-broadcast")


def _friends(workspace_id: int, count: int = 3) -> None:
    db.session.add_all(
        LineFriend(workspace_id=workspace_id, line_user_id=f"U{i:032x}", follow_status="following")
        for i in range(count)
    )
    db.session.commit()


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("segment", ["", "   \n\t", {"version": 1, "where": None}])
def test_actions_refuse_a_segment_without_conditions(
    signed_in: FlaskClient, workspace, action: str, segment: object
) -> None:
    _friends(workspace.id)
    response = signed_in.post(
        f"/api/agent/actions/{action}",
        json={"segment": segment, "tag": "everyone", "name": "All"},
    )
    assert response.status_code == 400
    assert "every friend" in response.get_json()["error"]
    assert db.session.query(FriendLumoTag).count() == 0
    assert db.session.query(LumoTag).count() == 0
    assert db.session.query(Segment).count() == 0


@pytest.mark.parametrize("action", ACTIONS)
def test_actions_refuse_an_oversized_segment(signed_in: FlaskClient, action: str) -> None:
    condition = "line_follow_status = 'following'"
    huge = " OR ".join([condition] * (MAX_DEFINITION_CHARS // len(condition) + 1))
    response = signed_in.post(
        f"/api/agent/actions/{action}", json={"segment": huge, "tag": "t", "name": "Huge"}
    )
    assert response.status_code == 400
    assert "10,000" in response.get_json()["error"]

    node: dict = {"field": "line_follow_status", "op": "=", "value": "blocked"}
    for _ in range(900):
        node = {"not": node}
    deep = signed_in.post(
        f"/api/agent/actions/{action}",
        json={"segment": {"version": 1, "where": node}, "tag": "t", "name": "Deep"},
    )
    assert deep.status_code == 400 and "nests" in deep.get_json()["error"]
    assert db.session.query(Segment).count() == 0


def test_actions_refuse_out_of_range_numbers(signed_in: FlaskClient) -> None:
    for segment in ("amount_spent > " + "9" * 30, "last_order_date > -99999999d"):
        response = signed_in.post("/api/agent/actions/draft-broadcast", json={"segment": segment})
        assert response.status_code == 400, segment
        error = response.get_json()["error"]
        assert "too large" in error or "100 years" in error


def test_save_segment_refuses_a_name_too_long(signed_in: FlaskClient) -> None:
    response = signed_in.post(
        "/api/agent/actions/save-segment",
        json={"segment": "line_follow_status = 'blocked'", "name": "n" * 201},
    )
    assert response.status_code == 400 and "200 characters" in response.get_json()["error"]


def test_deeply_nested_request_body_is_refused(signed_in: FlaskClient) -> None:
    body = '{"segment": ' + "[" * 5000 + "]" * 5000 + "}"
    response = signed_in.post(
        "/api/agent/actions/draft-broadcast", data=body, content_type="application/json"
    )
    assert response.status_code == 400


def test_json_depth_counts_without_recursion() -> None:
    assert json_depth({"a": [1, {"b": 2}]}) == 3
    value: list = []
    for _ in range(10_000):
        value = [value]
    assert json_depth(value) > 64


def test_an_every_friend_answer_offers_no_actions(signed_in: FlaskClient, workspace) -> None:
    answer = signed_in.post("/api/agent/messages", json={"text": "all friends"}).get_json()
    assert answer["segment"]["text"] == ""
    assert answer["actions"] == []


@pytest.mark.parametrize(
    "text",
    [
        "friends who spent more than " + "9" * 40,
        "friends who ordered in the last 99999999 days",
        "friends with more than 99999999999999999999 orders",
        "過去99999999日に購入した人",
    ],
)
def test_huge_numbers_get_a_clear_answer(signed_in: FlaskClient, workspace, text: str) -> None:
    build_fixture_store(customers=10)
    db.session.commit()
    response = signed_in.post("/api/agent/messages", json={"text": text})
    assert response.status_code == 200
    answer = response.get_json()
    assert answer["error"] and ("too large" in answer["error"] or "100 years" in answer["error"])
    assert answer["count"] is None and answer["actions"] == []


@pytest.mark.parametrize(
    "text", ["friends who ordered before 0000-01-01", "friends who ordered since 2026-13-45"]
)
def test_impossible_dates_are_not_a_crash(signed_in: FlaskClient, text: str) -> None:
    assert signed_in.post("/api/agent/messages", json={"text": text}).status_code == 200


@pytest.mark.parametrize("conversation_id", [10**30, -1, 0, True, "1", 2**31])
def test_conversation_id_is_validated(signed_in: FlaskClient, conversation_id: object) -> None:
    response = signed_in.post(
        "/api/agent/messages", json={"text": "blocked friends", "conversation_id": conversation_id}
    )
    assert response.status_code == 400
    assert "conversation_id" in response.get_json()["error"]


def test_the_models_huge_numbers_come_back_as_tool_errors(
    _schema: str, tmp_path: Path, model: OpenAISandbox
) -> None:
    huge = "amount_spent > " + "9" * 30
    model.play(
        [
            {"tool_calls": [{"name": "count_segment", "arguments": {"segment": huge}}]},
            {"tool_calls": [{"name": "answer", "arguments": {"segment": huge}}]},
            {"tool_calls": [{"name": "answer", "arguments": {"segment": "amount_spent > 1"}}]},
        ]
    )
    app = llm_app(_schema, tmp_path, model)
    with app.app_context():
        try:
            workspace = build_fixture_store(customers=5)
            db.session.commit()
            answer = ask(workspace.id, "big spenders", now=EVAL_NOW)
            assert answer["segment"]["text"] == "amount_spent > 1"
            errors = [
                json.loads(m["content"])
                for m in model.requests[-1]["messages"]
                if m["role"] == "tool"
            ]
            assert all("too large" in error["error"] for error in errors)
        finally:
            db.session.rollback()
            empty_tables()
            db.session.remove()
            db.engine.dispose()
