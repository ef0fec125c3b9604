"""The Segments pages and the save action survive definitions that cannot be read or run."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select

from lumo.extensions import db
from lumo.models import Segment as SavedSegment

from .test_limits import nested_nots


def _store(workspace: Any, name: str, definition: dict[str, Any]) -> SavedSegment:
    """A row as an older version (or a caller past the limits) might have left it."""
    row = SavedSegment(workspace_id=workspace.id, name=name, definition=definition, last_count=7)
    db.session.add(row)
    db.session.commit()
    return row


def test_an_unreadable_saved_segment_is_listed_with_a_note(
    signed_in: FlaskClient, workspace: Any
) -> None:
    _store(workspace, "Too deep", nested_nots(900))
    _store(workspace, "Regulars", {"version": 1, "where": None})

    response = signed_in.get("/segments/")
    page = response.get_data(as_text=True)

    assert response.status_code == 200
    assert "Too deep" in page and "Regulars" in page
    assert "cannot be read" in page and "more than 40 levels deep" in page


def test_an_unreadable_saved_segment_opens_with_the_error_and_can_be_deleted(
    signed_in: FlaskClient, workspace: Any
) -> None:
    row = _store(workspace, "Too deep", nested_nots(900))

    response = signed_in.get(f"/segments/{row.id}")
    page = response.get_data(as_text=True)

    assert response.status_code == 200
    assert 'role="alert"' in page and "cannot be read" in page
    assert "Write them again and save, or delete the Segment." in page
    assert "data-segment-count" not in page  # no preview of "every friend" in its place

    signed_in.post(f"/segments/{row.id}/delete")
    assert db.session.scalar(select(func.count()).select_from(SavedSegment)) == 0


def test_a_saved_segment_that_no_longer_validates_opens_with_the_reason(
    signed_in: FlaskClient, workspace: Any
) -> None:
    where = {"field": "number_of_orders", "op": ">", "value": 10**26}
    row = _store(workspace, "Huge", {"version": 1, "where": where})

    listing = signed_in.get("/segments/")
    editor = signed_in.get(f"/segments/{row.id}")

    assert listing.status_code == 200
    assert f"number_of_orders &gt; {10**26}" in listing.get_data(as_text=True)
    assert editor.status_code == 200
    assert "is too large; use a whole number" in editor.get_data(as_text=True)


def test_the_save_action_refuses_a_deep_json_segment_and_saves_nothing(
    signed_in: FlaskClient, workspace: Any
) -> None:
    response = signed_in.post(
        "/api/agent/actions/save-segment", json={"name": "Deep", "segment": nested_nots(900)}
    )

    assert 400 <= response.status_code < 500
    assert db.session.scalar(select(func.count()).select_from(SavedSegment)) == 0
    assert signed_in.get("/segments/").status_code == 200


def test_out_of_range_values_in_the_editor_are_explained(
    signed_in: FlaskClient, workspace: Any
) -> None:
    for text in ("last_order_date > -999999d", f"number_of_orders > {10**26}"):
        response = signed_in.post(
            "/segments/new", data={"name": "Odd", "text": text, "action": "save"}
        )

        assert response.status_code == 422
        assert 'role="alert"' in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(SavedSegment)) == 0


def test_a_new_segment_cannot_silently_replace_one_with_the_same_name(
    signed_in: FlaskClient, workspace: Any
) -> None:
    first = signed_in.post(
        "/segments/new",
        data={"name": "Dormant VIPs", "text": "number_of_orders >= 1", "action": "save"},
    )
    second = signed_in.post(
        "/segments/new",
        data={"name": "Dormant VIPs", "text": "number_of_orders >= 5", "action": "save"},
    )

    assert first.status_code == 302
    assert second.status_code == 422
    assert "already exists" in second.get_data(as_text=True)
    saved = db.session.scalars(select(SavedSegment)).one()
    assert saved.definition["where"]["value"] == 1


def test_editing_a_segment_can_rename_it(signed_in: FlaskClient, workspace: Any) -> None:
    signed_in.post(
        "/segments/new",
        data={"name": "Regulars", "text": "number_of_orders >= 1", "action": "save"},
    )
    row = db.session.scalars(select(SavedSegment)).one()

    response = signed_in.post(
        f"/segments/{row.id}",
        data={"name": "Loyal", "text": "number_of_orders >= 2", "action": "save"},
    )

    assert response.status_code == 302
    db.session.expire_all()
    assert [r.name for r in db.session.scalars(select(SavedSegment))] == ["Loyal"]
