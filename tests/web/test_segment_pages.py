"""Segments: list, create and edit with the text form, preview with count and reachability."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from lumo.extensions import db
from lumo.models import Segment
from tests.web.factories import link_customer, make_friend, make_lumo_tag


def _friends(workspace: Any) -> None:
    aiko = make_friend(workspace.id, "Aiko")
    make_friend(workspace.id, "Ben", follow_status="blocked")
    link_customer(workspace.id, aiko, 42)
    make_lumo_tag(workspace.id, aiko, "vip")
    db.session.commit()


def test_preview_shows_count_reachability_and_members(
    signed_in: FlaskClient, workspace: Any
) -> None:
    _friends(workspace)

    response = signed_in.post(
        "/segments/new", data={"text": "shopify_linked = true", "action": "preview"}
    )
    page = response.get_data(as_text=True)

    assert response.status_code == 200
    assert "<strong data-segment-count>1</strong>" in page
    assert "Reachable now" in page
    assert ">Aiko</a>" in page and ">Ben</a>" not in page
    assert db.session.query(Segment).count() == 0


def test_an_invalid_text_form_is_explained(signed_in: FlaskClient, workspace: Any) -> None:
    response = signed_in.post(
        "/segments/new", data={"name": "Bad", "text": "lumo_tagz CONTAINS 'vip'", "action": "save"}
    )
    page = response.get_data(as_text=True)

    assert response.status_code == 422
    assert "lumo_tags" in page  # the suggestion
    assert 'aria-invalid="true"' in page
    assert db.session.query(Segment).count() == 0


def test_saving_editing_and_deleting_a_segment(signed_in: FlaskClient, workspace: Any) -> None:
    _friends(workspace)

    saved = signed_in.post(
        "/segments/new",
        data={"name": "VIP friends", "text": "lumo_tags CONTAINS 'vip'", "action": "save"},
    )
    row = db.session.scalar(select(Segment))
    assert saved.headers["Location"].endswith(f"/segments/{row.id}")
    assert row.last_count == 1

    listing = signed_in.get("/segments/").get_data(as_text=True)
    assert "VIP friends" in listing and "lumo_tags CONTAINS" in listing

    editor = signed_in.get(f"/segments/{row.id}").get_data(as_text=True)
    assert "lumo_tags CONTAINS &#39;vip&#39;" in editor

    signed_in.post(
        f"/segments/{row.id}",
        data={"name": "Following", "text": "line_follow_status = 'following'", "action": "save"},
    )
    db.session.expire_all()
    assert [s.name for s in db.session.scalars(select(Segment))] == ["Following"]

    current = db.session.scalar(select(Segment))
    signed_in.post(f"/segments/{current.id}/delete")
    assert db.session.query(Segment).count() == 0


def test_a_segment_needs_a_name(signed_in: FlaskClient, workspace: Any) -> None:
    response = signed_in.post("/segments/new", data={"text": "", "action": "save"})

    assert response.status_code == 422
    assert "Give the Segment a name" in response.get_data(as_text=True)


def test_the_agent_s_segment_prefills_the_editor(signed_in: FlaskClient, workspace: Any) -> None:
    page = signed_in.get(
        "/segments/new?name=Cart+abandoners&text=has_active_cart+%3D+true"
    ).get_data(as_text=True)

    assert 'value="Cart abandoners"' in page
    assert "has_active_cart = true" in page
    assert "data-segment-count" in page


def test_the_agent_page_posts_to_the_agent_api(signed_in: FlaskClient) -> None:
    page = signed_in.get("/agent/").get_data(as_text=True)

    assert 'data-agent-api="/api/agent/messages"' in page
    assert 'for="agent-text"' in page


def test_preview_dates_are_in_the_workspace_time_zone(
    signed_in: FlaskClient, workspace: Any
) -> None:
    # 2026-01-05 16:30 UTC is already 2026-01-06 in Tokyo, the test workspace's zone.
    make_friend(workspace.id, "Aiko")
    db.session.commit()

    page = signed_in.post(
        "/segments/new",
        data={"text": "line_friend_added_date > 2025-12-31", "action": "preview"},
    ).get_data(as_text=True)

    assert "2026-01-06" in page
    assert "T16:30" not in page and "2026-01-05" not in page
