"""Fixtures of the agent tests: the evaluation store and the OpenAI-compatible stand-in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from agent.eval.fixture_store import EVAL_NOW, build_fixture_store
from lumo.extensions import db
from lumo.sandbox.openai_server import OpenAISandbox, start_openai_sandbox
from tests.conftest import make_test_app


def empty_tables() -> None:
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
            connection.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(db.metadata.sorted_tables):
                connection.execute(table.delete())


@pytest.fixture(scope="module")
def eval_store(_schema: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The evaluation fixture store, built once per module; tables emptied afterwards."""
    app = make_test_app(_schema, tmp_path_factory.mktemp("agent-eval"))
    with app.app_context():
        workspace = build_fixture_store()
        db.session.commit()
        yield workspace.id
        db.session.rollback()
        empty_tables()
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def store(app: Flask) -> int:
    """A smaller fixture store in the per-test app; returns its workspace id."""
    workspace = build_fixture_store(customers=60)
    db.session.commit()
    return int(workspace.id)


@pytest.fixture(scope="module")
def openai_sandbox() -> Iterator[OpenAISandbox]:
    sandbox = start_openai_sandbox()
    yield sandbox
    sandbox.stop()


@pytest.fixture
def model(openai_sandbox: OpenAISandbox) -> OpenAISandbox:
    """The stand-in with an empty script and no recorded requests."""
    openai_sandbox.play([])
    return openai_sandbox


def llm_app(database_url: str, tmp_path: Path, sandbox: OpenAISandbox, **extra: Any) -> Flask:
    return make_test_app(
        database_url,
        tmp_path,
        OPENAI_BASE_URL=sandbox.base_url,
        OPENAI_API_KEY="sk-test",
        LUMO_AGENT_TIMEOUT=2,
        **extra,
    )


__all__ = ["EVAL_NOW", "empty_tables", "llm_app"]
