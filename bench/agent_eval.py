"""Offline planner accuracy on the evaluation set, and its planning latency.

Builds the fixture store in a throwaway SQLite database, plans every request in
agent/eval/requests.jsonl (same audience on the store counts as correct), then times planning
(facts loaded once, as in one conversation turn) over several passes. Baseline: the time to
parse and validate the expected text forms with the Segment parser, the floor any planner pays.
Targets: accuracy >= 95%, p95 planning < 20 ms. Last line: the JSON result.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PASSES = 5


def main() -> int:
    from flask_migrate import upgrade

    from agent.eval.fixture_store import EVAL_NOW, build_fixture_store
    from agent.eval.scoring import expected_segment, load_requests, score_request
    from agent.facts import load_facts
    from agent.planners.offline import OfflinePlanner
    from lumo.app import create_app
    from lumo.extensions import db
    from lumo.segments.printer import format_segment
    from lumo.segments.validation import validate_segment

    warnings.simplefilter("ignore")
    folder = Path(tempfile.mkdtemp(prefix="lumo-agent-eval-"))
    app = create_app(
        {
            "LUMO_ENV": "testing",
            "DATABASE_URL": f"sqlite:///{folder / 'eval.sqlite3'}",
            "LUMO_INSTANCE_PATH": str(folder),
            "LUMO_JOBS_MODE": "inline",
            "REDIS_URL": "",
            "OPENAI_API_KEY": "",
            "OPENAI_BASE_URL": "",
        }
    )
    with app.app_context():
        upgrade()
        workspace = build_fixture_store()
        db.session.commit()
        facts = load_facts(workspace.id, now=EVAL_NOW)
        planner = OfflinePlanner()
        requests = load_requests()

        outcomes = [score_request(planner, facts, request) for request in requests]
        correct = sum(outcome.correct for outcome in outcomes)
        for outcome in outcomes:
            if not outcome.correct:
                print(
                    f"MISS {outcome.request['id']} {outcome.request['text']!r}: got "
                    f"{outcome.got!r}, expected {outcome.expected!r} ({outcome.reason})"
                )
        by_level: dict[str, list[bool]] = {}
        for outcome in outcomes:
            by_level.setdefault(outcome.request["level"], []).append(outcome.correct)
        for level, marks in sorted(by_level.items()):
            print(f"{level:7} {sum(marks)}/{len(marks)}")

        timings: list[float] = []
        for _ in range(PASSES):
            for request in requests:
                started = time.perf_counter()
                planner.plan(request["text"], facts)
                timings.append((time.perf_counter() - started) * 1000)
        baseline: list[float] = []
        texts = [format_segment(expected_segment(r, facts)) for r in requests if "expected" in r]
        from lumo.segments.parser import parse_segment

        for _ in range(PASSES):
            for text in texts:
                started = time.perf_counter()
                validate_segment(parse_segment(text), facts.registry)
                baseline.append((time.perf_counter() - started) * 1000)

        started = time.perf_counter()
        load_facts(workspace.id, now=EVAL_NOW)
        facts_ms = (time.perf_counter() - started) * 1000

    accuracy = correct / len(requests) * 100
    p95 = statistics.quantiles(timings, n=20)[-1]
    base_p95 = statistics.quantiles(baseline, n=20)[-1]
    print(f"accuracy {correct}/{len(requests)} = {accuracy:.1f}% (target >= 95%)")
    print(
        f"planning p50 {statistics.median(timings):.2f} ms, p95 {p95:.2f} ms "
        f"(target < 20 ms), max {max(timings):.2f} ms over {len(timings)} plans"
    )
    print(f"baseline (parse + validate the expected text) p95 {base_p95:.3f} ms")
    print(f"loading the workspace facts once per turn: {facts_ms:.1f} ms")
    print(
        json.dumps(
            {
                "bench": "agent_eval_offline_planner_p95_ms",
                "value": round(p95, 3),
                "unit": "ms",
                "baseline": round(base_p95, 3),
                "ratio": round(p95 / base_p95, 2) if base_p95 else None,
                "n": len(requests),
                "accuracy": round(accuracy, 1),
            }
        )
    )
    return 0 if accuracy >= 95 and p95 < 20 else 1


if __name__ == "__main__":
    sys.exit(main())
