"""The agent chat in a browser: question options, reopened conversations, Japanese labels."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from agent.eval.fixture_store import build_fixture_store
from lumo.extensions import db
from lumo.web.auth import create_account
from tests.browser.conftest import PASSWORD, Live, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def store(live: Live) -> Iterator[Any]:
    """The agent's fixture store with a signed-up account."""
    with live.app.app_context():
        workspace = build_fixture_store(f"Agent shop {uuid.uuid4().hex[:6]}", customers=40)
        account = create_account(workspace.id, f"{uuid.uuid4().hex[:10]}@example.test", PASSWORD)
        workspace.account_email = account.email
        db.session.commit()
        yield workspace
        db.session.remove()


def test_options_answer_the_question_and_reopening_shows_the_work(page: Any, store: Any) -> None:
    sign_in(page, store)
    page.goto("/agent/")
    page.get_by_label("Your request").fill("friends tagged summer who follow us")
    page.get_by_role("button", name="Ask").click()

    options = page.get_by_role("group", name="Choose an answer", exact=False)
    expect(options.get_by_role("button")).to_have_count(2)
    lumo = options.get_by_role("button", name="Lumo friend tag 'summer'")
    lumo.focus()
    page.keyboard.press("Enter")
    expect(page.locator("[data-agent-segment]")).to_contain_text("lumo_tags CONTAINS 'summer'")
    expect(lumo).to_be_disabled()
    expect(page.locator(".message.out").last).to_have_text("Lumo friend tag 'summer'")

    # The preview scrolls inside its bubble: the bubble stays inside the conversation.
    preview = page.locator("[data-agent-preview]").last
    expect(preview.locator("th").first).to_have_text("Name")
    bubble = page.locator(".message.in").last.bounding_box()
    log = page.locator("[data-agent-log]").bounding_box()
    assert bubble["x"] + bubble["width"] <= log["x"] + log["width"] + 1

    page.goto(page.url.split("?")[0] + "?conversation=" + _conversation_id(page))
    expect(page.locator("[data-agent-segment]")).to_contain_text("lumo_tags CONTAINS 'summer'")
    expect(page.locator("[data-agent-count]")).to_have_count(1)
    expect(page.get_by_role("button", name="Draft a broadcast")).to_be_visible()
    expect(page.get_by_role("link", name="Save as Segment…")).to_be_visible()
    expect(page.get_by_role("button", name="Lumo friend tag 'summer'")).to_be_disabled()


def test_japanese_answers_have_japanese_labels(page: Any, store: Any) -> None:
    sign_in(page, store)
    page.goto("/agent/")
    page.get_by_label("Your request").fill("カゴ落ちした友だち")
    page.get_by_role("button", name="Ask").click()
    expect(page.locator("[data-agent-count]")).to_contain_text("人が該当します。")
    expect(page.get_by_role("link", name="セグメントとして保存…")).to_be_visible()
    expect(page.get_by_role("button", name="配信文を作成")).to_be_visible()


def _conversation_id(page: Any) -> str:
    return str(page.locator("[data-agent]").get_attribute("data-conversation-id"))
