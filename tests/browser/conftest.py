"""Lumo served on loopback to headless Chromium (Playwright), next to the Shopify stand-in.

One app and one SQLite file per module; every test makes its own workspace and account, so
tests never see each other's data. Jobs run on in-process threads, as in the demo.
"""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from lumo.extensions import db
from lumo.sandbox.shopify_server import ShopifySandbox, start_shopify_sandbox
from tests.conftest import make_test_app

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
PASSWORD = "correct-horse"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def chromium_path() -> str:
    found = os.environ.get("LUMO_CHROMIUM") or shutil.which("chromium")
    if not found:
        pytest.skip("No Chromium found; install it or set LUMO_CHROMIUM to its path.")
    return found


@dataclass
class Live:
    app: Flask
    url: str
    sandbox: ShopifySandbox


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """The app on a fresh SQLite file, served by werkzeug on 127.0.0.1 with a free port."""
    from flask_migrate import upgrade

    folder = tmp_path_factory.mktemp("browser")
    sandbox = start_shopify_sandbox(api_key="browser-app", api_secret="browser-secret")
    app = make_test_app(
        f"sqlite:///{folder / 'lumo.sqlite3'}",
        folder,
        LUMO_JOBS_MODE="thread",
        SHOPIFY_API_KEY="browser-app",
        SHOPIFY_API_SECRET="browser-secret",
        SHOPIFY_SHOP_URL_TEMPLATE=sandbox.shop_url_template,
        LINE_API_BASE_URL="http://127.0.0.1:9",
        LINE_DATA_API_BASE_URL="http://127.0.0.1:9",
        LUMO_BULK_POLL_SECONDS=0.05,
    )
    with app.app_context():
        upgrade()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    app.config["LUMO_PUBLIC_URL"] = url
    thread = threading.Thread(target=server.serve_forever, name="lumo-browser", daemon=True)
    thread.start()
    try:
        yield Live(app, url, sandbox)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        app.extensions["lumo.jobs"].wait_idle()
        with app.app_context():
            db.engine.dispose()
        sandbox.stop()


@pytest.fixture
def seeded(live: Live) -> Iterator[Any]:
    """A fresh workspace with one account; yields (app context active) the workspace."""
    from lumo.web.auth import create_account
    from lumo.workspaces import create_workspace

    with live.app.app_context():
        workspace = create_workspace(f"Browser shop {uuid.uuid4().hex[:6]}")
        account = create_account(workspace.id, f"{uuid.uuid4().hex[:10]}@example.test", PASSWORD)
        workspace.account_email = account.email
        db.session.commit()
        yield workspace
        db.session.remove()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(chromium: Any, live: Live) -> Iterator[Any]:
    context = chromium.new_context(base_url=live.url, viewport={"width": 1280, "height": 860})
    context.set_default_timeout(10_000)
    opened = context.new_page()
    yield opened
    context.close()


def sign_in(page: Any, workspace: Any) -> None:
    page.goto("/sign-in")
    page.get_by_label("Email").fill(workspace.account_email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")


def screenshot(page: Any, name: str, *, full_page: bool = True) -> None:
    """Save a screenshot for the README, only when LUMO_SCREENSHOTS=1."""
    if os.environ.get("LUMO_SCREENSHOTS") != "1":
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)
