"""What every planner returns, and the interface both planners implement."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from agent.facts import WorkspaceFacts
from lumo.segments.model import Segment


@dataclass
class Clarification:
    """A question back to the marketer; each option carries the hint that answers it."""

    question: str
    options: list[dict[str, str]] = field(default_factory=list)
    #: The request the question is about, re-planned with the chosen option's hint.
    request: str = ""

    def as_json(self) -> dict[str, Any]:
        return {"question": self.question, "options": self.options}


@dataclass
class Plan:
    """A planner's answer: a Segment (or a question, or a refusal) and how it got there.

    `intent` is "segment", "suggest" (what to send this week), "unsupported" or "clarify".
    `refined` is true when the Segment narrows the previous one of the conversation.
    """

    language: str
    intent: str = "segment"
    segment: Segment | None = None
    assumptions: list[str] = field(default_factory=list)
    glossary_applied: list[dict[str, str]] = field(default_factory=list)
    clarification: Clarification | None = None
    unsupported: str | None = None
    wants_broadcast: bool = False
    refined: bool = False
    planner: str = "offline"
    notes: list[str] = field(default_factory=list)
    #: A Segment name the model proposed saving under (LLM planner only).
    proposed_name: str | None = None


class Planner(Protocol):
    """Turns one request into a Plan; `previous` is the conversation's last Segment."""

    name: str

    def plan(
        self,
        text: str,
        facts: WorkspaceFacts,
        *,
        previous: Segment | None = None,
        hints: dict[str, str] | None = None,
    ) -> Plan: ...
