"""`lumo agent ask` from the shell."""

from __future__ import annotations

import json

from flask import Flask

from lumo.cli import main
from lumo.segments import service


def test_ask_json_prints_segment_count_and_members(app: Flask, store: int) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(
        main, ["agent", "ask", "blocked friends", "--json", "--workspace", str(store)]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["text_form"] == "line_follow_status = 'blocked'"
    assert data["member_ids"] == service.member_ids(store, data["text_form"])
    assert data["count"] == len(data["member_ids"])


def test_ask_plain_output(app: Flask, store: int) -> None:
    result = app.test_cli_runner().invoke(main, ["agent", "ask", "frequent buyers"])
    assert result.exit_code == 0, result.output
    assert "Segment: orders_placed MATCHES" in result.output
    assert "Glossary: frequent buyers" in result.output
