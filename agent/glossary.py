"""The workspace's glossary: what vague marketing words mean, as Segment conditions.

Defaults come from marketing-terms (English and Japanese) and are seeded the first time a
workspace's glossary is read; the merchant edits them through `PUT /api/agent/glossary`.
A definition is a Segment text form; `{top N% amount_spent}` (or `number_of_orders`) stands
for a threshold computed from the store's data when the agent plans.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select

from lumo.extensions import db
from lumo.models import GlossaryEntry
from lumo.segments.errors import SegmentError
from lumo.segments.model import Segment
from lumo.segments.parser import parse_segment
from lumo.segments.validation import validate_segment

if TYPE_CHECKING:
    from agent.facts import WorkspaceFacts
    from lumo.segments.fields import SegmentFieldRegistry

logger = logging.getLogger(__name__)

PERCENTILE = re.compile(r"\{top (\d{1,2})% (amount_spent|number_of_orders)\}")
MAX_TERM = 100


class GlossaryError(ValueError):
    """A glossary entry the agent could not use; the message says which and why."""


@dataclass(frozen=True)
class GlossaryTerm:
    term: str
    synonyms: tuple[str, ...]
    definition: str
    explanation: str

    def words(self) -> tuple[str, ...]:
        return (self.term, *self.synonyms)

    def as_json(self) -> dict[str, Any]:
        return {
            "term": self.term,
            "synonyms": list(self.synonyms),
            "definition": self.definition,
            "explanation": self.explanation,
        }


DEFAULT_GLOSSARY: tuple[GlossaryTerm, ...] = (
    GlossaryTerm(
        "frequent buyers",
        (
            "frequent buyer",
            "frequent customers",
            "regulars",
            "regular customers",
            "buy often",
            "常連",
            "常連客",
            "常連さん",
            "よく買う人",
            "購入頻度が高い",
        ),
        "orders_placed MATCHES (count >= 3, date > -90d)",
        "3 or more orders in the last 90 days / 過去90日に3回以上購入",
    ),
    GlossaryTerm(
        "lapsed customers",
        (
            "lapsed",
            "dormant",
            "dormant customers",
            "inactive customers",
            "churned",
            "stopped buying",
            "stopped ordering",
            "stopped purchasing",
            "no longer buying",
            "休眠顧客",
            "休眠",
            "買わなくなった",
            "離反",
            "しばらく買っていない",
        ),
        "last_order_date < -90d",
        "ordered before, nothing in the last 90 days / 購入歴があり過去90日は購入なし",
    ),
    GlossaryTerm(
        "big spenders",
        ("big spender", "high spenders", "top spenders", "高額購入者", "たくさん買っている"),
        "amount_spent >= {top 10% amount_spent}",
        "top 10% of customers by amount spent / 累計購入金額の上位10%",
    ),
    GlossaryTerm(
        "best customers",
        (
            "loyal customers",
            "top customers",
            "vip",
            "vips",
            "優良顧客",
            "ロイヤル顧客",
        ),
        "amount_spent >= {top 10% amount_spent}",
        "top 10% of customers by amount spent / 累計購入金額の上位10%",
    ),
    GlossaryTerm(
        "repeat customers",
        (
            "repeat customer",
            "repeat buyers",
            "repeaters",
            "returning customers",
            "リピーター",
            "リピート顧客",
        ),
        "number_of_orders >= 2",
        "2 or more orders / 2回以上購入",
    ),
    GlossaryTerm(
        "first-time buyers",
        (
            "first-time buyer",
            "first time buyers",
            "one-time buyers",
            "first-time customers",
            "初回購入者",
            "新規顧客",
        ),
        "number_of_orders = 1",
        "exactly 1 order / 購入回数がちょうど1回",
    ),
    GlossaryTerm(
        "never purchased",
        (
            "never bought",
            "never ordered",
            "never purchased anything",
            "non-buyers",
            "no purchases",
            "未購入",
            "未購入者",
            "一度も買っていない",
            "購入したことがない",
        ),
        "number_of_orders = 0",
        "0 orders (linked customers) / 購入回数0回（連携済みの顧客）",
    ),
    GlossaryTerm(
        "recent buyers",
        (
            "recently purchased",
            "recent customers",
            "bought recently",
            "最近購入した",
            "最近買った",
            "最近購入",
        ),
        "last_order_date > -30d",
        "an order in the last 30 days / 過去30日以内に購入",
    ),
    GlossaryTerm(
        "new friends",
        ("new friend", "newly added friends", "新規友だち", "新しい友だち", "新規の友だち"),
        "line_friend_added_date > -30d",
        "added the LINE account in the last 30 days / 過去30日以内に友だち追加",
    ),
)


def glossary_terms(workspace_id: int) -> list[GlossaryTerm]:
    """The workspace's glossary, seeding the defaults when it has none yet."""
    rows = db.session.scalars(
        select(GlossaryEntry)
        .where(GlossaryEntry.workspace_id == workspace_id)
        .order_by(GlossaryEntry.id)
    ).all()
    if not rows:
        rows = seed_glossary(workspace_id)
    return [_term(row) for row in rows]


