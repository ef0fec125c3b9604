"""Every evaluation request as its own test, so the offline planner's accuracy is visible.

The ≥ 95% threshold is enforced by bench/agent_eval.py, not here.
"""

from __future__ import annotations

import pytest

from agent.eval.fixture_store import EVAL_NOW
from agent.eval.scoring import load_requests, score_request
from agent.facts import load_facts
from agent.planners.offline import OfflinePlanner

REQUESTS = load_requests()


def test_the_set_is_big_and_bilingual() -> None:
    assert len(REQUESTS) >= 80
    languages = {request["language"] for request in REQUESTS}
    assert languages == {"en", "ja"}
    assert {request["level"] for request in REQUESTS} == {"easy", "medium", "hard"}


@pytest.mark.parametrize(
    "request_", REQUESTS, ids=[f"{r['id']}-{r['language']}" for r in REQUESTS]
)
def test_request(eval_store: int, request_: dict) -> None:
    facts = load_facts(eval_store, now=EVAL_NOW)
    outcome = score_request(OfflinePlanner(), facts, request_)
    assert outcome.correct, (
        f"{request_['text']!r}: got {outcome.got!r}, expected {outcome.expected!r} "
        f"({outcome.reason})"
    )
