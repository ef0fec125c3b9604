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

#: Bounds of the fields Lumo stores or acts on; LINE's own values are far inside them
#: (user ids have 33 characters, event ids 26). Beyond them an event is malformed.
MAX_EVENT_ID = 128
MAX_TYPE = 64
MAX_USER_ID = 64
MAX_TOKEN = 255
MAX_MESSAGE_ID = 64
MAX_MESSAGE_TYPE = 20
MAX_TEXT = 10_000
#: An event nests a few levels (message → emojis → item); deeper is not LINE's shape.
MAX_EVENT_DEPTH = 16
#: Timestamps from 1970 up to 2100-01-01, in milliseconds.
MAX_TIMESTAMP_MS = 4_102_444_800_000


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
class RejectedEvent:
    """An event of a readable body that is not LINE's shape, kept so it can be inspected.

    `event_id` and `type` are the event's own when they are usable, else None; `raw` is the
    event as parsed.
    """

    index: int
    reason: str
    raw: Any = field(repr=False, compare=False)
    event_id: str | None = None
    type: str | None = None


@dataclass(frozen=True)
class WebhookPayload:
    """One webhook POST: the bot's user id and its events (possibly none: a "Verify" call).

    `rejected` holds the events that could not be read; the others are still good.
    """

    destination: str
    events: list[WebhookEvent]
    rejected: list[RejectedEvent] = field(default_factory=list)


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
        except RecursionError:
            raise LineWebhookError("The webhook body nests too deeply to be read.") from None
    if not isinstance(data, Mapping) or not isinstance(data.get("events"), list):
        raise LineWebhookError("The webhook body has no 'events' array.")

    events: list[WebhookEvent] = []
    rejected: list[RejectedEvent] = []
    for index, item in enumerate(data["events"]):
        try:
            events.append(parse_event(item))
        except LineWebhookError as error:
            rejected.append(_rejected(index, item, str(error)))
    destination = data.get("destination")
    return WebhookPayload(
        destination=destination[:MAX_USER_ID] if isinstance(destination, str) else "",
        events=events,
        rejected=rejected,
    )


def _rejected(index: int, item: Any, reason: str) -> RejectedEvent:
    usable = isinstance(item, Mapping)
    event_id = item.get("webhookEventId") if usable else None
    event_type = item.get("type") if usable else None
    return RejectedEvent(
        index=index,
        reason=reason,
        raw=item,
        event_id=event_id if _short_text(event_id, MAX_EVENT_ID) else None,
        type=event_type if _short_text(event_type, MAX_TYPE) else None,
    )


def parse_event(item: Any) -> WebhookEvent:
    """Parse one event object; type-specific fields that are missing get safe defaults."""
    if not isinstance(item, Mapping):
        raise LineWebhookError("A webhook event is not a JSON object.")
    event_type = item.get("type")
    event_id = item.get("webhookEventId")
    millis = item.get("timestamp")
    if not isinstance(event_type, str) or not isinstance(event_id, str):
        raise LineWebhookError("A webhook event lacks 'type' or 'webhookEventId'.")
    _check_text(event_id, "webhookEventId", MAX_EVENT_ID, required=True)
    _check_text(event_type, "type", MAX_TYPE, required=True)
    if not isinstance(millis, int) or isinstance(millis, bool):
        raise LineWebhookError("A webhook event has no integer 'timestamp'.")
    if not 0 <= millis <= MAX_TIMESTAMP_MS:
        raise LineWebhookError("A webhook event's 'timestamp' is outside 1970–2100.")
    if _depth(item) > MAX_EVENT_DEPTH:
        raise LineWebhookError(f"A webhook event nests more than {MAX_EVENT_DEPTH} levels deep.")

    source = _mapping(item.get("source"))
    context = item.get("deliveryContext")
    common: dict[str, Any] = {
        "type": event_type,
        "webhook_event_id": event_id,
        "timestamp": timestamp_to_datetime(millis),
        "timestamp_ms": millis,
        "is_redelivery": bool(isinstance(context, Mapping) and context.get("isRedelivery")),
        "mode": _check_text(item.get("mode"), "mode", MAX_TYPE) or "active",
        "source_type": _check_text(source.get("type"), "source.type", MAX_TYPE),
        "user_id": _check_text(source.get("userId"), "source.userId", MAX_USER_ID),
        "reply_token": _check_text(item.get("replyToken"), "replyToken", MAX_TOKEN),
        "raw": item,
    }

    if event_type == "follow":
        follow = _mapping(item.get("follow"))
        return FollowEvent(**common, is_unblocked=bool(follow.get("isUnblocked")))
    if event_type == "unfollow":
        return UnfollowEvent(**common)
    if event_type == "accountLink":
        link = _mapping(item.get("link"))
        result = _check_text(link.get("result"), "link.result", MAX_TYPE) or "failed"
        nonce = _check_text(link.get("nonce"), "link.nonce", MAX_TOKEN) or ""
        return AccountLinkEvent(**common, result=result, nonce=nonce)
    if event_type == "message":
        message = _mapping(item.get("message"))
        message_type = _check_text(message.get("type"), "message.type", MAX_MESSAGE_TYPE) or ""
        text = message.get("text") if message_type == "text" else None
        if isinstance(text, str):
            _check_text(text, "message.text", MAX_TEXT)
        return MessageEvent(
            **common,
            message_id=_check_text(message.get("id"), "message.id", MAX_MESSAGE_ID) or "",
            message_type=message_type,
            text=text if isinstance(text, str) else None,
            quote_token=_check_text(message.get("quoteToken"), "message.quoteToken", MAX_TOKEN),
        )

    logger.debug("LINE webhook event %s: type %s kept as generic", event_id, event_type)
    return WebhookEvent(**common)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _short_text(value: Any, limit: int) -> bool:
    return isinstance(value, str) and 0 < len(value) <= limit


def _check_text(value: Any, name: str, limit: int, *, required: bool = False) -> str | None:
    """The field's text, None when absent; a wrong type or length makes the event malformed."""
    if value is None and not required:
        return None
    if not _short_text(value, limit):
        raise LineWebhookError(
            f"A webhook event's '{name}' must be text of 1 to {limit} characters."
        )
    return str(value)


def _depth(value: Any) -> int:
    """How deeply objects and lists nest in the event (without recursion)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Mapping):
            children: list[Any] = list(item.values())
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if depth > MAX_EVENT_DEPTH:
            break
        stack.extend((child, depth + 1) for child in children)
    return deepest
