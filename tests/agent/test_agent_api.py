"""The agent's JSON API: sign-in, workspace scope, CSRF, actions and the glossary."""

from __future__ import annotations

from pathlib import Path

from flask.testing import FlaskClient

from agent.eval.fixture_store import build_fixture_store
from lumo.extensions import db
from lumo.models import FriendLumoTag, LumoTag, Segment
from lumo.web.auth import create_account
from tests.agent.conftest import empty_tables
from tests.conftest import make_test_app


def test_ask_and_act(signed_in: FlaskClient, workspace) -> None:
    build_fixture_store(customers=30)
    db.session.commit()
    response = signed_in.post("/api/agent/messages", json={"text": "blocked friends"})
    assert response.status_code == 200
    answer = response.get_json()
    assert answer["segment"]["text"] == "line_follow_status = 'blocked'"
    assert answer["count"] == 0  # the signed-in workspace has no friends of its own
    assert "pending" not in answer

    follow_up = signed_in.post(
        "/api/agent/messages",
        json={"text": "only VIP", "conversation_id": answer["conversation_id"]},
    )
    refined = follow_up.get_json()
    # No tag called VIP in this workspace, so the glossary's "best customers" applies.
    assert refined["segment"]["text"].startswith(
        "line_follow_status = 'blocked' AND amount_spent >= "
    )
    assert refined["glossary_applied"][0]["term"] == "best customers"

    saved = signed_in.post(
        "/api/agent/actions/save-segment",
        json={"segment": "line_follow_status = 'blocked'", "name": "Blocked"},
    )
    assert saved.status_code == 201
    assert db.session.query(Segment).filter_by(workspace_id=workspace.id, name="Blocked").one()

    tagged = signed_in.post(
        "/api/agent/actions/add-lumo-tag",
        json={"segment": "line_follow_status = 'blocked'", "tag": "Everyone"},
    )
    assert tagged.get_json()["members"] == 0
    assert db.session.query(LumoTag).filter_by(workspace_id=workspace.id).one().name == "Everyone"

    draft = signed_in.post(
        "/api/agent/actions/draft-broadcast",
        json={"segment": "abandoned_checkout_date IS SET", "language": "ja"},
    )
    assert draft.get_json()["messages"][0]["type"] == "text"

    bad = signed_in.post(
        "/api/agent/actions/save-segment", json={"segment": "nonsense = 1", "name": "x"}
    )
    assert bad.status_code == 400 and "nonsense" in bad.get_json()["error"]


def test_add_lumo_tag_tags_every_member(signed_in: FlaskClient, workspace) -> None:
    from lumo.models import LineFriend

    db.session.add_all(
        LineFriend(workspace_id=workspace.id, line_user_id=f"U{i:032x}", follow_status="following")
        for i in range(3)
    )
    db.session.commit()
    first = signed_in.post(
        "/api/agent/actions/add-lumo-tag",
        json={"segment": "line_follow_status = 'following'", "tag": "spring"},
    )
    assert first.get_json()["added"] == 3
    again = signed_in.post(
        "/api/agent/actions/add-lumo-tag",
        json={"segment": "line_follow_status = 'following'", "tag": "Spring"},
    )
    assert again.get_json()["added"] == 0
    assert db.session.query(FriendLumoTag).count() == 3


def test_glossary_get_and_put(signed_in: FlaskClient) -> None:
    entries = signed_in.get("/api/agent/glossary").get_json()["entries"]
    terms = {entry["term"] for entry in entries}
    assert {"frequent buyers", "lapsed customers", "big spenders"} <= terms
    assert any("常連" in entry["synonyms"] for entry in entries)

    entries[0]["definition"] = "orders_placed MATCHES (count >= 4, date > -60d)"
    updated = signed_in.put("/api/agent/glossary", json={"entries": entries})
    assert updated.status_code == 200
    answer = signed_in.post("/api/agent/messages", json={"text": "frequent buyers"}).get_json()
    assert answer["segment"]["text"] == "orders_placed MATCHES (count >= 4, date > -60d)"
    assert answer["glossary_applied"][0]["term"] == "frequent buyers"

    broken = signed_in.put(
        "/api/agent/glossary", json={"entries": [{"term": "x", "definition": "age > 3"}]}
    )
    assert broken.status_code == 400 and "not valid" in broken.get_json()["error"]


def test_sign_in_required(client: FlaskClient) -> None:
    assert client.post("/api/agent/messages", json={"text": "x"}).status_code in (302, 401)
    assert client.get("/api/agent/glossary").status_code in (302, 401)


def test_csrf_header_required(_schema: str, tmp_path: Path) -> None:
    app = make_test_app(_schema, tmp_path, WTF_CSRF_ENABLED=True)
    with app.app_context():
        from lumo.workspaces import create_workspace

        workspace = create_workspace("CSRF shop")
        create_account(workspace.id, "csrf@example.test", "correct-horse")
        db.session.commit()
        client = app.test_client()
        page = client.get("/sign-in").get_data(as_text=True)
        token = page.split('name="csrf_token" value="')[1].split('"')[0]
        client.post(
            "/sign-in",
            data={"email": "csrf@example.test", "password": "correct-horse", "csrf_token": token},
        )
        refused = client.post("/api/agent/messages", json={"text": "blocked friends"})
        assert refused.status_code == 400
        accepted = client.post(
            "/api/agent/messages", json={"text": "blocked friends"}, headers={"X-CSRFToken": token}
        )
        assert accepted.status_code == 200
        db.session.rollback()
        empty_tables()
        db.session.remove()
        db.engine.dispose()
