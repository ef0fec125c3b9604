"""Message objects and the documented send limits, checked before a request leaves Lumo."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from lumo.line.errors import LineValidationError

MAX_MESSAGES_PER_REQUEST = 5
MAX_TEXT_LENGTH = 5000
MAX_ALT_TEXT_LENGTH = 400
MAX_MULTICAST_RECIPIENTS = 500
MAX_QUICK_REPLY_ITEMS = 13

USER_ID_RE = re.compile(r"U[0-9a-f]{32}")
PUSH_TARGET_RE = re.compile(r"[UCR][0-9a-f]{32}")


def utf16_length(text: str) -> int:
    """Count UTF-16 code units, the unit LINE's text limits use (an emoji like 🍎 counts 2)."""
    return len(text.encode("utf-16-le")) // 2


def text_message(text: str, *, quote_token: str | None = None) -> dict[str, Any]:
    """Build a text message object."""
    message: dict[str, Any] = {"type": "text", "text": text}
    if quote_token:
        message["quoteToken"] = quote_token
    return message


def validate_messages(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Check count, types and text limits; return plain dicts ready for JSON."""
    if isinstance(messages, Mapping | str):
        raise LineValidationError("Pass a list of message objects, not a single message.")
    if not 1 <= len(messages) <= MAX_MESSAGES_PER_REQUEST:
        raise LineValidationError(
            f"LINE accepts 1 to {MAX_MESSAGES_PER_REQUEST} messages per request, got "
            f"{len(messages)}; split them over several sends."
        )
    checked = []
    for index, message in enumerate(messages):
        checked.append(_validate_message(index, message))
    return checked


def _validate_message(index: int, message: Mapping[str, Any]) -> dict[str, Any]:
    where = f"messages[{index}]"
    if not isinstance(message, Mapping) or not isinstance(message.get("type"), str):
        raise LineValidationError(f"{where} must be an object with a 'type'.")

    if message["type"] == "text":
        text = message.get("text")
        if not isinstance(text, str) or not text:
            raise LineValidationError(f"{where}.text may not be empty.")
        length = utf16_length(text)
        if length > MAX_TEXT_LENGTH:
            raise LineValidationError(
                f"{where}.text is {length} UTF-16 units; LINE allows {MAX_TEXT_LENGTH}. "
                "Shorten it or split it into several messages."
            )

    alt_text = message.get("altText")
    if message["type"] in ("flex", "template", "imagemap"):
        if not isinstance(alt_text, str) or not alt_text:
            raise LineValidationError(f"{where}.altText may not be empty.")
        if len(alt_text) > MAX_ALT_TEXT_LENGTH:
            raise LineValidationError(
                f"{where}.altText is {len(alt_text)} characters; LINE allows "
                f"{MAX_ALT_TEXT_LENGTH}."
            )

    quick_reply = message.get("quickReply")
    if isinstance(quick_reply, Mapping):
        items = quick_reply.get("items") or []
        if len(items) > MAX_QUICK_REPLY_ITEMS:
            raise LineValidationError(
                f"{where}.quickReply has {len(items)} items; LINE allows {MAX_QUICK_REPLY_ITEMS}."
            )
    return dict(message)


def validate_user_id(user_id: str, *, where: str = "userId") -> str:
    """Refuse anything that is not a Messaging API user id (`U` + 32 lowercase hex)."""
    if not isinstance(user_id, str) or not USER_ID_RE.fullmatch(user_id):
        raise LineValidationError(
            f"{where} is not a LINE user id (expected 'U' followed by 32 lowercase hex digits)."
        )
    return user_id
