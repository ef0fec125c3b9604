"""The LLM planner against the OpenAI-compatible stand-in: tool loop, validation, fallback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from agent.conversation import ask
from agent.eval.fixture_store import EVAL_NOW, build_fixture_store
from agent.eval.scoring import expected_segment, load_requests
from agent.facts import load_facts
from agent.planners import choose_planner
from agent.planners.llm import LLMPlanner
from lumo.extensions import db
from lumo.models import Customer
from lumo.sandbox.openai_server import OpenAISandbox
from lumo.segments.printer import format_segment
from tests.agent.conftest import empty_tables, llm_app


@pytest.fixture
def llm(_schema: str, tmp_path: Path, model: OpenAISandbox) -> Iterator[tuple[Flask, int]]:
    app = llm_app(_schema, tmp_path, model)
    with app.app_context():
        workspace = build_fixture_store(customers=40)
        db.session.commit()
        yield app, workspace.id
        db.session.rollback()
        empty_tables()
        db.session.remove()
        db.engine.dispose()


def answer_call(segment: str, **extra: object) -> dict:
    return {"tool_calls": [{"name": "answer", "arguments": {"segment": segment, **extra}}]}


def test_llm_planner_is_chosen_when_configured(llm: tuple[Flask, int]) -> None:
    app, _ = llm
    assert isinstance(choose_planner(app.config), LLMPlanner)
    assert choose_planner({}).name == "offline"


def test_tool_loop_validates_and_retries(llm: tuple[Flask, int], model: OpenAISandbox) -> None:
    _, workspace = llm
    model.play(
        [
            {
                "tool_calls": [
                    {"name": "list_fields", "arguments": {}},
                    {"name": "list_tags", "arguments": {}},
                ]
            },
            {"tool_calls": [{"name": "count_segment", "arguments": {"segment": "vip = 1"}}]},
            {"tool_calls": [{"name": "count_segment", "arguments": {"segment": 12}}]},
            answer_call("customer_tags CONTAINS 'VIP' AND bogus_field = 1"),
            answer_call("customer_tags CONTAINS 'VIP'", assumptions=["VIP is a Shopify tag"]),
        ]
    )
    answer = ask(workspace, "VIP customers", now=EVAL_NOW)
    assert answer["planner"] == "llm"
    assert answer["segment"]["text"] == "customer_tags CONTAINS 'VIP'"
    assert answer["assumptions"] == ["VIP is a Shopify tag"]
    assert len(model.requests) == 5
    tools = [m for m in model.requests[1]["messages"] if m["role"] == "tool"]
    tags = json.loads(tools[1]["content"])
    assert tags["shopify_customer_tags"]["field"] == "customer_tags"
    assert {"name": "VIP", "count": tags["shopify_customer_tags"]["tags"][0]["count"]} in tags[
        "shopify_customer_tags"
    ]["tags"] or tags["shopify_customer_tags"]["tags"]
    errors = [
        json.loads(m["content"]) for m in model.requests[4]["messages"] if m["role"] == "tool"
    ]
    assert "no Segment field called 'vip'" in errors[-3]["error"]
    assert "must be a string" in errors[-2]["error"]
    assert "not valid" in errors[-1]["error"]
    assert model.requests[0]["tools"][0]["type"] == "function"


@pytest.mark.parametrize(
    "fault",
    [
        {"fault": "500"},
        {"fault": "timeout", "seconds": 4},
    ],
)
def test_model_errors_fall_back_to_offline(
    llm: tuple[Flask, int], model: OpenAISandbox, fault: dict
) -> None:
    _, workspace = llm
    model.play([fault])
    answer = ask(workspace, "blocked friends", now=EVAL_NOW)
    assert answer["planner"] == "offline-fallback"
    assert answer["segment"]["text"] == "line_follow_status = 'blocked'"
    assert answer["text"].startswith("The language model")
    assert answer["notes"]


def test_malformed_arguments_until_the_round_limit_fall_back(
    llm: tuple[Flask, int], model: OpenAISandbox
) -> None:
    _, workspace = llm
    model.play([{"fault": "malformed"}] * 8)
    answer = ask(workspace, "カゴ落ちした友だち", now=EVAL_NOW)
    assert answer["planner"] == "offline-fallback"
    assert answer["segment"]["text"] == "abandoned_checkout_date IS SET"
    assert "オフライン" in answer["text"]
    assert len(model.requests) == 6
    tool_error = json.loads(model.requests[1]["messages"][-1]["content"])
    assert "not valid JSON" in tool_error["error"]


def test_no_personal_data_reaches_the_model(llm: tuple[Flask, int], model: OpenAISandbox) -> None:
    _, workspace = llm
    customers = db.session.query(Customer).filter_by(workspace_id=workspace).all()
    model.play(
        [
            {
                "tool_calls": [
                    {"name": "list_tags", "arguments": {}},
                    {"name": "list_fields", "arguments": {}},
                    {"name": "count_segment", "arguments": {"segment": "number_of_orders >= 1"}},
                ]
            },
            {
                "tool_calls": [
                    {
                        "name": "draft_broadcast",
                        "arguments": {"segment": "abandoned_checkout_date IS SET"},
                    }
                ]
            },
            answer_call("number_of_orders >= 1"),
        ]
    )
    request = (
        f"customers like {customers[0].email} or {customers[1].phone}, call me at 090-1234-5678"
    )
    ask(workspace, request, now=EVAL_NOW)
    sent = model.sent_text()
    assert len(model.requests) == 3
    for customer in customers:
        assert customer.email not in sent
        assert customer.phone not in sent
        assert (customer.display_name or "@@") not in sent
    assert "090-1234-5678" not in sent and "call me at" in sent
    assert "Ignore previous instructions" not in sent


def test_clarifying_question_and_unsupported_from_the_model(
    llm: tuple[Flask, int], model: OpenAISandbox
) -> None:
    _, workspace = llm
    model.play(
        [
            {
                "tool_calls": [
                    {
                        "name": "answer",
                        "arguments": {"clarifying_question": "Shopify customer tag or Lumo tag?"},
                    }
                ]
            }
        ]
    )
    asked = ask(workspace, "summer people", now=EVAL_NOW)
    assert asked["clarifying_question"]["question"] == "Shopify customer tag or Lumo tag?"
    model.play(
        [
            {
                "tool_calls": [
                    {"name": "answer", "arguments": {"unsupported": "Lumo has no age data."}}
                ]
            }
        ]
    )
    refused = ask(workspace, "people over 40", now=EVAL_NOW)
    assert refused["intent"] == "unsupported" and refused["segment"] is None


SAMPLE = [r for r in load_requests() if "expected" in r][::9]


@pytest.mark.parametrize("request_", SAMPLE, ids=[str(r["id"]) for r in SAMPLE])
def test_sample_of_the_eval_set_through_the_tool_loop(
    llm: tuple[Flask, int], model: OpenAISandbox, request_: dict
) -> None:
    app, workspace = llm
    facts = load_facts(workspace, now=EVAL_NOW)
    wanted = format_segment(expected_segment(request_, facts))
    model.play(
        [
            {"tool_calls": [{"name": "count_segment", "arguments": {"segment": wanted}}]},
            answer_call(wanted),
        ]
    )
    plan = LLMPlanner.from_config(app.config).plan(request_["text"], facts)
    assert plan.planner == "llm"
    assert format_segment(plan.segment) == wanted
    counted = json.loads(model.requests[1]["messages"][-1]["content"])
    assert counted["valid"] is True
