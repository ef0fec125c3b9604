"""LINE webhook events: saved as deliveries on arrival, applied to friends in a job.

`accept_line_webhook` runs in the request: it checks the signature on the raw bytes, saves
each new event as a `WebhookDelivery` (source "line", event id = `webhookEventId`, so a
redelivered or duplicated event is recognised and skipped) and queues `apply_line_delivery`
on the `webhooks` queue. The job can be re-run: an applied delivery is left alone.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from lumo import jobs
from lumo.extensions import db
from lumo.friends.clients import line_client_for
from lumo.friends.errors import FriendsError, LinkRefused
from lumo.friends.follows import get_or_create_friend, record_follow, record_unfollow
from lumo.friends.linking import complete_account_link, link_of_friend
from lumo.friends.messages import store_incoming
from lumo.friends.write_back import request_write_back
from lumo.line import (
    AccountLinkEvent,
    FollowEvent,
    LineError,
    LineWebhookError,
    MessageEvent,
    Profile,
    UnfollowEvent,
    WebhookEvent,
    read_webhook,
)
from lumo.line.events import RejectedEvent, parse_event
from lumo.logs import log_context
from lumo.models import LineFriend, WebhookDelivery, Workspace

logger = logging.getLogger(__name__)

SOURCE = "line"
RECEIVED, APPLIED, IGNORED, FAILED = "received", "applied", "ignored", "failed"
#: Sizes of `line_friends.display_name` and `line_friends.language`.
MAX_DISPLAY_NAME, MAX_LANGUAGE = 255, 16


@dataclass
class Intake:
    """What one webhook POST brought: new deliveries and recognised repeats."""

    delivery_ids: list[int] = field(default_factory=list)
    duplicates: int = 0
    #: Events saved as failed deliveries because they are not LINE's shape.
    malformed: int = 0


@dataclass
class Outcome:
    """How an event was applied; `write_back` names friends whose status should go to Shopify."""

    status: str = APPLIED
    note: str | None = None
    write_back: list[int] = field(default_factory=list)


def line_webhook_url(workspace_id: int) -> str:
    """The webhook URL to enter for the workspace's LINE channel (one per channel)."""
    return f"{current_app.config['LUMO_PUBLIC_URL'].rstrip('/')}/webhooks/line/{workspace_id}"


def register_line_webhook(workspace: Workspace) -> str:
    """Point the workspace's LINE channel at Lumo's webhook URL; returns the URL."""
    url = line_webhook_url(workspace.id)
    with line_client_for(workspace) as client:
        client.set_webhook_endpoint(url)
    logger.info("workspace %s: LINE webhook endpoint set", workspace.id)
    return url


def accept_line_webhook(workspace: Workspace, raw_body: bytes, signature: str | None) -> Intake:
    """Verify, save new events and queue their jobs; raises `LineSignatureError` first.

    A body that is signed but cannot be read at all raises `LineWebhookError`; nothing is
    saved. A readable body's malformed events are saved as failed deliveries with the reason
    (for inspection) and never applied; its good events go ahead.
    """
    payload = read_webhook(workspace.line_channel_secret or "", raw_body, signature)
    intake = Intake()
    for event in payload.events:
        delivery_id = _save_delivery(workspace.id, event)
        if delivery_id is None:
            intake.duplicates += 1
        else:
            intake.delivery_ids.append(delivery_id)
    for rejected in payload.rejected:
        if _save_malformed(workspace.id, rejected) is None:
            intake.duplicates += 1
        else:
            intake.malformed += 1
    logger.info(
        "LINE webhook for workspace %s: %d new event(s), %d repeat(s), %d malformed",
        workspace.id,
        len(intake.delivery_ids),
        intake.duplicates,
        intake.malformed,
    )

    for delivery_id in intake.delivery_ids:
        try:
            jobs.enqueue("webhooks", apply_line_delivery, delivery_id)
        except Exception:
            # Saved already: LINE gets its 200, and the delivery stays "received" for a re-run.
            logger.exception("LINE delivery %s saved but its job could not start", delivery_id)
    return intake


