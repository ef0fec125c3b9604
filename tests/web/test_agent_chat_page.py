"""The chat page: reopened conversations show each answer in full; bad ids are 404."""

from __future__ import annotations

import html
import json
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape

from agent.eval.fixture_store import build_fixture_store
from lumo.extensions import db
from lumo.web.auth import create_account


@pytest.fixture
def store_client(app: Flask, client: FlaskClient) -> FlaskClient:
    """Signed in to a workspace with customers, friends and orders."""
    workspace = build_fixture_store(customers=40)
    create_account(workspace.id, "chat@example.test", "correct-horse")
    db.session.commit()
    response = client.post(
        "/sign-in", data={"email": "chat@example.test", "password": "correct-horse"}
    )
    assert response.status_code == 302
    return client


def _ask(client: FlaskClient, text: str, conversation: int | None = None) -> dict:
    body: dict = {"text": text}
    if conversation is not None:
        body["conversation_id"] = conversation
    response = client.post("/api/agent/messages", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


@pytest.mark.parametrize("value", ["0", "-1", "2147483648", "9" * 30])
def test_out_of_range_conversation_is_404(store_client: FlaskClient, value: str) -> None:
    assert store_client.get(f"/agent/?conversation={value}").status_code == 404


def test_reopened_conversation_shows_each_answer(store_client: FlaskClient) -> None:
    first = _ask(store_client, "VIP customers who haven't ordered in 90 days")
    second = _ask(store_client, "カゴ落ちした友だち", first["conversation_id"])
    page = store_client.get(f"/agent/?conversation={first['conversation_id']}")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    # Each agent turn is drawn like a live answer: text form, plain words, count, preview.
    assert str(escape(first["segment"]["text"])) in body
    assert str(escape(first["segment"]["plain"])) in body
    assert f"{first['count']:,} friends match." in body or "1 friend matches." in body
    assert f"{second['count']:,}人が該当します。" in body
    assert '<th scope="col">Last order</th>' in body
    assert "customer_shopify_id</th>" not in body
    assert not re.search(r"<td>\d{4}-\d\d-\d\dT", body)
    # …and its stored payload is there for the script to add the action buttons.
    stored = [
        json.loads(html.unescape(match))
        for match in re.findall(
            r'<script type="application/json" data-agent-answer>(.*?)</script>', body, re.S
        )
    ]
    assert [a["text"] for a in stored] == [first["text"], second["text"]]
    assert stored[1]["actions"][0]["label"] == "セグメントとして保存"
    assert all("pending" not in answer for answer in stored)


def test_question_options_come_with_their_replies(store_client: FlaskClient) -> None:
    asked = _ask(store_client, "friends tagged summer who follow us")
    options = asked["clarifying_question"]["options"]
    assert [o["reply"] for o in options] == [o["label"] for o in options]
    answered = _ask(store_client, options[1]["reply"], asked["conversation_id"])
    assert answered["segment"]["text"].startswith("lumo_tags CONTAINS 'summer'")


def test_conversations_are_listed_under_their_own_titles(store_client: FlaskClient) -> None:
    first = _ask(store_client, "friends who abandoned their cart")
    _ask(store_client, "only the ones who follow us", first["conversation_id"])
    _ask(store_client, "blocked friends")
    body = store_client.get("/agent/").get_data(as_text=True)
    assert body.count(">friends who abandoned their cart</a>") == 1
    assert ">blocked friends</a>" in body
