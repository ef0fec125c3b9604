"""Every page needs sign-in, shows only the signed-in workspace, and checks CSRF tokens."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from lumo.extensions import db
from lumo.models import AgentConversation, FriendLumoTag, Segment
from lumo.web.auth import create_account
from tests.conftest import make_test_app
from tests.web.factories import make_friend, make_lumo_tag

PAGES = [
    "/",
    "/friends/",
    "/segments/",
    "/segments/new",
    "/agent/",
    "/integrations/shopify/",
    "/integrations/shopify/setup",
    "/integrations/shopify/dashboard",
    "/integrations/shopify/progress",
    "/integrations/shopify/resync",
    "/integrations/shopify/synced-data",
    "/integrations/shopify/synced-data/customers/email/confirm",
    "/integrations/shopify/remove",
]


@pytest.mark.parametrize("path", PAGES)
def test_signed_out_visitors_are_sent_to_sign_in(client: FlaskClient, path: str) -> None:
    response = client.get(path)

    assert response.status_code == 302
    assert "/sign-in" in response.headers["Location"]


@pytest.mark.parametrize("path", [p for p in PAGES if p != "/integrations/shopify/"])
def test_every_page_renders_for_a_signed_in_merchant(signed_in: FlaskClient, path: str) -> None:
    response = signed_in.get(path)

    assert response.status_code == 200


def test_friend_pages_of_another_workspace_are_not_found(
    signed_in: FlaskClient, other_workspace: Any
) -> None:
    stranger = make_friend(other_workspace.id, "Stranger")
    db.session.commit()

    for path in (f"/friends/{stranger.id}", f"/friends/{stranger.id}/chat"):
        assert signed_in.get(path).status_code == 404
    response = signed_in.post(f"/friends/{stranger.id}/lumo-tags", data={"name": "vip"})
    assert response.status_code == 404
    assert db.session.query(FriendLumoTag).count() == 0


def test_lumo_tags_of_another_workspace_cannot_be_removed(
    signed_in: FlaskClient, workspace: Any, other_workspace: Any
) -> None:
    mine = make_friend(workspace.id, "Mine")
    theirs = make_friend(other_workspace.id, "Theirs")
    tag = make_lumo_tag(other_workspace.id, theirs, "secret")
    db.session.commit()

    response = signed_in.post(f"/friends/{mine.id}/lumo-tags/{tag.id}/remove")

    assert response.status_code == 404


def test_segments_of_another_workspace_are_not_found(
    signed_in: FlaskClient, other_workspace: Any
) -> None:
    theirs = Segment(workspace_id=other_workspace.id, name="Theirs", definition={"version": 1})
    db.session.add(theirs)
    db.session.commit()

    assert signed_in.get(f"/segments/{theirs.id}").status_code == 404
    assert signed_in.post(f"/segments/{theirs.id}/delete").status_code == 404
    assert "Theirs" not in signed_in.get("/segments/").get_data(as_text=True)


def test_agent_conversations_of_another_workspace_are_not_found(
    signed_in: FlaskClient, other_workspace: Any
) -> None:
    theirs = AgentConversation(workspace_id=other_workspace.id, title="Their plans")
    db.session.add(theirs)
    db.session.commit()

    assert signed_in.get(f"/agent/?conversation={theirs.id}").status_code == 404
    assert "Their plans" not in signed_in.get("/agent/").get_data(as_text=True)


def test_the_friend_list_shows_only_the_workspace_s_friends(
    signed_in: FlaskClient, workspace: Any, other_workspace: Any
) -> None:
    make_friend(workspace.id, "Aiko")
    make_friend(other_workspace.id, "Stranger")
    db.session.commit()

    page = signed_in.get("/friends/").get_data(as_text=True)

    assert "Aiko" in page
    assert "Stranger" not in page


def test_the_menu_offers_every_area(signed_in: FlaskClient) -> None:
    page = signed_in.get("/friends/").get_data(as_text=True)
    nav = page.split('<nav class="side"', 1)[1].split("</nav>", 1)[0]

    for label in (
        "Home",
        "Friends",
        "Segments",
        "Marketing Agent",
        "Integrations",
        "Shopify",
        "Setup",
        "Dashboard",
        "Synced Data",
    ):
        assert label in nav
    assert re.search(r'href="/friends/" aria-current="page"', nav)


def test_signing_out_ends_the_session(signed_in: FlaskClient) -> None:
    response = signed_in.post("/sign-out")

    assert response.status_code == 302
    assert signed_in.get("/friends/").status_code == 302


@pytest.fixture
def csrf_client(_schema: str, tmp_path: Path) -> Any:
    """A signed-in client of an app that enforces CSRF, with the page's token at hand."""
    app: Flask = make_test_app(_schema, tmp_path, WTF_CSRF_ENABLED=True)
    with app.app_context():
        from lumo.workspaces import create_workspace

        workspace = create_workspace("CSRF shop")
        create_account(workspace.id, "csrf@example.test", "correct-horse")
        friend = make_friend(workspace.id, "Aiko")
        db.session.commit()
        client = app.test_client()
        page = client.get("/sign-in").get_data(as_text=True)
        form_token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert form_token is not None
        token = form_token.group(1)
        signed = client.post(
            "/sign-in",
            data={"email": "csrf@example.test", "password": "correct-horse", "csrf_token": token},
        )
        assert signed.status_code == 302
        meta = client.get("/friends/").get_data(as_text=True)
        meta_token = re.search(r'name="csrf-token" content="([^"]+)"', meta)
        assert meta_token is not None
        token = meta_token.group(1)
        yield client, token, friend
        db.session.rollback()
        from tests.conftest import _empty_tables

        _empty_tables()
        db.session.remove()
        db.engine.dispose()


def test_forms_without_the_csrf_token_are_refused(csrf_client: Any) -> None:
    client, token, friend = csrf_client

    refused = client.post(f"/friends/{friend.id}/lumo-tags", data={"name": "vip"})
    accepted = client.post(
        f"/friends/{friend.id}/lumo-tags", data={"name": "vip", "csrf_token": token}
    )

    assert refused.status_code == 400
    assert accepted.status_code == 302


def test_json_writes_need_the_csrf_header(csrf_client: Any) -> None:
    client, token, friend = csrf_client

    refused = client.post(f"/friends/{friend.id}/lumo-tags", json={"name": "vip"})
    accepted = client.post(
        f"/friends/{friend.id}/lumo-tags", json={"name": "vip"}, headers={"X-CSRFToken": token}
    )

    assert refused.status_code == 400
    assert accepted.status_code == 201
    assert accepted.json["name"] == "vip"
