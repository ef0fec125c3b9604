"""The `lumo` console script: init, settings, plugins and Segment commands."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask

from lumo.cli import main
from lumo.extensions import db
from lumo.models import Account, Workspace


@pytest.fixture
def run_cli(app: Flask, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # noqa: ANN201
    """Invoke `lumo` against the test app's database."""
    monkeypatch.setenv("DATABASE_URL", app.config["DATABASE_URL"])
    monkeypatch.setenv("LUMO_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("LUMO_ENCRYPTION_KEY", app.config["LUMO_ENCRYPTION_KEY"])
    monkeypatch.setenv("LUMO_JOBS_MODE", "inline")
    runner = CliRunner()

    def invoke(*args: str) -> object:
        result = runner.invoke(main, list(args), catch_exceptions=False)
        db.session.expire_all()
        return result

    return invoke


def test_init_creates_the_first_workspace_and_account(run_cli) -> None:  # noqa: ANN001
    result = run_cli("init", "--email", "owner@example.test", "--password", "long-enough")

    assert result.exit_code == 0, result.output
    assert db.session.query(Workspace).count() == 1
    assert db.session.query(Account).one().email == "owner@example.test"


def test_init_refuses_a_short_password_with_a_reason(run_cli) -> None:  # noqa: ANN001
    result = run_cli("init", "--email", "owner@example.test", "--password", "short")

    assert result.exit_code != 0
    assert "at least 8 characters" in result.output


def test_settings_lists_every_setting_with_help(run_cli) -> None:  # noqa: ANN001
    result = run_cli("settings")

    assert "DATABASE_URL" in result.output
    assert "SHOPIFY_API_VERSION" in result.output


def test_plugins_lists_the_six_categories(run_cli) -> None:  # noqa: ANN001
    result = run_cli("plugins")

    for key in ("customers", "orders", "line_items", "abandoned_checkouts", "carts", "products"):
        assert f"category {key}" in result.output


def test_segment_count_and_members(run_cli, workspace: Workspace) -> None:  # noqa: ANN001
    from lumo.models import LineFriend

    db.session.add_all(
        [
            LineFriend(workspace_id=workspace.id, line_user_id="U1", follow_status="following"),
            LineFriend(workspace_id=workspace.id, line_user_id="U2", follow_status="blocked"),
        ]
    )
    db.session.commit()

    counted = run_cli("segment", "count", "line_follow_status = 'following'")
    members = run_cli("segment", "members", "line_follow_status = 'blocked'")

    assert counted.output.startswith("1 friend matches.")
    blocked = db.session.query(LineFriend).filter_by(line_user_id="U2").one()
    assert members.output.split() == [str(blocked.id)]


def test_a_segment_typo_gets_a_suggestion(run_cli, workspace: Workspace) -> None:  # noqa: ANN001
    result = run_cli("segment", "count", "custmer_tags CONTAINS 'vip'")

    assert result.exit_code != 0
    assert "Did you mean 'customer_tags'?" in result.output