def _save_delivery(workspace_id: int, event: WebhookEvent) -> int | None:
    """Save one event; None when this `webhookEventId` was seen before."""
    delivery = WebhookDelivery(
        workspace_id=workspace_id,
        source=SOURCE,
        topic=event.type,
        event_id=event.webhook_event_id,
        triggered_at=event.timestamp,
        body=json.dumps(dict(event.raw), ensure_ascii=False, separators=(",", ":")).encode(),
        status=RECEIVED,
    )
    return _insert_once(delivery)


def _save_malformed(workspace_id: int, rejected: RejectedEvent) -> int | None:
    """Keep a malformed event as a failed delivery with the reason; it is never applied.

    Its id is LINE's `webhookEventId` when usable, else a digest of the event, so a
    redelivery of the same malformed event is still recognised.
    """
    body = _event_body(rejected.raw)
    event_id = rejected.event_id or "malformed-" + hashlib.sha256(body).hexdigest()
    delivery = WebhookDelivery(
        workspace_id=workspace_id,
        source=SOURCE,
        topic=rejected.type or "malformed",
        event_id=event_id,
        body=body,
        status=FAILED,
        error=f"Malformed LINE event (#{rejected.index + 1} of its webhook): {rejected.reason}",
    )
    delivery_id = _insert_once(delivery)
    if delivery_id is not None:
        logger.warning("LINE delivery %s: malformed event kept, not applied", delivery_id)
    return delivery_id


def _event_body(raw: object) -> bytes:
    """The event as compact JSON; one too deep to write back is kept as a note."""
    try:
        text = json.dumps(raw, ensure_ascii=False, separators=(",", ":"), default=str)
    except (RecursionError, ValueError):
        text = json.dumps({"unreadable": "The event nests too deeply to be kept."})
    return text.encode()


def _insert_once(delivery: WebhookDelivery) -> int | None:
    """Add the delivery unless its workspace saw this event id; returns its id, or None."""
    known = db.session.scalar(
        select(WebhookDelivery.id).where(
            WebhookDelivery.workspace_id == delivery.workspace_id,
            WebhookDelivery.source == SOURCE,
            WebhookDelivery.event_id == delivery.event_id,
        )
    )
    if known is not None:
        logger.info("LINE event is a repeat of delivery %s", known)
        return None

    db.session.add(delivery)
    try:
        db.session.commit()
    except IntegrityError:
        # The same event arrived in a parallel request a moment ago.
        db.session.rollback()
        return None
    return delivery.id


@jobs.job
def apply_line_delivery(delivery_id: int) -> None:
    """Apply one saved LINE event to the workspace's friends (a `webhooks` job)."""
    with log_context(delivery=delivery_id):
        delivery = db.session.get(WebhookDelivery, delivery_id)
        if delivery is None or delivery.source != SOURCE:
            return
        if delivery.status in (APPLIED, IGNORED):
            logger.info("LINE delivery %s was applied before; skipped", delivery_id)
            return

        try:
            outcome = _apply_with_one_retry(delivery)
        except Exception as error:
            db.session.rollback()
            failed = db.session.get(WebhookDelivery, delivery_id)
            if failed is not None:
                failed.attempts += 1
                failed.status = FAILED
                failed.error = f"{type(error).__name__}: {error}"[:2000]
                db.session.commit()
            logger.exception("LINE delivery %s failed", delivery_id)
            raise

        delivery.attempts += 1
        delivery.status = outcome.status
        delivery.error = outcome.note
        delivery.applied_at = datetime.now(UTC)
        # Applied or ignored, the event is of no further use, and it holds the friend's user
        # id and what they wrote: only a failed one keeps it (for 30 days, see deliveries).
        delivery.body = b""
        workspace_id = delivery.workspace_id
        db.session.commit()
        logger.info("LINE delivery %s %s (%s)", delivery_id, outcome.status, delivery.topic)

        for friend_id in outcome.write_back:
            if workspace_id is not None:
                request_write_back(workspace_id, friend_id)


