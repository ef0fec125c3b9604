"""The chat with a friend: messages they send (webhooks) and replies the merchant sends."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import select

from lumo.extensions import db
from lumo.friends.clients import line_client_for
from lumo.friends.errors import FriendNotFound
from lumo.line import text_message
from lumo.models import LineFriend, LineMessage, Workspace

logger = logging.getLogger(__name__)

INCOMING = "in"
OUTGOING = "out"


def store_incoming(
    friend: LineFriend,
    *,
    message_type: str,
    text: str | None,
    line_message_id: str | None,
    sent_at: datetime,
) -> LineMessage:
    """Keep a message a friend sent, for the friend's chat view (flushes, no commit)."""
    if line_message_id:
        known = db.session.scalar(
            select(LineMessage).where(
                LineMessage.workspace_id == friend.workspace_id,
                LineMessage.line_message_id == line_message_id,
                LineMessage.direction == INCOMING,
            )
        )
        if known is not None:
            return known
    message = LineMessage(
        workspace_id=friend.workspace_id,
        friend_id=friend.id,
        direction=INCOMING,
        message_type=message_type or "unknown",
        text=text,
        line_message_id=line_message_id,
        sent_at=sent_at,
    )
    db.session.add(message)
    db.session.flush()
    logger.info("message %s from friend %s stored", message.id, friend.id)
    return message


def send_text(
    workspace_id: int, friend_id: int, text: str, *, reply_token: str | None = None
) -> LineMessage:
    """Send a text to a friend (a free reply when a fresh reply token is given, else a push).

    The sent message is stored as outgoing and committed. LINE errors (`lumo.line.LineError`)
    propagate with a message that says what to do.
    """
    friend = db.session.get(LineFriend, friend_id)
    workspace = db.session.get(Workspace, workspace_id)
    if friend is None or workspace is None or friend.workspace_id != workspace_id:
        raise FriendNotFound(friend_id)
    cleaned = text.strip()
    if not cleaned:
        raise ValueError("Type a message first; LINE does not send empty messages.")

    with line_client_for(workspace) as client:
        if reply_token:
            result = client.reply(reply_token, [text_message(cleaned)])
        else:
            result = client.push(friend.line_user_id, [text_message(cleaned)])

    sent_id = result.sent_messages[0].id if result.sent_messages else None
    message = LineMessage(
        workspace_id=workspace_id,
        friend_id=friend_id,
        direction=OUTGOING,
        message_type="text",
        text=cleaned,
        line_message_id=sent_id,
        sent_at=datetime.now(UTC),
    )
    db.session.add(message)
    db.session.commit()
    how = "reply" if reply_token else "push"
    logger.info("message %s sent to friend %s by %s", message.id, friend_id, how)
    return message
