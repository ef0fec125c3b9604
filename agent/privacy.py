"""Keeping personal data away from the language model and out of stored conversations: emails
and phone numbers are removed from every string before it is sent or saved, wherever it came
from (the request, tags, products).

Detection runs on the NFKC form, so full-width `＠`, `．` and digits (common in Japanese
input) are caught like their ASCII twins.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Separators people put in phone numbers, including the Japanese long-vowel mark and dashes
# NFKC leaves alone.
_SEPARATORS = r"\s().\-\u2010-\u2015\u2212\u30fc\uff70"
# Bounded by ASCII letters and digits only: Japanese text often runs straight into a number.
PHONE = re.compile(rf"(?<![0-9A-Za-z])\+?\d[\d{_SEPARATORS}]{{7,}}\d(?![0-9A-Za-z])")
# A long number written as money, a count or a compared value ("¥100000000", "150000000 yen",
# "amount_spent > 100000000") is not a phone.
_MONEY_BEFORE = re.compile(r"(?:[¥$<>=]|jpy|usd)\s*$", re.IGNORECASE)
_UNIT_AFTER = re.compile(
    r"\s*(?:yen|jpy|usd|dollars?|orders?|times|points?|円|回|件|人|ポイント)", re.IGNORECASE
)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
REDACTED_EMAIL = "[email removed]"
REDACTED_PHONE = "[phone removed]"


def scrub_text(text: str) -> str:
    """The text without email addresses and phone numbers.

    Text that holds neither comes back exactly as written; otherwise the NFKC form is
    returned with each one replaced.
    """
    normal = unicodedata.normalize("NFKC", text)
    cleaned = PHONE.sub(_phone, EMAIL.sub(REDACTED_EMAIL, normal))
    return text if cleaned == normal else cleaned


def without_personal(text: str) -> str:
    """The text with emails and phone numbers left out entirely, for planning.

    No Segment condition takes an email or a phone number, so the planner loses nothing and
    cannot echo them back in its answer.
    """
    scrubbed = scrub_text(text)
    if scrubbed == text:
        return text
    for placeholder in (REDACTED_EMAIL, REDACTED_PHONE):
        scrubbed = scrubbed.replace(placeholder, " ")
    return " ".join(scrubbed.split())


def _phone(match: re.Match[str]) -> str:
    found = match.group(0)
    digits = re.sub(r"\D", "", found)
    # Phone numbers have 9 to 15 digits (E.164); dates (2026-05-20, also with a time after
    # them) and amounts are not phone numbers.
    if not 9 <= len(digits) <= 15 or _DATE.match(found.strip()):
        return found
    # Amounts never start with 0 or +; phone numbers usually do, and then always count.
    if found.startswith(("0", "+")):
        return REDACTED_PHONE
    before = match.string[max(0, match.start() - 5) : match.start()]
    if _MONEY_BEFORE.search(before) or _UNIT_AFTER.match(match.string, match.end()):
        return found
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
