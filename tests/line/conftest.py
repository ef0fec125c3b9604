"""Fixtures: the LINE stand-in, a client pointed at it, and a tiny webhook receiver."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from lumo.line import LineClient
from lumo.sandbox.line_server import LineSandbox, start_line_sandbox

CHANNEL_SECRET = "8c570fa6dd201bb328f1c1eac23a96d8"
ACCESS_TOKEN = "sandbox-channel-access-token"


@dataclass
class ReceivedWebhook:
    body: bytes
    headers: dict[str, str]


@dataclass
class WebhookReceiver:
    """Records every POST with its raw bytes; answers `statuses` in turn, then 200."""

    url: str = ""
    received: list[ReceivedWebhook] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    on_request: Callable[[ReceivedWebhook], None] | None = None

    def app(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        item = ReceivedWebhook(request.get_data(), {k.lower(): v for k, v in request.headers})
        self.received.append(item)
        if self.on_request is not None:
            self.on_request(item)
        status = self.statuses.pop(0) if self.statuses else 200
        return Response("", status=status)(environ, start_response)


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    server = make_server("127.0.0.1", 0, receiver.app, threaded=True)
    receiver.url = f"http://127.0.0.1:{server.port}/webhooks/line"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture(scope="module")
def line_sandbox_server() -> Iterator[LineSandbox]:
    sandbox = start_line_sandbox(channel_secret=CHANNEL_SECRET, channel_access_token=ACCESS_TOKEN)
    yield sandbox
    sandbox.stop()


@pytest.fixture
def line_sandbox(line_sandbox_server: LineSandbox) -> LineSandbox:
    """The module's stand-in, reset to eight demo friends and no webhook URL for each test."""
    line_sandbox_server.reset(demo_friends=8)
    return line_sandbox_server


@pytest.fixture
def sleeps() -> list[float]:
    """Backoff delays the client asked for; tests never really wait."""
    return []


@pytest.fixture
def line_client(line_sandbox: LineSandbox, sleeps: list[float]) -> Iterator[LineClient]:
    client = LineClient(
        ACCESS_TOKEN,
        api_base_url=line_sandbox.url,
        data_api_base_url=line_sandbox.url,
        timeout=5.0,
        max_retries=3,
        sleep=sleeps.append,
    )
    yield client
    client.close()
