"""Turns after a clarifying question, wording of answers, titles and the preview table."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from agent.conversation import ask
from agent.eval.fixture_store import EVAL_NOW
from lumo.cli import main
from lumo.extensions import db
from lumo.friends.lumo_tags import add_lumo_tag_to_friends, create_lumo_tag
from lumo.models import AgentConversation
from lumo.models import LineFriend as Friend

VIP_QUESTION = "VIP customers who haven't ordered in 90 days"


@pytest.fixture
def vip_store(store: int) -> int:
    """The fixture store with a Lumo tag 'vip' too, so "VIP" needs a question back."""
    tag = create_lumo_tag(store, "vip")
    friends = list(db.session.scalars(select(Friend.id).where(Friend.workspace_id == store)))
    add_lumo_tag_to_friends(store, tag.id, friends[:1])
    db.session.commit()
    return store


def _question(store: int) -> dict:
    asked = ask(store, VIP_QUESTION, now=EVAL_NOW)
    assert asked["segment"] is None
    assert [o["reply"] for o in asked["clarifying_question"]["options"]] == [
        "Shopify customer tag 'VIP'",
        "Lumo friend tag 'vip'",
    ]
    return asked


def test_an_unrelated_message_is_a_new_request(vip_store: int) -> None:
    asked = _question(vip_store)
    assert "(on 1 friend)" in asked["clarifying_question"]["question"]
    cart = ask(
        vip_store, "カゴ落ちした友だち", conversation_id=asked["conversation_id"], now=EVAL_NOW
    )
    assert cart["segment"]["plain"] == "カゴ落ちがある友だち"
    assert "lumo_tags" not in cart["segment"]["text"]
    assert cart["text"].startswith("（先ほどの質問")


@pytest.mark.parametrize(
    ("reply", "field"),
    [
        ("1", "customer_tags"),
        ("２", "lumo_tags"),
        ("Shopify", "customer_tags"),
        ("ショップの方", "customer_tags"),
        ("Lumo タグ", "lumo_tags"),
        ("the Lumo one", "lumo_tags"),
        ("Lumo friend tag 'vip'", "lumo_tags"),
        ("shopify customer tag 'VIP'", "customer_tags"),
    ],
)
def test_a_reply_that_picks_an_option_answers_the_question(
    vip_store: int, reply: str, field: str
) -> None:
    asked = _question(vip_store)
    answered = ask(vip_store, reply, conversation_id=asked["conversation_id"], now=EVAL_NOW)
    assert answered["segment"]["text"].startswith(f"{field} CONTAINS ")
    assert answered["segment"]["text"].endswith("last_order_date < -90d")
    assert "earlier question" not in answered["text"]


@pytest.mark.parametrize("reply", ["friends who abandoned their cart", "3", "vip", "blocked"])
def test_other_replies_leave_the_question_open(vip_store: int, reply: str) -> None:
    asked = _question(vip_store)
    answer = ask(vip_store, reply, conversation_id=asked["conversation_id"], now=EVAL_NOW)
    assert "left my earlier question open" in answer["text"]


def test_one_friend_is_singular_and_japanese_actions_are_japanese(store: int) -> None:
    english = ask(store, "friends tagged campaign-2026 who blocked us", now=EVAL_NOW)
    count = english["count"]
    assert f" {count} friend{'s match' if count != 1 else ' matches'};" in english["text"]
    assert "1 friends" not in ask(store, "friends with customer id 1001", now=EVAL_NOW)["text"]
    japanese = ask(store, "カゴ落ちした友だち", now=EVAL_NOW)
    assert [a["label"] for a in japanese["actions"]][0] == "セグメントとして保存"


def test_friends_match_wording() -> None:
    from agent.conversation import friends_match

    assert friends_match(1) == "1 friend matches"
    assert friends_match(0) == "0 friends match"
    assert friends_match(1200) == "1,200 friends match"


def test_preview_table_has_labels_and_local_dates(store: int) -> None:
    answer = ask(store, VIP_QUESTION, now=EVAL_NOW)
    table = answer["preview_table"]
    labels = [c["label"] for c in table["columns"]]
    assert labels[:4] == ["Name", "LINE status", "Friend since", "Shopify customer ID"]
    assert "Last order" in labels
    assert "customer_shopify_id" not in labels and "display_name" not in labels
    for row in table["rows"]:
        assert all("T" not in value or not value[:4].isdigit() for value in row)
    first = answer["preview"][0]
    raw = first["line_friend_added_at"]
    assert table["rows"][0][2] == _tokyo_date(raw)


def _tokyo_date(iso: str) -> str:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime.fromisoformat(iso).astimezone(ZoneInfo("Asia/Tokyo")).date().isoformat()


def test_preview_table_dates_follow_the_workspace_zone() -> None:
    from agent.preview_table import preview_table

    rows = [{"display_name": "Aki", "line_friend_added_at": "2026-05-19T20:30:00+00:00"}]
    assert preview_table(rows, "Asia/Tokyo")["rows"] == [["Aki", "2026-05-20"]]
    assert preview_table(rows, "America/New_York", "ja") == {
        "columns": [
            {"key": "display_name", "label": "名前"},
            {"key": "line_friend_added_at", "label": "友だち追加日"},
        ],
        "rows": [["Aki", "2026-05-19"]],
    }


def test_each_conversation_is_titled_after_its_own_first_request(store: int) -> None:
    first = ask(store, "friends who abandoned their cart", now=EVAL_NOW)
    ask(store, "only the ones who follow us", conversation_id=first["conversation_id"])
    second = ask(store, VIP_QUESTION, now=EVAL_NOW)
    titles = {c.id: c.title for c in db.session.scalars(select(AgentConversation))}
    assert titles[first["conversation_id"]] == "friends who abandoned their cart"
    assert titles[second["conversation_id"]] == VIP_QUESTION


def test_cli_prints_options_and_answers_with_conversation(app: Flask, vip_store: int) -> None:
    runner = app.test_cli_runner()
    asked = runner.invoke(
        main, ["agent", "ask", "VIPs who stopped buying", "--workspace", str(vip_store)]
    )
    assert asked.exit_code == 0, asked.output
    assert "1. Shopify customer tag 'VIP'" in asked.output
    assert "2. Lumo friend tag 'vip'" in asked.output
    conversation = db.session.scalar(
        select(AgentConversation.id).order_by(AgentConversation.id.desc())
    )
    assert f'lumo agent ask "1" --conversation {conversation}' in asked.output
    answered = runner.invoke(
        main,
        ["agent", "ask", "1", "--conversation", str(conversation), "--workspace", str(vip_store)],
    )
    assert answered.exit_code == 0, answered.output
    assert "Segment: customer_tags CONTAINS 'VIP'" in answered.output
    missing = runner.invoke(
        main, ["agent", "ask", "1", "--conversation", "999999", "--workspace", str(vip_store)]
    )
    assert missing.exit_code != 0 and "no conversation 999999" in missing.output
