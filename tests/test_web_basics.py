"""The app serves: health check, sign-in, the home page, CSRF and workspace scoping."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from lumo.extensions import db
from lumo.models import Workspace
from lumo.web.auth import create_account
from lumo.workspaces import create_workspace
from tests.conftest import make_test_app


def test_healthz_reports_database_and_redis(client: FlaskClient) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json["database"] == "ok"
    assert response.json["status"] == "ok"


def test_healthz_is_503_when_the_database_is_unreachable(tmp_path: Path) -> None:
    app = make_test_app("postgresql+psycopg://nobody@127.0.0.1:1/none", tmp_path)

    with app.app_context():
        response = app.test_client().get("/healthz")

    assert response.status_code == 503
    assert response.json["database"].startswith("unreachable")


def test_pages_need_sign_in(client: FlaskClient) -> None:
    response = client.get("/")

    assert response.status_code == 302
    assert "/sign-in" in response.headers["Location"]


def test_a_wrong_password_is_refused_with_a_clear_message(
    client: FlaskClient, workspace: Workspace
) -> None:
    create_account(workspace.id, "m@example.test", "right-password")
    db.session.commit()

    response = client.post("/sign-in", data={"email": "m@example.test", "password": "nope"})

    assert response.status_code == 401
    assert b"don&#39;t match" in response.data


def test_signed_in_merchants_see_their_own_workspace(signed_in: FlaskClient) -> None:
    other = create_workspace("Someone else's shop")
    db.session.commit()

    page = signed_in.get("/").get_data(as_text=True)

    assert "Test shop" in page
    assert other.name not in page
    assert "Abandoned checkouts" in page


@pytest.mark.parametrize(
    "target",
    ["//evil.example/", "/%09/evil.example", "/\\evil.example", "https://evil.example/", "x"],
)
def test_sign_in_never_redirects_off_site(
    client: FlaskClient, workspace: Workspace, target: str
) -> None:
    create_account(workspace.id, "m@example.test", "right-password")
    db.session.commit()

    response = client.post(
        f"/sign-in?next={target}",
        data={"email": "m@example.test", "password": "right-password"},
    )

    assert response.headers["Location"] == "/"


def test_sign_in_returns_to_the_page_asked_for(client: FlaskClient, workspace: Workspace) -> None:
    create_account(workspace.id, "m@example.test", "right-password")
    db.session.commit()

    response = client.post(
        "/sign-in?next=/friends/", data={"email": "m@example.test", "password": "right-password"}
    )

    assert response.headers["Location"] == "/friends/"


def test_oversized_bodies_are_refused_before_being_read(_schema: str, tmp_path: Path) -> None:
    app = make_test_app(_schema, tmp_path, LUMO_MAX_REQUEST_BYTES=1024)

    with app.app_context():
        response = app.test_client().post(
            "/webhooks/shopify",
            data=b"x" * 4096,
            headers={"X-Shopify-Hmac-Sha256": "bad", "Content-Type": "application/json"},
        )

    assert response.status_code == 413


def test_forms_without_a_csrf_token_are_refused(_schema: str, tmp_path: Path) -> None:
    app: Flask = make_test_app(_schema, tmp_path, WTF_CSRF_ENABLED=True)

    with app.app_context():
        response = app.test_client().post(
            "/sign-in", data={"email": "x@example.test", "password": "whatever1"}
        )

    assert response.status_code == 400