def _apply_with_one_retry(delivery: WebhookDelivery) -> Outcome:
    """Apply the event; a unique-index race with a parallel job is resolved by one re-run."""
    delivery_id = delivery.id
    try:
        return apply_event(delivery)
    except IntegrityError:
        db.session.rollback()
        logger.info("LINE delivery %s raced another job; applying again", delivery_id)
        again = db.session.get(WebhookDelivery, delivery_id)
        if again is None:
            return Outcome(IGNORED, "The delivery disappeared while it was applied.")
        return apply_event(again)


def apply_event(delivery: WebhookDelivery) -> Outcome:
    """Dispatch one event by type; unknown types are ignored, never errors."""
    workspace = db.session.get(Workspace, delivery.workspace_id)
    if workspace is None:
        return Outcome(IGNORED, "The workspace no longer exists.")
    try:
        event = parse_event(json.loads(delivery.body))
    except (LineWebhookError, ValueError, RecursionError) as error:
        # Saved as malformed on arrival (or edited since): nothing of it is applied.
        return Outcome(FAILED, f"Malformed LINE event: {error}")
    if event.source_type not in (None, "user"):
        return Outcome(IGNORED, f"Events from a {event.source_type} chat are not kept.")

    if isinstance(event, FollowEvent) and event.user_id:
        # The profile is fetched before any row is written, so no lock waits on LINE.
        profile = _fetch_profile(workspace, event.user_id)
        change = record_follow(
            workspace.id, event.user_id, event.timestamp, is_unblocked=event.is_unblocked
        )
        if profile is not None:
            # Cut to the columns' sizes: a profile is LINE's data, not checked by the parser.
            name = (profile.display_name or "")[:MAX_DISPLAY_NAME]
            change.friend.display_name = name or change.friend.display_name
            change.friend.picture_url = profile.picture_url
            change.friend.language = (profile.language or "")[:MAX_LANGUAGE] or None
        return _status_outcome(workspace.id, change.friend, change.status_changed)

    if isinstance(event, UnfollowEvent) and event.user_id:
        change = record_unfollow(workspace.id, event.user_id, event.timestamp)
        return _status_outcome(workspace.id, change.friend, change.status_changed)

    if isinstance(event, AccountLinkEvent):
        if not event.succeeded or event.user_id is None:
            return Outcome(IGNORED, "LINE reported the account link as failed; nothing linked.")
        try:
            link = complete_account_link(workspace.id, event.user_id, event.nonce)
        except LinkRefused as refusal:
            logger.warning("LINE delivery %s: account link refused", delivery.id)
            return Outcome(IGNORED, str(refusal))
        return Outcome(APPLIED, None, [link.friend_id])

    if isinstance(event, MessageEvent) and event.user_id:
        friend, _ = get_or_create_friend(workspace.id, event.user_id)
        store_incoming(
            friend,
            message_type=event.message_type,
            text=event.text,
            line_message_id=event.message_id or None,
            sent_at=event.timestamp,
        )
        return Outcome()

    return Outcome(IGNORED, f"LINE event type {event.type!r} is not used by Lumo.")


def _status_outcome(workspace_id: int, friend: LineFriend, changed: bool) -> Outcome:
    if not changed:
        return Outcome(APPLIED, "The friend's follow status did not change.")
    linked = link_of_friend(workspace_id, friend.id) is not None
    return Outcome(APPLIED, None, [friend.id] if linked else [])


def _fetch_profile(workspace: Workspace, line_user_id: str) -> Profile | None:
    """Name, picture and language from LINE; None (logged) when LINE cannot give them."""
    try:
        with line_client_for(workspace) as client:
            return client.get_profile(line_user_id)
    except (LineError, FriendsError) as error:
        logger.warning(
            "workspace %s: a follower's profile was not fetched: %s",
            workspace.id,
            type(error).__name__,
        )
        return None
