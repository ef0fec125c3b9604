"""Building, encoding, signing and posting webhook bodies the way the LINE Platform does."""

from __future__ import annotations

import copy
import json
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from lumo.line.signature import sign

logger = logging.getLogger(__name__)

WEBHOOK_TIMEOUT = httpx.Timeout(5.0, connect=2.0)
WEBHOOK_USER_AGENT = "LineBotWebhook/2.0"
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_webhook_event_id(now_ms: int | None = None) -> str:
    """A ULID (48-bit ms time + 80 random bits, Crockford base32), like `webhookEventId`."""
    millis = int(time.time() * 1000) if now_ms is None else now_ms
    value = (millis << 80) | secrets.randbits(80)
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def build_event(
    event_type: str,
    user_id: str | None,
    *,
    reply_token: str | None = None,
    extra: dict[str, Any] | None = None,
    timestamp_ms: int | None = None,
) -> dict[str, Any]:
    """One event object with the common fields; `user_id=None` leaves out `source`."""
    event: dict[str, Any] = {
        "type": event_type,
        "mode": "active",
        "timestamp": int(time.time() * 1000) if timestamp_ms is None else timestamp_ms,
    }
    if user_id is not None:
        event["source"] = {"type": "user", "userId": user_id}
    if reply_token is not None:
        event["replyToken"] = reply_token
    event["webhookEventId"] = new_webhook_event_id(event["timestamp"])
    event["deliveryContext"] = {"isRedelivery": False}
    event.update(extra or {})
    return event


def as_redelivery(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Copies of the events that differ only by `deliveryContext.isRedelivery: true`."""
    copies = copy.deepcopy(events)
    for event in copies:
        event["deliveryContext"] = {"isRedelivery": True}
    return copies


def encode_body(destination: str, events: list[dict[str, Any]]) -> bytes:
    """Compact UTF-8 JSON; characters outside the BMP (emoji) become uppercase \\uXXXX pairs.

    LINE sends emoji escaped like that, so a receiver that re-serialises the body before
    checking the signature fails here as it would in production.
    """
    text = json.dumps(
        {"destination": destination, "events": events}, ensure_ascii=False, separators=(",", ":")
    )
    out = []
    for char in text:
        code = ord(char)
        if code > 0xFFFF:
            code -= 0x10000
            out.append(f"\\u{0xD800 + (code >> 10):04X}\\u{0xDC00 + (code & 0x3FF):04X}")
        else:
            out.append(char)
    return "".join(out).encode("utf-8")


def check_webhook_url(url: str) -> str:
    """The stand-in only delivers to loopback addresses, so it never reaches another host."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or parts.hostname not in LOOPBACK_HOSTS:
        raise ValueError(
            f"The LINE stand-in delivers webhooks only to http(s)://127.0.0.1 or localhost, "
            f"not {url!r}; point it at Lumo's local /webhooks/line URL."
        )
    return url


@dataclass(frozen=True)
class WebhookDelivery:
    """One POST to the webhook URL and how the receiver answered (None: not reached)."""

    number: int
    url: str | None
    events: list[dict[str, Any]]
    body: bytes
    signature: str
    signature_valid: bool
    is_redelivery: bool
    status_code: int | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def event_ids(self) -> list[str]:
        return [e["webhookEventId"] for e in self.events]


def post_webhook(
    http: httpx.Client, url: str, body: bytes, signature: str
) -> tuple[int | None, str | None]:
    """POST one signed body; returns (status, error) and never raises for network failures."""
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "x-line-signature": signature,
        "User-Agent": WEBHOOK_USER_AGENT,
    }
    try:
        response = http.post(url, content=body, headers=headers, timeout=WEBHOOK_TIMEOUT)
    except httpx.TimeoutException:
        return None, "request_timeout"
    except httpx.TransportError as exc:
        return None, f"could_not_connect: {exc.__class__.__name__}"
    return response.status_code, None


def signature_for(channel_secret: str, body: bytes, *, wrong: bool) -> str:
    """The real signature, or one made with a different secret for the wrong-signature switch."""
    secret = channel_secret + "-not-the-channel-secret" if wrong else channel_secret
    return sign(secret, body)
