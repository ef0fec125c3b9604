"""The merchant's pages in a real browser: sign-in, Dashboard, Synced Data, friends, keyboard."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.sync_api import expect

from lumo.extensions import db
from lumo.models import Segment
from tests.browser.conftest import Live, screenshot, sign_in
from tests.web.factories import (
    connect_store,
    link_customer,
    make_friend,
    make_lumo_tag,
    make_message,
    make_order,
    make_run,
    tag_customer,
)

pytestmark = pytest.mark.browser


def _history(workspace_id: int) -> None:
    connect_store(workspace_id, shop_domain=f"shop-{workspace_id}.myshopify.com")
    for day, total in ((1, 800), (2, 812), (3, 830)):
        make_run(
            workspace_id,
            "initial" if day == 1 else "manual",
            "complete",
            counts={"customers": total, "orders": total * 2},
            started_at=datetime(2026, 3, day, 1, 0, tzinfo=UTC),
            finished_at=datetime(2026, 3, day, 1, 4, tzinfo=UTC),
        )
    make_run(
        workspace_id,
        "manual",
        "failed",
        error="Shopify revoked the access token. Reconnect the store from Setup.",
        started_at=datetime(2026, 3, 4, 1, 0, tzinfo=UTC),
        finished_at=datetime(2026, 3, 4, 1, 1, tzinfo=UTC),
    )
    db.session.commit()


def test_sign_in_and_see_the_dashboard(page: Any, seeded: Any) -> None:
    _history(seeded.id)

    sign_in(page, seeded)
    page.get_by_role("link", name="Dashboard").click()

    expect(page.get_by_role("heading", name="Integration Status")).to_be_visible()
    expect(page.get_by_text("is connected and syncing")).to_be_visible()
    expect(page.locator("svg.chart rect.bar")).to_have_count(3)
    expect(page.get_by_text("Re-sync failed")).to_be_visible()
    expect(page.get_by_text("Shopify revoked the access token.")).to_be_visible()
    screenshot(page, "dashboard")


def test_a_running_sync_shows_progress_and_finishes_on_its_own(page: Any, seeded: Any) -> None:
    connect_store(seeded.id, shop_domain=f"run-{seeded.id}.myshopify.com")
    run = make_run(
        seeded.id, "manual", "running", progress={"customers": {"done": 30, "total": 120}}
    )
    db.session.commit()
    sign_in(page, seeded)
    page.goto("/integrations/shopify/dashboard")

    bar = page.get_by_label("Customers")
    expect(bar).to_have_attribute("value", "30")
    expect(page.get_by_text("Re-syncing").first).to_be_visible()

    run.progress = {"customers": {"done": 90, "total": 120}}
    db.session.commit()
    expect(page.get_by_label("Customers")).to_have_attribute("value", "90")

    run.status, run.finished_at, run.counts = "complete", datetime.now(UTC), {"customers": 120}
    db.session.commit()
    expect(page.get_by_text("No sync is running.")).to_be_visible()
    expect(page.get_by_text("Sync complete").first).to_be_visible()


def test_turning_on_email_asks_for_confirmation(page: Any, seeded: Any) -> None:
    sign_in(page, seeded)
    page.get_by_role("link", name="Synced Data").click()
    row = page.locator('tr[data-property="customers.email"]')
    expect(row.get_by_text("Off", exact=True)).to_be_visible()
    screenshot(page, "synced-data", full_page=False)

    row.get_by_role("button", name="Turn on Customers Email address").click()
    expect(page.get_by_role("heading", name=re.compile("Turn on email address"))).to_be_visible()
    page.get_by_role("button", name="Yes, sync email address").click()

    expect(page.get_by_role("status").first).to_contain_text("Email address is on")
    row = page.locator('tr[data-property="customers.email"]')
    expect(row.get_by_text("On", exact=True)).to_be_visible()


def test_add_a_lumo_tag_from_the_chat(page: Any, seeded: Any) -> None:
    friend = make_friend(seeded.id, "Aiko Tanaka")
    link_customer(seeded.id, friend, 4242, display_name="Aiko Tanaka")
    tag_customer(seeded.id, 4242, "VIP")
    make_order(seeded.id, 90001, 4242, name="#1042")
    make_lumo_tag(seeded.id, friend, "spring-fair")
    make_message(seeded.id, friend, "in", "Is the linen shirt back in stock?")
    make_message(seeded.id, friend, "out", "Yes! Sizes S to L since Monday.")
    db.session.commit()
    sign_in(page, seeded)

    page.get_by_role("link", name="Friends").click()
    page.get_by_role("link", name="Aiko Tanaka", exact=True).click()
    expect(page.get_by_label("Shopify customer tags")).to_contain_text("VIP")
    screenshot(page, "friend")

    page.get_by_role("link", name="Open chat").click()
    page.get_by_label("Add a Lumo tag").fill("restock-waiting")
    page.get_by_role("button", name="Add tag").click()

    tags = page.locator("[data-lumo-tags]")
    expect(tags).to_contain_text("restock-waiting")
    expect(tags).to_contain_text("spring-fair")
    screenshot(page, "chat")
    page.get_by_role("button", name="Remove Lumo tag spring-fair").click()
    expect(page.locator("[data-lumo-tags]")).not_to_contain_text("spring-fair")


def test_the_menu_works_with_the_keyboard_alone(page: Any, seeded: Any) -> None:
    sign_in(page, seeded)

    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    names = []
    for _ in range(9):
        page.keyboard.press("Tab")
        names.append(page.evaluate("document.activeElement.textContent.trim()"))
    assert names[:9] == [
        "Lumo",
        "Home",
        "Friends",
        "Segments",
        "Marketing Agent",
        "Setup",
        "Dashboard",
        "Synced Data",
        "Sign out",
    ]
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"  # focus is visible

    page.keyboard.press("Shift+Tab")  # back to Synced Data
    page.keyboard.press("Enter")
    page.wait_for_url("**/integrations/shopify/synced-data")
    expect(page.get_by_role("heading", name="Synced Data", exact=True)).to_be_visible()


def test_pages_fit_a_phone_screen(chromium: Any, live: Live, seeded: Any) -> None:
    context = chromium.new_context(base_url=live.url, viewport={"width": 375, "height": 740})
    page = context.new_page()
    try:
        sign_in(page, seeded)
        for path in ("/integrations/shopify/dashboard", "/friends/", "/segments/new"):
            page.goto(path)
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{path} scrolls sideways on a phone"
    finally:
        context.close()


def test_ask_the_agent_and_save_the_segment(page: Any, seeded: Any) -> None:
    friend = make_friend(seeded.id, "Ben")
    make_lumo_tag(seeded.id, friend, "vip")
    db.session.commit()
    friend_id = friend.id
    answers: list[dict[str, Any]] = []

    def agent_api(route: Any) -> None:
        # The agent's JSON API belongs to the agent feature; the page only renders its answer.
        answers.append(route.request.post_data_json)
        route.fulfill(
            json={
                "conversation_id": 7,
                "text": "Here are your VIP friends.",
                "segment_text": "lumo_tags CONTAINS 'vip'",
                "count": 1,
                "preview": [{"friend_id": friend_id, "display_name": "Ben"}],
                "assumptions": ["VIP means the Lumo tag vip"],
                "actions": [{"label": "Draft a broadcast"}],
            }
        )

    page.route("**/api/agent/messages", agent_api)
    sign_in(page, seeded)
    page.get_by_role("link", name="Marketing Agent").click()
    page.get_by_label("Your request").fill("VIP friends")
    page.get_by_role("button", name="Ask").click()

    expect(page.locator("[data-agent-count]")).to_have_text("1 friend matches.")
    expect(page.get_by_text("VIP means the Lumo tag vip")).to_be_visible()
    assert answers == [{"text": "VIP friends"}]

    page.get_by_label("Your request").fill("only those following")
    page.get_by_role("button", name="Ask").click()
    expect(page.locator("[data-agent-count]")).to_have_count(2)
    assert answers[1] == {"text": "only those following", "conversation_id": 7}

    page.get_by_role("link", name="Save as Segment…").first.click()
    page.get_by_label("Name").fill("VIP friends")
    page.get_by_role("button", name="Save Segment").click()
    expect(page.get_by_role("status").first).to_contain_text("Segment “VIP friends” saved: 1")
    saved = db.session.scalar(db.select(Segment).where(Segment.workspace_id == seeded.id))
    assert saved is not None and saved.last_count == 1


def test_the_real_agent_answers_and_its_segment_is_saved(page: Any, seeded: Any) -> None:
    for name in ("Chie", "Daichi", "Emi"):
        make_friend(seeded.id, name)
    make_friend(seeded.id, "Fumi", follow_status="blocked")
    db.session.commit()
    sign_in(page, seeded)
    page.goto("/agent/")

    page.get_by_label("Your request").fill("friends who are following")
    page.get_by_role("button", name="Ask").click()

    expect(page.locator("[data-agent-segment]")).to_contain_text("line_follow_status")
    expect(page.locator("[data-agent-count]")).to_have_text("3 friends match.")
    screenshot(page, "agent-chat")
    page.get_by_role("link", name="Save as Segment…").click()
    page.get_by_label("Name").fill("Following")
    page.get_by_role("button", name="Save Segment").click()
    expect(page.get_by_role("status").first).to_contain_text("Segment “Following” saved: 3")
