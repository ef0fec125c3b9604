"""Shared fixtures: an app on a real database (SQLite or PostgreSQL) and a real Redis.

`LUMO_TEST_DATABASE=postgresql` runs the suite on PostgreSQL (a throwaway database created on
`LUMO_TEST_POSTGRES_URL`); the default is a SQLite file. Redis tests use the database
`LUMO_TEST_REDIS_URL` names (15 by default), flushed around each test.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from flask import Flask
from flask.testing import FlaskClient
from redis import Redis

from lumo.app import create_app
from lumo.extensions import db

POSTGRES_ADMIN_URL = os.environ.get(
    "LUMO_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REDIS_TEST_URL = os.environ.get("LUMO_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
BACKEND = os.environ.get("LUMO_TEST_DATABASE", "sqlite")
ENCRYPTION_KEY = Fernet.generate_key().decode()


def pytest_report_header() -> str:
    return f"lumo: database backend {BACKEND}, redis {REDIS_TEST_URL}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh, empty database for the whole run."""
    if BACKEND == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'lumo-test.sqlite3'}"
        return
    if BACKEND != "postgresql":
        raise pytest.UsageError("LUMO_TEST_DATABASE must be sqlite or postgresql")

    name = f"lumo_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def make_test_app(database_url: str, tmp_path: Path, **overrides: Any) -> Flask:
    """An app wired to the test database, with CSRF off unless a test turns it on."""
    settings: dict[str, Any] = {
        "LUMO_ENV": "testing",
        "DATABASE_URL": database_url,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": REDIS_TEST_URL,
        "LUMO_JOBS_MODE": "inline",
        "SECRET_KEY": "test-secret",
        "LUMO_ENCRYPTION_KEY": ENCRYPTION_KEY,
        "LUMO_INSTANCE_PATH": str(tmp_path),
        "WTF_CSRF_ENABLED": False,
    }
    settings.update(overrides)
    return create_app(settings)


@pytest.fixture(scope="session")
def _schema(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Build the schema once per run through the real migrations."""
    from flask_migrate import upgrade

    app = make_test_app(database_url, tmp_path_factory.mktemp("instance"))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return database_url


@pytest.fixture
def app(_schema: str, tmp_path: Path) -> Iterator[Flask]:
    """An app on the migrated test database; every table is emptied after the test."""
    application = make_test_app(_schema, tmp_path)
    with application.app_context():
        yield application
        db.session.rollback()
        _empty_tables()
        db.session.remove()
        application.extensions["lumo.jobs"].wait_idle()
        db.engine.dispose()


def _empty_tables() -> None:
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
            connection.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(db.metadata.sorted_tables):
                connection.execute(table.delete())


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def redis_connection() -> Iterator[Redis]:
    """Database 15 of the test Redis, empty before and after the test."""
    connection = Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=2)
    try:
        connection.ping()
    except Exception as error:  # noqa: BLE001 - any connection failure means no Redis
        pytest.fail(f"Redis is required at {REDIS_TEST_URL}: {error}")
    connection.flushdb()
    yield connection
    connection.flushdb()
    connection.close()


@pytest.fixture
def workspace(app: Flask) -> Any:
    from lumo.workspaces import create_workspace

    created = create_workspace("Test shop", timezone="Asia/Tokyo", currency="JPY")
    db.session.commit()
    return created


@pytest.fixture
def signed_in(app: Flask, client: FlaskClient, workspace: Any) -> FlaskClient:
    from lumo.web.auth import create_account

    create_account(workspace.id, "merchant@example.test", "correct-horse")
    db.session.commit()
    response = client.post(
        "/sign-in", data={"email": "merchant@example.test", "password": "correct-horse"}
    )
    assert response.status_code == 302
    return client
