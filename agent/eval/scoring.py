"""Scoring a planner on the evaluation set: the same audience on the fixture store is correct.

An expected Segment may use the glossary's `{top N% column}` placeholder; it is filled from
the fixture store's data exactly as the glossary is. Requests that expect a question back
(`"expect": "clarify"`), a refusal (`"unsupported"`) or suggestions (`"suggest"`) are correct
when the plan says so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.facts import WorkspaceFacts
from agent.glossary import PERCENTILE
from agent.planners.base import Planner
from lumo.segments import service
from lumo.segments.errors import SegmentError
from lumo.segments.model import Segment
from lumo.segments.parser import parse_segment
from lumo.segments.printer import format_segment

REQUESTS = Path(__file__).resolve().parent / "requests.jsonl"


@dataclass
class Outcome:
    request: dict[str, Any]
    correct: bool
    got: str | None
    expected: str | None
    reason: str = ""
    plan: Any = None


def load_requests(path: Path = REQUESTS) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def expected_segment(request: dict[str, Any], facts: WorkspaceFacts) -> Segment:
    def fill(match: Any) -> str:
        value = facts.top_threshold(match.group(2), int(match.group(1)))
        return "999999999999" if value is None else format(value.normalize(), "f")

    return parse_segment(PERCENTILE.sub(fill, request["expected"]))


def score_request(planner: Planner, facts: WorkspaceFacts, request: dict[str, Any]) -> Outcome:
    """Plan one request and judge it against its expectation."""
    plan = planner.plan(request["text"], facts)
    got = format_segment(plan.segment) if plan.segment is not None else None
    expect = request.get("expect")
    if expect == "clarify":
        ok = plan.clarification is not None
        return Outcome(request, ok, got, None, "" if ok else "no clarifying question", plan)
    if expect in ("unsupported", "suggest"):
        ok = plan.intent == expect
        return Outcome(request, ok, got, None, "" if ok else f"intent {plan.intent}", plan)

    wanted = expected_segment(request, facts)
    wanted_text = format_segment(wanted)
    if plan.segment is None:
        reason = plan.clarification.question if plan.clarification else plan.intent
        return Outcome(request, False, None, wanted_text, f"no Segment: {reason}", plan)
    if got == wanted_text:
        return Outcome(request, True, got, wanted_text, "same text", plan)
    try:
        mine = service.member_ids(facts.workspace_id, plan.segment, now=facts.now)
    except SegmentError as error:
        return Outcome(request, False, got, wanted_text, f"invalid: {error}", plan)
    theirs = service.member_ids(facts.workspace_id, wanted, now=facts.now)
    if mine == theirs:
        return Outcome(request, True, got, wanted_text, f"same audience ({len(mine)})", plan)
    return Outcome(request, False, got, wanted_text, f"{len(mine)} vs {len(theirs)} members", plan)
