"""Fixtures: the Shopify stand-in on a free loopback port, a client for it, a webhook receiver."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from lumo.sandbox.serving import RunningServer, serve_wsgi
from lumo.sandbox.shopify_server import SandboxShop, ShopifySandbox, start_shopify_sandbox
from lumo.shopify.client import ShopifyClient

API_VERSION = "2025-10"
SECRET = "test-app-secret"
API_KEY = "test-app-key"


class FakeClock:
    """Time that moves only when the client sleeps: deterministic throttling, no real waits."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@dataclass
class Receiver:
    """Records raw webhook requests."""

    url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sandbox(clock: FakeClock) -> Iterator[ShopifySandbox]:
    running = start_shopify_sandbox(api_key=API_KEY, api_secret=SECRET, clock=clock)
    yield running
    running.stop()


@pytest.fixture
def shop(sandbox: ShopifySandbox) -> SandboxShop:
    return sandbox.add_generated_shop("demo-shop.myshopify.com", customers=40, seed=7)


@pytest.fixture
def make_client(sandbox: ShopifySandbox, shop: SandboxShop, clock: FakeClock):
    made: list[ShopifyClient] = []

    def build(**options: Any) -> ShopifyClient:
        token = options.pop("token", None) or shop.issue_token()
        client = ShopifyClient(
            shop.domain,
            token,
            api_version=API_VERSION,
            url_template=sandbox.shop_url_template,
            sleep=clock.sleep,
            **options,
        )
        made.append(client)
        return client

    yield build
    for client in made:
        client.close()


@pytest.fixture
def client(make_client) -> ShopifyClient:
    return make_client()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        headers = {
            key[5:].replace("_", "-").title(): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        with state.lock:
            state.requests.append({"body": body, "headers": headers})
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    server: RunningServer = serve_wsgi(app, name="webhook-receiver")
    state.url = server.url + "/webhooks/shopify"
    yield state
    server.stop()
