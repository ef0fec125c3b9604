"""LINE webhook intake: signatures, deliveries, follow/unfollow/message, repeats applied once."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
from friends_support import CHANNEL_SECRET, World
from sqlalchemy import func, select

from lumo.extensions import db
from lumo.line import sign
from lumo.models import LineFriend, LineMessage, WebhookDelivery


def count(model: type) -> int:
    return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def friend_of(world: World, user_id: str) -> LineFriend:
    world.refresh()
    friend = db.session.scalar(select(LineFriend).where(LineFriend.line_user_id == user_id))
    assert friend is not None
    return friend


def post_events(world: World, events: list[dict], secret: str = CHANNEL_SECRET) -> httpx.Response:
    body = json.dumps({"destination": world.line.bot_user_id, "events": events}).encode()
    headers = {"x-line-signature": sign(secret, body), "Content-Type": "application/json"}
    return httpx.post(world.webhook_url, content=body, headers=headers, timeout=10)


def event(kind: str, user_id: str, event_id: str, at: datetime, **extra: object) -> dict:
    return {
        "type": kind,
        "mode": "active",
        "timestamp": int(at.timestamp() * 1000),
        "source": {"type": "user", "userId": user_id},
        "webhookEventId": event_id,
        "deliveryContext": {"isRedelivery": False},
        **extra,
    }


def test_a_follow_creates_a_friend_with_the_profile_from_line(world: World) -> None:
    [delivery] = world.line.follow(display_name="Aoi Tanaka", language="ja")
    assert delivery.status_code == 200

    user_id = delivery.events[0]["source"]["userId"]
    friend = friend_of(world, user_id)
    assert friend.workspace_id == world.workspace_id
    assert friend.follow_status == "following"
    assert friend.display_name == "Aoi Tanaka"
    assert friend.language == "ja"
    assert friend.picture_url and friend.picture_url.startswith(world.line.url)
    added_ms = delivery.events[0]["timestamp"]
    assert friend.friend_added_at == datetime.fromtimestamp(added_ms / 1000, UTC)

    stored = db.session.scalars(select(WebhookDelivery)).one()
    assert (stored.source, stored.topic, stored.status) == ("line", "follow", "applied")
    assert stored.event_id == delivery.events[0]["webhookEventId"]
    assert stored.body == b""  # the user id and profile are not kept past applying


def test_bad_or_missing_signatures_are_refused_and_nothing_is_stored(world: World) -> None:
    world.line.bad_signature_next_webhooks()
    [delivery] = world.line.follow()
    assert delivery.status_code == 401

    user_id = "U" + "a" * 32
    now = datetime.now(UTC)
    wrong = post_events(world, [event("follow", user_id, "01J0000000000000000000000A", now)], "x")
    assert wrong.status_code == 401
    missing = httpx.post(world.webhook_url, content=b'{"events":[]}', timeout=10)
    assert missing.status_code == 401

    world.refresh()
    assert count(WebhookDelivery) == 0
    assert count(LineFriend) == 0


def test_the_verify_call_with_no_events_gets_200(world: World) -> None:
    assert post_events(world, []).status_code == 200


def test_an_unknown_workspace_url_is_404(world: World) -> None:
    body = b'{"destination":"U0","events":[]}'
    headers = {"x-line-signature": sign(CHANNEL_SECRET, body)}
    url = f"{world.lumo.url}/webhooks/line/999999"
    assert httpx.post(url, content=body, headers=headers, timeout=10).status_code == 404


def test_duplicates_and_redeliveries_are_applied_once(world: World) -> None:
    [first] = world.line.follow()
    user_id = first.events[0]["source"]["userId"]
    world.line.duplicate_next_webhooks()
    world.line.redeliver_next_webhooks()
    deliveries = world.line.message(user_id, "こんにちは 🍎")
    assert [d.status_code for d in deliveries] == [200, 200, 200]
    assert deliveries[-1].is_redelivery
    world.line.redeliver(first.events[0]["webhookEventId"])

    world.refresh()
    assert count(WebhookDelivery) == 2
    assert count(LineFriend) == 1
    [message] = db.session.scalars(select(LineMessage)).all()
    assert (message.direction, message.text) == ("in", "こんにちは 🍎")


def test_block_and_unblock_keep_the_friend_added_date(world: World) -> None:
    [followed] = world.line.follow()
    user_id = followed.events[0]["source"]["userId"]
    added = friend_of(world, user_id).friend_added_at

    world.line.unfollow(user_id)
    blocked = friend_of(world, user_id)
    assert blocked.follow_status == "blocked"
    assert blocked.blocked_at is not None

    [unblocked] = world.line.follow(user_id)
    assert unblocked.events[0]["follow"]["isUnblocked"] is True
    friend = friend_of(world, user_id)
    assert friend.follow_status == "following"
    assert friend.blocked_at is None
    assert friend.friend_added_at == added


def test_an_older_event_arriving_late_does_not_override_a_newer_one(world: World) -> None:
    user_id = "U" + "b" * 32
    early = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    late = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert post_events(world, [event("unfollow", user_id, "01J00000000000000000000002", late)])
    follow = event(
        "follow", user_id, "01J00000000000000000000001", early, follow={"isUnblocked": False}
    )
    assert post_events(world, [follow]).status_code == 200

    friend = friend_of(world, user_id)
    assert friend.follow_status == "blocked"
    assert friend.friend_added_at == early


def test_a_body_with_several_events_stores_each(world: World) -> None:
    now = datetime.now(UTC)
    a, b = "U" + "c" * 32, "U" + "d" * 32
    events = [
        event("follow", a, "01J00000000000000000000003", now, follow={"isUnblocked": False}),
        event("message", b, "01J00000000000000000000004", now,
              message={"id": "42", "type": "sticker", "packageId": "1", "stickerId": "2"}),
        event("postback", a, "01J00000000000000000000005", now, postback={"data": "x"}),
    ]  # fmt: skip
    response = post_events(world, events)
    assert response.json() == {"received": 3, "duplicates": 0, "malformed": 0}

    world.refresh()
    statuses = dict(
        db.session.execute(select(WebhookDelivery.topic, WebhookDelivery.status)).all()
    )
    assert statuses == {"follow": "applied", "message": "applied", "postback": "ignored"}
    message = db.session.scalars(select(LineMessage)).one()
    assert (message.message_type, message.text) == ("sticker", None)


def test_re_running_an_applied_delivery_changes_nothing(world: World) -> None:
    from lumo.friends.events import apply_line_delivery

    [delivery] = world.line.follow()
    world.line.unfollow(delivery.events[0]["source"]["userId"])
    world.refresh()
    follow_delivery = db.session.scalars(
        select(WebhookDelivery).where(WebhookDelivery.topic == "follow")
    ).one()

    apply_line_delivery(follow_delivery.id)
    friend = friend_of(world, delivery.events[0]["source"]["userId"])
    assert friend.follow_status == "blocked"
    assert follow_delivery.attempts == 1


def test_the_channel_can_be_pointed_at_the_workspaces_webhook_url(world: World) -> None:
    from lumo.friends.events import register_line_webhook
    from lumo.models import Workspace

    world.line.set_webhook_url(None)
    workspace = db.session.get(Workspace, world.workspace_id)
    assert workspace is not None
    assert register_line_webhook(workspace) == world.webhook_url
    assert world.line.webhook_url == world.webhook_url


def post_raw(world: World, body: bytes) -> httpx.Response:
    headers = {"x-line-signature": sign(CHANNEL_SECRET, body), "Content-Type": "application/json"}
    return httpx.post(world.webhook_url, content=body, headers=headers, timeout=10)


def test_malformed_events_are_kept_for_inspection_and_never_applied(world: World) -> None:
    at = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    good = event("follow", "U" + "1" * 32, "01GOODEVENT0000000000000001", at)
    bad = [
        event("follow", "U" + "2" * 32, "01BADTIMESTAMP000000000001", at) | {"timestamp": 10**30},
        event("follow", "U" + "3" * 32, "E" * 500, at),
        event("follow", "U" + "4" * 200, "01LONGUSERID00000000000001", at),
        event("message", "U" + "5" * 32, "01DEEPMESSAGE0000000000001", at)
        | {"message": json.loads('{"a":' * 40 + "1" + "}" * 40)},
    ]
    response = post_events(world, [good, *bad])
    assert response.status_code == 200
    assert response.json() == {"received": 1, "duplicates": 0, "malformed": 4}

    world.refresh()
    assert [f.line_user_id for f in db.session.scalars(select(LineFriend))] == ["U" + "1" * 32]
    assert count(LineMessage) == 0
    kept = db.session.scalars(
        select(WebhookDelivery).where(WebhookDelivery.status == "failed")
    ).all()
    assert len(kept) == 4
    assert all(d.error and d.error.startswith("Malformed LINE event") for d in kept)
    assert all(len(d.event_id) <= 128 and d.applied_at is None for d in kept)
    reasons = " ".join(d.error or "" for d in kept)
    assert "timestamp" in reasons and "webhookEventId" in reasons and "userId" in reasons
    by_id = {d.event_id: d for d in kept}
    assert json.loads(by_id["01BADTIMESTAMP000000000001"].body)["timestamp"] == 10**30

    # LINE redelivering the same malformed events adds nothing.
    again = post_events(world, bad)
    assert again.json() == {"received": 0, "duplicates": 4, "malformed": 0}


def test_an_unreadable_signed_body_is_400_and_nothing_is_saved(world: World) -> None:
    deep = b'{"destination":"U0","events":[' + b"[" * 50_000 + b"]" * 50_000 + b"]}"
    for body in (deep, b"not json", b'{"events": {}}'):
        response = post_raw(world, body)
        assert response.status_code == 400, body[:40]
    world.refresh()
    assert count(WebhookDelivery) == 0


def test_an_out_of_range_workspace_in_the_url_is_404(world: World) -> None:
    body = b'{"destination":"U0","events":[]}'
    headers = {"x-line-signature": sign(CHANNEL_SECRET, body)}
    url = f"{world.lumo.url}/webhooks/line/{10**30}"
    assert httpx.post(url, content=body, headers=headers, timeout=10).status_code == 404
