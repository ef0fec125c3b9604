"""Connecting the Shopify stand-in from Setup, watching the initial sync, then a re-sync."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from lumo.extensions import db
from lumo.models import Customer, SyncRun
from tests.browser.conftest import Live, screenshot, sign_in

pytestmark = pytest.mark.browser


def test_connect_the_stand_in_store_sync_and_resync(page: Any, live: Live, seeded: Any) -> None:
    domain = f"browser-{seeded.id}.myshopify.com"
    live.sandbox.add_generated_shop(domain, customers=25, seed=5, materialize=True)
    sign_in(page, seeded)

    page.get_by_role("link", name="Setup").click()
    expect(page.get_by_text("Email addresses and phone numbers are off.")).to_be_visible()
    screenshot(page, "setup")
    page.get_by_label("Store address").fill(domain)
    page.get_by_role("button", name="Connect store").click()
    # The stand-in approves at once and sends the browser back to Lumo's OAuth callback,
    # which starts the initial sync.
    page.wait_for_url(f"{live.url}/**")
    page.goto("/integrations/shopify/dashboard")

    # "connected and syncing", or "connected, but webhooks are not all registered" where the
    # stand-in refuses a topic Lumo asks for.
    expect(page.get_by_text(f"{domain} is connected").first).to_be_visible(timeout=20_000)
    history = page.locator("table").filter(has_text="Initial sync")
    expect(history.get_by_text("Sync complete")).to_be_visible(timeout=30_000)
    db.session.expire_all()
    stored = db.session.scalar(
        select(func.count()).select_from(Customer).where(Customer.workspace_id == seeded.id)
    )
    assert stored == 25

    page.get_by_role("link", name="Re-sync data…").click()
    page.get_by_role("button", name="Yes, re-sync now").click()
    expect(page.locator("table").get_by_text("Re-sync", exact=True)).to_be_visible()
    expect(page.get_by_text("No sync is running.")).to_be_visible(timeout=30_000)
    runs = db.session.scalars(
        select(SyncRun.kind).where(SyncRun.workspace_id == seeded.id, SyncRun.status == "complete")
    ).all()
    assert {"initial", "manual"} <= set(runs)