def seed_glossary(workspace_id: int) -> list[GlossaryEntry]:
    """Add the default entries (flushed, not committed: the caller's request commits)."""
    rows = [
        GlossaryEntry(
            workspace_id=workspace_id,
            term=term.term,
            synonyms=list(term.synonyms),
            definition=term.definition,
            explanation=term.explanation,
        )
        for term in DEFAULT_GLOSSARY
    ]
    db.session.add_all(rows)
    db.session.flush()
    logger.info("glossary seeded for workspace %s: %d entries", workspace_id, len(rows))
    return rows


def replace_glossary(
    workspace_id: int, entries: Any, registry: SegmentFieldRegistry
) -> list[GlossaryTerm]:
    """Replace the whole glossary with `entries` (a list of JSON objects), validated first."""
    if not isinstance(entries, list):
        raise GlossaryError('Send {"entries": [{"term": …, "definition": …}, …]}.')
    terms = [_read_entry(index, entry, registry) for index, entry in enumerate(entries)]
    keys = [term.term.lower() for term in terms]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        raise GlossaryError(f"The term {duplicates[0]!r} appears twice; keep one entry.")

    db.session.execute(delete(GlossaryEntry).where(GlossaryEntry.workspace_id == workspace_id))
    db.session.add_all(
        GlossaryEntry(
            workspace_id=workspace_id,
            term=term.term,
            synonyms=list(term.synonyms),
            definition=term.definition,
            explanation=term.explanation,
        )
        for term in terms
    )
    db.session.flush()
    logger.info("glossary replaced in workspace %s: %d entries", workspace_id, len(terms))
    return terms


def resolve_definition(term: GlossaryTerm, facts: WorkspaceFacts) -> tuple[Segment, list[str]]:
    """The entry's Segment with thresholds filled in from the data, and what was computed."""
    notes: list[str] = []

    def fill(match: re.Match[str]) -> str:
        percent, column = int(match.group(1)), match.group(2)
        value = facts.top_threshold(column, percent)
        if value is None:
            notes.append(
                f"No customer has a positive {column} yet, so the top {percent}% is empty."
            )
            return "999999999999"
        shown = _plain_number(value)
        notes.append(
            f"Top {percent}% by {column.replace('_', ' ')} starts at {shown} in this store "
            "(computed from the synced data just now)."
        )
        return shown

    text = PERCENTILE.sub(fill, term.definition)
    return parse_segment(text), notes


def _plain_number(value: Decimal) -> str:
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.quantize(Decimal("0.01")), "f")


def _read_entry(index: int, entry: Any, registry: SegmentFieldRegistry) -> GlossaryTerm:
    where = f"Entry {index + 1}"
    if not isinstance(entry, dict):
        raise GlossaryError(f"{where} must be an object with term and definition.")
    term = str(entry.get("term") or "").strip()
    definition = str(entry.get("definition") or "").strip()
    if not term or len(term) > MAX_TERM:
        raise GlossaryError(f"{where} needs a term of 1 to {MAX_TERM} characters.")
    if not definition:
        raise GlossaryError(f"{where} ({term!r}) needs a definition in the Segment text form.")
    synonyms = entry.get("synonyms") or []
    if not isinstance(synonyms, list) or not all(isinstance(s, str) for s in synonyms):
        raise GlossaryError(f"{where} ({term!r}): synonyms must be a list of words.")
    try:
        segment = parse_segment(PERCENTILE.sub("1", definition))
        validate_segment(segment, registry)
    except SegmentError as error:
        raise GlossaryError(f"{where} ({term!r}): the definition is not valid: {error}") from None
    if segment.where is None:
        raise GlossaryError(f"{where} ({term!r}): the definition may not be empty.")
    return GlossaryTerm(
        term=term,
        synonyms=tuple(s.strip() for s in synonyms if s.strip()),
        definition=definition,
        explanation=str(entry.get("explanation") or "").strip(),
    )


def _term(row: GlossaryEntry) -> GlossaryTerm:
    return GlossaryTerm(
        term=row.term,
        synonyms=tuple(row.synonyms or ()),
        definition=row.definition,
        explanation=row.explanation or "",
    )
