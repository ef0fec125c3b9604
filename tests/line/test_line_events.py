"""Webhook body parsing into typed events."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from lumo.line import (
    AccountLinkEvent,
    FollowEvent,
    LineSignatureError,
    LineWebhookError,
    MessageEvent,
    UnfollowEvent,
    WebhookEvent,
    parse_webhook_body,
    read_webhook,
    sign,
)

USER = "U0123456789abcdef0123456789abcdef"


def _event(event_type: str, **extra: object) -> dict[str, object]:
    event: dict[str, object] = {
        "type": event_type,
        "mode": "active",
        "timestamp": 1718000000123,
        "source": {"type": "user", "userId": USER},
        "webhookEventId": f"01J0ABCDEFGHJKMNPQRSTV{event_type[:4].upper():0<4}",
        "deliveryContext": {"isRedelivery": False},
    }
    event.update(extra)
    return event


def _body(*events: dict[str, object]) -> bytes:
    return json.dumps({"destination": "U" + "a" * 32, "events": list(events)}).encode()


def test_follow_new_friend_and_unblock() -> None:
    payload = parse_webhook_body(
        _body(
            _event("follow", replyToken="r1", follow={"isUnblocked": False}),
            _event("follow", replyToken="r2", follow={"isUnblocked": True}),
        )
    )
    new, unblocked = payload.events

    assert payload.destination == "U" + "a" * 32
    assert isinstance(new, FollowEvent) and not new.is_unblocked
    assert isinstance(unblocked, FollowEvent) and unblocked.is_unblocked
    assert new.user_id == USER and new.reply_token == "r1" and new.source_type == "user"
    assert new.timestamp == datetime(2024, 6, 10, 6, 13, 20, 123000, tzinfo=UTC)
    assert new.timestamp_ms == 1718000000123


def test_unfollow_has_no_reply_token() -> None:
    (event,) = parse_webhook_body(_body(_event("unfollow"))).events

    assert isinstance(event, UnfollowEvent)
    assert event.reply_token is None and event.user_id == USER


def test_account_link_ok_and_failed() -> None:
    ok = _event("accountLink", replyToken="r", link={"result": "ok", "nonce": "n" * 20})
    failed = _event("accountLink", link={"result": "failed", "nonce": "m" * 20})
    del failed["source"]
    linked, not_linked = parse_webhook_body(_body(ok, failed)).events

    assert isinstance(linked, AccountLinkEvent) and linked.succeeded
    assert linked.nonce == "n" * 20
    assert isinstance(not_linked, AccountLinkEvent) and not not_linked.succeeded
    assert not_linked.user_id is None and not_linked.result == "failed"


def test_text_and_sticker_messages() -> None:
    text = _event(
        "message",
        replyToken="r",
        message={
            "id": "461230966842064897",
            "type": "text",
            "text": "こんにちは 🤨",
            "quoteToken": "q",
        },
    )
    sticker = _event("message", message={"id": "2", "type": "sticker", "packageId": "1"})
    first, second = parse_webhook_body(_body(text, sticker)).events

    assert isinstance(first, MessageEvent)
    assert (first.message_id, first.message_type, first.text) == (
        "461230966842064897",
        "text",
        "こんにちは 🤨",
    )
    assert first.quote_token == "q"
    assert isinstance(second, MessageEvent) and second.text is None


def test_unknown_type_is_generic_and_redelivery_flag_read() -> None:
    event = _event("memberJoined", joined={"members": []})
    event["deliveryContext"] = {"isRedelivery": True}
    event["mode"] = "standby"
    (parsed,) = parse_webhook_body(_body(event)).events

    assert type(parsed) is WebhookEvent
    assert parsed.type == "memberJoined" and parsed.is_redelivery and parsed.mode == "standby"
    assert parsed.raw["joined"] == {"members": []}


def test_empty_verify_body_parses() -> None:
    assert parse_webhook_body(b'{"destination":"U1","events":[]}').events == []


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[]",
        b'{"destination":"U1"}',
        b'{"events": [' + b"[" * 100_000 + b"]" * 100_000 + b"]}",
    ],
)
def test_unreadable_bodies_raise(raw: bytes) -> None:
    with pytest.raises(LineWebhookError):
        parse_webhook_body(raw)


def _nested(levels: int) -> dict[str, object]:
    value: dict[str, object] = {"text": "deep"}
    for _ in range(levels):
        value = {"inner": value}
    return value


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ({"type": "follow"}, "webhookEventId"),
        (_event("follow", timestamp=10**30), "timestamp"),
        (_event("follow", timestamp=-1), "timestamp"),
        (_event("follow", webhookEventId="E" * 500), "webhookEventId"),
        (_event("follow", source={"type": "user", "userId": "U" * 201}), "userId"),
        (_event("follow", source={"type": "user", "userId": 12345}), "userId"),
        (_event("follow", type="f" * 200), "type"),
        (_event("message", message={"id": "1" * 65, "type": "text", "text": "x"}), "message.id"),
        (_event("message", message={"id": "1", "type": "t" * 21}), "message.type"),
        (_event("accountLink", link={"result": "ok", "nonce": "n" * 256}), "nonce"),
        (_event("message", message=_nested(30)), "nests"),
    ],
)
def test_malformed_events_are_rejected_one_by_one(event: dict[str, object], reason: str) -> None:
    good = _event("unfollow")
    payload = parse_webhook_body(_body(good, event))

    assert [parsed.type for parsed in payload.events] == ["unfollow"]
    (rejected,) = payload.rejected
    assert rejected.index == 1 and reason in rejected.reason
    assert rejected.raw == event
    long_id = len(str(event.get("webhookEventId", ""))) > 128
    assert rejected.event_id == (None if long_id else event.get("webhookEventId"))


def test_the_largest_sane_values_are_accepted() -> None:
    event = _event(
        "message",
        webhookEventId="E" * 128,
        source={"type": "user", "userId": "U" * 64},
        message={"id": "1" * 64, "type": "text", "text": "hello"},
    )
    (parsed,) = parse_webhook_body(_body(event)).events
    assert isinstance(parsed, MessageEvent) and parsed.user_id == "U" * 64


def test_read_webhook_checks_signature_before_parsing() -> None:
    raw = _body(_event("unfollow"))

    assert read_webhook("secret", raw, sign("secret", raw)).events[0].type == "unfollow"
    with pytest.raises(LineSignatureError):
        read_webhook("secret", b"not json", sign("other", b"not json"))
    with pytest.raises(LineSignatureError):
        read_webhook("secret", raw, None)
