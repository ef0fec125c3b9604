"""The OpenAI-compatible stand-in speaks the real response shape to the real client."""

from __future__ import annotations

import openai
import pytest

from lumo.sandbox.openai_server import OpenAISandbox


def client(sandbox: OpenAISandbox, timeout: float = 5) -> openai.OpenAI:
    return openai.OpenAI(
        api_key="sk-test", base_url=sandbox.base_url, timeout=timeout, max_retries=0
    )


def test_scripted_tool_calls_and_recording(model: OpenAISandbox) -> None:
    model.play(
        [{"tool_calls": [{"name": "list_tags", "arguments": {"x": 1}}]}, {"content": "done"}]
    )
    first = client(model).chat.completions.create(
        model="m", messages=[{"role": "user", "content": "hi"}]
    )
    call = first.choices[0].message.tool_calls[0]
    assert first.choices[0].finish_reason == "tool_calls"
    assert call.function.name == "list_tags" and call.function.arguments == '{"x": 1}'
    second = client(model).chat.completions.create(
        model="m", messages=[{"role": "user", "content": "again"}]
    )
    assert second.choices[0].message.content == "done"
    assert [r["messages"][0]["content"] for r in model.requests] == ["hi", "again"]


def test_fault_switches(model: OpenAISandbox) -> None:
    model.play([{"fault": "500"}, {"fault": "timeout", "seconds": 2}, {"fault": "malformed"}])
    with pytest.raises(openai.InternalServerError):
        client(model).chat.completions.create(model="m", messages=[])
    with pytest.raises(openai.APITimeoutError):
        client(model, timeout=0.5).chat.completions.create(model="m", messages=[])
    malformed = client(model).chat.completions.create(model="m", messages=[])
    assert malformed.choices[0].message.tool_calls[0].function.arguments == '{"segment": '


def test_binds_loopback_only() -> None:
    with pytest.raises(ValueError, match="loopback"):
        OpenAISandbox().start(host="0.0.0.0")
