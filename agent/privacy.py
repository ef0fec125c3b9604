"""Keeping personal data away from the language model: emails and phone numbers are removed
from every string before it is sent, wherever it came from (the request, tags, products)."""

from __future__ import annotations

import re
from typing import Any

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
PHONE = re.compile(r"(?<![\w])\+?\d[\d\s().-]{7,}\d(?![\w])")
REDACTED_EMAIL = "[email removed]"
REDACTED_PHONE = "[phone removed]"


def scrub_text(text: str) -> str:
    """The text without email addresses and phone numbers."""
    return PHONE.sub(_phone, EMAIL.sub(REDACTED_EMAIL, text))


def _phone(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    # Dates (2026-05-20) and plain amounts are not phone numbers.
    if len(digits) < 9 or re.fullmatch(r"\d{4}-\d{2}-\d{2}", match.group(0).strip()):
        return match.group(0)
    return REDACTED_PHONE


def scrub(value: Any) -> Any:
    """A copy of JSON-like data with every string scrubbed."""
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        return {key: scrub(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(item) for item in value]
    return value
