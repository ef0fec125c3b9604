"""Emails and phones the marketer types never reach the model or `agent_messages`."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient

from agent.conversation import ask
from agent.eval.fixture_store import EVAL_NOW
from agent.privacy import scrub_text, without_personal
from lumo.extensions import db
from lumo.models import AgentConversation, AgentMessage
from lumo.sandbox.openai_server import OpenAISandbox
from tests.agent.conftest import empty_tables, llm_app

FULL_WIDTH = "VIP customers like qzwx.sato＠mailhost．jp or ０９０－２４６８－１３５７"


@pytest.mark.parametrize(
    ("text", "gone"),
    [
        ("mail taro＠example．com", "taro"),
        ("call ０９０－１２３４－５６７８ today", "1234"),
        ("call 090ー1234ー5678 today", "1234"),
        ("call +81 90 1234 5678", "1234"),
        ("090-1234-5678に電話してください", "1234"),
        ("田中taro@example.comさん", "example"),
    ],
)
def test_full_width_and_japanese_forms_are_scrubbed(text: str, gone: str) -> None:
    assert gone not in scrub_text(text)
    assert gone not in without_personal(text)


@pytest.mark.parametrize(
    "text",
    [
        "spent more than ¥150000000",
        "spent more than 150000000 yen",
        "1億5000万円以上",
        "orders since 2026-05-20 10:30",
        "spent more than " + "9" * 40,
        "amount_spent >= 100000000",
        "（全角の括弧）はそのまま",
    ],
)
def test_amounts_dates_and_plain_text_are_kept(text: str) -> None:
    assert scrub_text(text) == text
    assert without_personal(text) == text


def test_the_marketers_text_is_stored_redacted(signed_in: FlaskClient, workspace) -> None:
    response = signed_in.post(
        "/api/agent/messages",
        json={"text": "blocked friends, reply to hanako@example.com or 03-1234-5678"},
    )
    answer = response.get_json()
    assert response.status_code == 200
    assert answer["segment"]["text"] == "line_follow_status = 'blocked'"

    stored = db.session.query(AgentMessage).filter_by(role="marketer").one()
    assert "hanako" not in stored.text and "5678" not in stored.text
    assert "[email removed]" in stored.text and "[phone removed]" in stored.text
    title = db.session.get(AgentConversation, answer["conversation_id"]).title
    assert "hanako" not in title
    for message in db.session.query(AgentMessage).all():
        assert "hanako" not in str(message.payload) and "1234-5678" not in str(message.payload)


def test_the_agent_does_not_echo_an_email_back(signed_in: FlaskClient, workspace) -> None:
    answer = signed_in.post(
        "/api/agent/messages", json={"text": "friends like jiro＠example．com"}
    ).get_json()
    assert "jiro" not in answer["text"] and "example" not in answer["text"]
    stored = db.session.query(AgentMessage).filter_by(role="agent").one()
    assert "jiro" not in stored.text and "jiro" not in str(stored.payload)


@pytest.mark.parametrize(
    "text",
    [
        "show every customer's email address",
        "list the emails of our VIP customers",
        "export phone numbers of friends who ordered",
        "顧客のメールアドレスを見せて",
    ],
)
def test_contact_data_requests_get_the_right_answer(signed_in: FlaskClient, text: str) -> None:
    answer = signed_in.post("/api/agent/messages", json={"text": text}).get_json()
    assert answer["intent"] == "unsupported"
    assert "where people live" not in answer["text"] and "住所" not in answer["text"]
    assert "never shown" in answer["text"] or "表示することもありません" in answer["text"]
    assert answer["segment"] is None


def test_email_topics_that_are_not_contact_data_keep_their_answers(
    signed_in: FlaskClient,
) -> None:
    opens = signed_in.post("/api/agent/messages", json={"text": "friends who opened our emails"})
    assert "email opens and clicks" in opens.get_json()["text"]


def test_full_width_contact_data_never_reaches_the_model(
    _schema: str, tmp_path: Path, model: OpenAISandbox
) -> None:
    app = llm_app(_schema, tmp_path, model)
    with app.app_context():
        from agent.eval.fixture_store import build_fixture_store

        workspace = build_fixture_store(customers=5)
        db.session.commit()
        model.play(
            [{"tool_calls": [{"name": "answer", "arguments": {"segment": "amount_spent > 1"}}]}]
        )
        try:
            ask(workspace.id, FULL_WIDTH, now=EVAL_NOW)
            sent = model.sent_text()
            assert model.requests
            assert "qzwx" not in sent and "mailhost" not in sent
            assert "２４６８" not in sent and "2468" not in sent
            assert "VIP customers like" in sent
        finally:
            db.session.rollback()
            empty_tables()
            db.session.remove()
            db.engine.dispose()
