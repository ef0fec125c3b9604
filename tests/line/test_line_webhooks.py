"""Signed webhook delivery from the stand-in, its switches, and the account-link flow."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from lumo.line import (
    AccountLinkEvent,
    FollowEvent,
    LineClient,
    MessageEvent,
    UnfollowEvent,
    account_link_url,
    make_nonce,
    read_webhook,
    verify_signature,
)
from lumo.sandbox.line_server import LineSandbox, SandboxError
from lumo.sandbox.line_state import demo_friend_user_id

# The same secret the `line_sandbox` fixture signs with (LINE's published test-vector secret).
CHANNEL_SECRET = "8c570fa6dd201bb328f1c1eac23a96d8"

NEW_USER = "U" + "0123456789abcdef" * 2


@pytest.fixture
def wired(line_sandbox: LineSandbox, webhook_receiver: Any) -> LineSandbox:
    line_sandbox.set_webhook_url(webhook_receiver.url)
    return line_sandbox


def _read(receiver: Any, index: int = -1):  # type: ignore[no-untyped-def]
    item = receiver.received[index]
    return read_webhook(CHANNEL_SECRET, item.body, item.headers["x-line-signature"])


def test_follow_is_delivered_signed_with_the_real_shape(
    wired: LineSandbox, webhook_receiver: Any
) -> None:
    (delivery,) = wired.follow(NEW_USER, display_name="Emma Wilson", language="en")

    assert delivery.ok and delivery.status_code == 200
    item = webhook_receiver.received[0]
    assert item.headers["content-type"] == "application/json; charset=utf-8"
    assert item.headers["user-agent"] == "LineBotWebhook/2.0"
    assert verify_signature(CHANNEL_SECRET, item.body, item.headers["x-line-signature"])
    raw = json.loads(item.body)
    assert raw["destination"] == wired.bot_user_id
    (event,) = raw["events"]
    assert set(event) == {
        "type", "mode", "timestamp", "source", "replyToken", "webhookEventId",
        "deliveryContext", "follow",
    }  # fmt: skip
    assert len(event["webhookEventId"]) == 26
    assert event["follow"] == {"isUnblocked": False}

    (parsed,) = _read(webhook_receiver).events
    assert isinstance(parsed, FollowEvent) and parsed.user_id == NEW_USER
    assert wired.state.friend(NEW_USER).display_name == "Emma Wilson"  # type: ignore[union-attr]


def test_unfollow_then_follow_again_is_an_unblock(
    wired: LineSandbox, webhook_receiver: Any
) -> None:
    friend = demo_friend_user_id(1)

    wired.unfollow(friend)
    wired.follow(friend)

    unfollow, follow = (_read(webhook_receiver, i).events[0] for i in (0, 1))
    assert isinstance(unfollow, UnfollowEvent) and unfollow.reply_token is None
    assert isinstance(follow, FollowEvent) and follow.is_unblocked


def test_message_with_japanese_and_emoji_signed_over_raw_bytes(
    wired: LineSandbox, webhook_receiver: Any, line_client: LineClient
) -> None:
    friend = demo_friend_user_id(0)
    text = "在庫はありますか？ 🤨"

    wired.message(friend, text)

    item = webhook_receiver.received[0]
    assert "在庫".encode() in item.body and b"\\uD83E\\uDD28" in item.body
    reserialised = json.dumps(json.loads(item.body), ensure_ascii=False).encode()
    assert not verify_signature(CHANNEL_SECRET, reserialised, item.headers["x-line-signature"])
    (event,) = _read(webhook_receiver).events
    assert isinstance(event, MessageEvent) and event.text == text

    line_client.reply(event.reply_token or "", [{"type": "text", "text": "はい、あります"}])
    assert wired.sent_messages(friend, "reply")[0].texts == ["はい、あります"]


def test_redeliver_marks_copy_and_keeps_ids(wired: LineSandbox, webhook_receiver: Any) -> None:
    (first,) = wired.follow(NEW_USER)

    again = wired.redeliver(first.event_ids[0])

    original, copy = (json.loads(r.body)["events"][0] for r in webhook_receiver.received)
    assert again.is_redelivery and copy["deliveryContext"] == {"isRedelivery": True}
    for key in ("webhookEventId", "timestamp", "replyToken", "source", "follow"):
        assert copy[key] == original[key]
    assert _read(webhook_receiver).events[0].is_redelivery
    with pytest.raises(SandboxError):
        wired.redeliver("01UNKNOWNEVENT000000000000")


def test_redeliver_next_and_failed_deliveries(wired: LineSandbox, webhook_receiver: Any) -> None:
    wired.redeliver_next_webhooks()
    deliveries = wired.follow(NEW_USER)
    assert [d.is_redelivery for d in deliveries] == [False, True]

    webhook_receiver.statuses.append(500)
    (failed,) = wired.message(NEW_USER, "hello")
    assert not failed.ok and failed.status_code == 500

    (redelivered,) = wired.redeliver_failed()

    assert redelivered.ok and redelivered.event_ids == failed.event_ids
    assert redelivered.is_redelivery
    assert wired.redeliver_failed() == []


def test_deliver_twice_sends_identical_bytes(wired: LineSandbox, webhook_receiver: Any) -> None:
    wired.duplicate_next_webhooks()

    wired.follow(NEW_USER)

    first, second = webhook_receiver.received
    assert first.body == second.body
    assert first.headers["x-line-signature"] == second.headers["x-line-signature"]


def test_wrong_signature_switch(wired: LineSandbox, webhook_receiver: Any) -> None:
    wired.bad_signature_next_webhooks()

    (bad,) = wired.follow(NEW_USER)
    wired.message(NEW_USER, "hi")

    first, second = webhook_receiver.received
    assert not bad.signature_valid
    assert not verify_signature(CHANNEL_SECRET, first.body, first.headers["x-line-signature"])
    assert verify_signature(CHANNEL_SECRET, second.body, second.headers["x-line-signature"])


def test_account_link_flow_through_the_client(
    wired: LineSandbox, webhook_receiver: Any, line_client: LineClient
) -> None:
    friend = demo_friend_user_id(2)
    token = line_client.issue_link_token(friend)
    nonce = make_nonce()

    wired.account_link(friend, token, nonce)

    (event,) = _read(webhook_receiver).events
    assert isinstance(event, AccountLinkEvent) and event.succeeded
    assert event.nonce == nonce and event.user_id == friend and event.reply_token
    with pytest.raises(SandboxError):
        wired.account_link(friend, token, nonce)
    assert len(webhook_receiver.received) == 1


def test_account_link_by_another_user_fails_without_source(
    wired: LineSandbox, webhook_receiver: Any, line_client: LineClient
) -> None:
    token = line_client.issue_link_token(demo_friend_user_id(2))

    wired.account_link(demo_friend_user_id(3), token, make_nonce())

    (event,) = _read(webhook_receiver).events
    assert isinstance(event, AccountLinkEvent) and not event.succeeded
    assert event.user_id is None and event.reply_token is None
    assert "source" not in json.loads(webhook_receiver.received[0].body)["events"][0]


def test_expired_link_token_sends_nothing(
    wired: LineSandbox, webhook_receiver: Any, line_client: LineClient
) -> None:
    now = [1_000_000.0]
    wired.state.clock = lambda: now[0]
    token = line_client.issue_link_token(demo_friend_user_id(2))
    now[0] += 601

    with pytest.raises(SandboxError):
        wired.account_link(demo_friend_user_id(2), token, make_nonce())

    assert webhook_receiver.received == []


def test_link_dialog_over_http(
    wired: LineSandbox, webhook_receiver: Any, line_client: LineClient
) -> None:
    friend = demo_friend_user_id(4)
    nonce = make_nonce()
    url = account_link_url(line_client.issue_link_token(friend), nonce, origin=wired.url)

    page = httpx.get(url, timeout=5)
    reused = httpx.get(url, timeout=5)

    assert page.status_code == 200 and "linked" in page.text
    assert reused.status_code == 400
    (event,) = _read(webhook_receiver).events
    assert isinstance(event, AccountLinkEvent) and event.succeeded and event.nonce == nonce
    assert len(webhook_receiver.received) == 1

    other = account_link_url(line_client.issue_link_token(friend), nonce, origin=wired.url)
    assert httpx.get(other + "&as=other", timeout=5).status_code == 200
    assert not _read(webhook_receiver).events[0].succeeded  # type: ignore[attr-defined]


def test_receiver_may_call_back_into_the_stand_in(
    wired: LineSandbox, webhook_receiver: Any, line_client: LineClient
) -> None:
    names: list[str] = []

    def fetch_profile(item):  # type: ignore[no-untyped-def]
        payload = read_webhook(CHANNEL_SECRET, item.body, item.headers["x-line-signature"])
        names.append(line_client.get_profile(payload.events[0].user_id).display_name)

    webhook_receiver.on_request = fetch_profile

    wired.follow(NEW_USER, display_name="田中 健太")

    assert names == ["田中 健太"]


def test_admin_http_api_drives_events_and_lists_messages(
    wired: LineSandbox, webhook_receiver: Any, line_client: LineClient
) -> None:
    base = f"{wired.url}/_sandbox"

    follow = httpx.post(f"{base}/follow", json={"userId": NEW_USER}, timeout=5).json()
    httpx.post(f"{base}/faults", json={"webhook": "bad_signature"}, timeout=5)
    message = httpx.post(
        f"{base}/message", json={"userId": NEW_USER, "text": "こんにちは"}, timeout=5
    ).json()
    unknown = httpx.post(f"{base}/unfollow", json={"userId": "U" + "9" * 32}, timeout=5)
    line_client.push(NEW_USER, [{"type": "text", "text": "お知らせ"}])
    listed = httpx.get(f"{base}/messages", params={"userId": NEW_USER}, timeout=5).json()
    webhooks = httpx.get(f"{base}/webhooks", timeout=5).json()["webhooks"]

    assert follow["deliveries"][0]["events"][0]["type"] == "follow"
    assert message["deliveries"][0]["signatureValid"] is False
    assert unknown.status_code == 400
    assert [m["messages"][0]["text"] for m in listed["messages"]] == ["お知らせ"]
    assert [w["types"] for w in webhooks] == [["follow"], ["message"]]

    httpx.post(f"{base}/faults", json={"count": 1, "status": 500}, timeout=5)
    assert line_client.get_profile(NEW_USER).user_id == NEW_USER
    assert [r.status for r in wired.requests("/v2/bot/profile")] == [500, 200]


def test_webhooks_only_go_to_loopback(line_sandbox: LineSandbox) -> None:
    with pytest.raises(ValueError):
        line_sandbox.set_webhook_url("https://example.com/webhooks/line")

    (delivery,) = line_sandbox.follow(NEW_USER)
    assert delivery.status_code is None and delivery.error == "no webhook URL set"


def test_reset_forgets_everything_but_the_bot_id(
    wired: LineSandbox, line_client: LineClient
) -> None:
    bot_id = wired.bot_user_id
    wired.follow(NEW_USER)
    line_client.push(NEW_USER, [{"type": "text", "text": "x"}])

    httpx.post(f"{wired.url}/_sandbox/reset", json={"demoFriends": 2}, timeout=5)

    assert wired.bot_user_id == bot_id
    assert [f.user_id for f in wired.friends()] == [demo_friend_user_id(i) for i in range(2)]
    assert wired.sent_messages() == [] and wired.deliveries == []
    assert wired.webhook_url is None
