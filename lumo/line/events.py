"""Typed webhook events parsed from a verified body; unknown types stay generic, never errors."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from lumo.line.errors import LineSignatureError, LineWebhookError
from lumo.line.signature import verify_signature

logger = logging.getLogger(__name__)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, kw_only=True)
class WebhookEvent:
    """Fields every event has; also the generic event for types Lumo does not model."""

    type: str
    webhook_event_id: str
    timestamp: datetime
    timestamp_ms: int
    is_redelivery: bool = False
    mode: str = "active"
    source_type: str | None = None
    user_id: str | None = None
    reply_token: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, kw_only=True)
class FollowEvent(WebhookEvent):
    """A new friend (`is_unblocked` False) or a friend who unblocked the account (True)."""

    is_unblocked: bool = False


@dataclass(frozen=True, kw_only=True)
class UnfollowEvent(WebhookEvent):
    """The friend blocked the account; there is no reply token."""


@dataclass(frozen=True, kw_only=True)
class AccountLinkEvent(WebhookEvent):
    """Outcome of the account-link dialog; a failed link has no `user_id` and no reply token."""

    result: str = "failed"
    nonce: str = ""

    @property
    def succeeded(self) -> bool:
        return self.result == "ok" and self.user_id is not None


@dataclass(frozen=True, kw_only=True)
class MessageEvent(WebhookEvent):
    """A message from a friend; `text` is set only for text messages."""

    message_id: str = ""
    message_type: str = ""
    text: str | None = None
    quote_token: str | None = None


@dataclass(frozen=True)
class WebhookPayload:
    """One webhook POST: the bot's user id and its events (possibly none: a "Verify" call)."""

    destination: str
    events: list[WebhookEvent]


def timestamp_to_datetime(milliseconds: int) -> datetime:
    """Turn LINE's millisecond UNIX time into an aware UTC datetime, exactly."""
    return _EPOCH + timedelta(milliseconds=milliseconds)


def read_webhook(channel_secret: str, raw_body: bytes, signature: str | None) -> WebhookPayload:
    """Verify the signature on the raw bytes, then parse; raises LineSignatureError first."""
    if not verify_signature(channel_secret, raw_body, signature):
        raise LineSignatureError(
            "The x-line-signature header is missing or does not match this body; check that "
            "the channel secret in Lumo's LINE settings is the channel's current one."
        )
    return parse_webhook_body(raw_body)


def parse_webhook_body(raw_body: bytes | str | Mapping[str, Any]) -> WebhookPayload:
    """Parse `{"destination", "events"}` into typed events, in the order given."""
    data: Any = raw_body
    if isinstance(raw_body, bytes | str):
        try:
            data = json.loads(raw_body)
        except ValueError as exc:
            raise LineWebhookError(f"The webhook body is not valid JSON: {exc}.") from exc
    if not isinstance(data, Mapping) or not isinstance(data.get("events"), list):
        raise LineWebhookError("The webhook body has no 'events' array.")

    events = [parse_event(item) for item in data["events"]]
    return WebhookPayload(destination=str(data.get("destination") or ""), events=events)


def parse_event(item: Any) -> WebhookEvent:
    """Parse one event object; type-specific fields that are missing get safe defaults."""
    if not isinstance(item, Mapping):
        raise LineWebhookError("A webhook event is not a JSON object.")
    event_type = item.get("type")
    event_id = item.get("webhookEventId")
    millis = item.get("timestamp")
    if not isinstance(event_type, str) or not isinstance(event_id, str):
        raise LineWebhookError("A webhook event lacks 'type' or 'webhookEventId'.")
    if not isinstance(millis, int) or isinstance(millis, bool):
        raise LineWebhookError(f"Webhook event {event_id} has no integer 'timestamp'.")

    source = _mapping(item.get("source"))
    context = item.get("deliveryContext")
    common: dict[str, Any] = {
        "type": event_type,
        "webhook_event_id": event_id,
        "timestamp": timestamp_to_datetime(millis),
        "timestamp_ms": millis,
        "is_redelivery": bool(isinstance(context, Mapping) and context.get("isRedelivery")),
        "mode": str(item.get("mode") or "active"),
        "source_type": source.get("type"),
        "user_id": source.get("userId"),
        "reply_token": item.get("replyToken"),
        "raw": item,
    }

    if event_type == "follow":
        follow = _mapping(item.get("follow"))
        return FollowEvent(**common, is_unblocked=bool(follow.get("isUnblocked")))
    if event_type == "unfollow":
        return UnfollowEvent(**common)
    if event_type == "accountLink":
        link = _mapping(item.get("link"))
        result = str(link.get("result") or "failed")
        return AccountLinkEvent(**common, result=result, nonce=str(link.get("nonce") or ""))
    if event_type == "message":
        message = _mapping(item.get("message"))
        message_type = str(message.get("type") or "")
        text = message.get("text") if message_type == "text" else None
        return MessageEvent(
            **common,
            message_id=str(message.get("id") or ""),
            message_type=message_type,
            text=text if isinstance(text, str) else None,
            quote_token=message.get("quoteToken"),
        )

    logger.debug("LINE webhook event %s: type %s kept as generic", event_id, event_type)
    return WebhookEvent(**common)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
