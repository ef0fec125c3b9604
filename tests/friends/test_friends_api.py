"""JSON endpoints: Lumo tags (CRUD, bulk, names, isolation), the friend list and detail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask, session
from flask.testing import FlaskClient
from flask_wtf.csrf import generate_csrf
from friends_support import World, other_workspace, sign_in_client
from sqlalchemy import select

from lumo.extensions import db
from lumo.friends import lumo_tags
from lumo.friends.follows import record_follow, record_unfollow
from lumo.friends.linking import link_friend
from lumo.models import Customer, CustomerTag, LineFriend, LineMessage, Order


def friend(workspace_id: int, number: int, name: str = "Friend") -> LineFriend:
    at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=number)
    made = record_follow(workspace_id, "U" + f"{number:032x}", at, is_unblocked=False).friend
    made.display_name = f"{name} {number}"
    db.session.commit()
    return made


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.get_json()
    return response.get_json()


def test_lumo_tag_crud_with_names_unique_ignoring_case(signed_in: FlaskClient) -> None:
    created = ok(signed_in.post("/api/lumo-tags", json={"name": "  VIP   customers "}), 201)
    tag = created["lumo_tag"]
    assert tag["name"] == "VIP customers"

    taken = signed_in.post("/api/lumo-tags", json={"name": "vip CUSTOMERS"})
    assert taken.status_code == 409
    assert "already exists" in taken.get_json()["error"]
    assert signed_in.post("/api/lumo-tags", json={"name": "   "}).status_code == 400
    assert signed_in.post("/api/lumo-tags", json={"name": "x" * 101}).status_code == 400
    assert signed_in.post("/api/lumo-tags", json={}).status_code == 400

    other = ok(signed_in.post("/api/lumo-tags", json={"name": "Newsletter"}), 201)["lumo_tag"]
    renamed = ok(signed_in.patch(f"/api/lumo-tags/{tag['id']}", json={"name": "vip customers"}))
    assert renamed["lumo_tag"]["name"] == "vip customers"
    clash = signed_in.patch(f"/api/lumo-tags/{other['id']}", json={"name": "VIP Customers"})
    assert clash.status_code == 409

    listed = ok(signed_in.get("/api/lumo-tags"))["lumo_tags"]
    assert [(t["name"], t["friend_count"]) for t in listed] == [
        ("Newsletter", 0),
        ("vip customers", 0),
    ]
    assert ok(signed_in.delete(f"/api/lumo-tags/{other['id']}"))["deleted"] == other["id"]
    assert signed_in.get(f"/api/lumo-tags/{other['id']}").status_code == 404


def test_lumo_tags_on_one_friend_and_in_bulk(signed_in: FlaskClient, workspace: Any) -> None:
    friends = [friend(workspace.id, n) for n in range(1, 6)]
    first = friends[0].id

    added = ok(
        signed_in.post(f"/api/friends/{first}/lumo-tags", json={"name": "Spring sale"}), 201
    )
    tag_id = added["lumo_tag"]["id"]
    by_id = signed_in.post(f"/api/friends/{first}/lumo-tags", json={"lumo_tag_id": tag_id})
    assert by_id.status_code == 201
    assert [
        t["name"] for t in ok(signed_in.get(f"/api/friends/{first}/lumo-tags"))["lumo_tags"]
    ] == ["Spring sale"]

    ids = [f.id for f in friends] + [999_999]
    bulk = ok(signed_in.post(f"/api/lumo-tags/{tag_id}/friends", json={"friend_ids": ids}))
    assert bulk == {"added": 4, "already": 1, "not_found": [999_999]}
    assert ok(signed_in.get("/api/lumo-tags"))["lumo_tags"][0]["friend_count"] == 5

    some = {"friend_ids": [friends[1].id, friends[2].id]}
    removed = ok(signed_in.post(f"/api/lumo-tags/{tag_id}/friends/remove", json=some))
    assert removed == {"removed": 2, "absent": 0, "not_found": []}
    assert ok(signed_in.delete(f"/api/friends/{first}/lumo-tags/{tag_id}")) == {"removed": True}
    assert ok(signed_in.get("/api/lumo-tags"))["lumo_tags"][0]["friend_count"] == 2

    assert signed_in.post(f"/api/lumo-tags/{tag_id}/friends", json={}).status_code == 400
    bad_ids = signed_in.post(f"/api/lumo-tags/{tag_id}/friends", json={"friend_ids": ["1"]})
    assert bad_ids.status_code == 400


def test_bulk_by_segment_and_by_function(signed_in: FlaskClient, workspace: Any) -> None:
    following = [friend(workspace.id, n) for n in range(1, 4)]
    blocked = friend(workspace.id, 4)
    record_unfollow(workspace.id, blocked.line_user_id, datetime.now(UTC))
    db.session.commit()
    tag = lumo_tags.create_lumo_tag(workspace.id, "Active")

    segment = {"segment": "line_follow_status = 'following'"}
    result = ok(signed_in.post(f"/api/lumo-tags/{tag.id}/friends", json=segment))
    assert result["added"] == 3
    assert ok(signed_in.get("/api/lumo-tags"))["lumo_tags"][0]["friend_count"] == 3
    by_function = lumo_tags.add_lumo_tag_to_friends(
        workspace.id, tag.id, lambda ws: [f.id for f in following] + [blocked.id]
    )
    assert (by_function.changed, by_function.unchanged) == (1, 3)
    bad = signed_in.post(f"/api/lumo-tags/{tag.id}/friends", json={"segment": "no_such_field = 1"})
    assert bad.status_code == 400

    removed = lumo_tags.remove_lumo_tag_from_friends(workspace.id, tag.id, [blocked.id])
    assert (removed.changed, removed.unchanged) == (1, 0)


def test_another_workspaces_friends_and_tags_are_404(
    app: Flask, signed_in: FlaskClient, workspace: Any
) -> None:
    other = other_workspace()
    their_friend = friend(other.id, 9)
    their_tag = lumo_tags.create_lumo_tag(other.id, "Theirs")
    mine = friend(workspace.id, 1)
    my_tag = lumo_tags.create_lumo_tag(workspace.id, "Theirs")  # same name is fine elsewhere

    assert signed_in.get(f"/api/friends/{their_friend.id}").status_code == 404
    assert signed_in.get(f"/api/lumo-tags/{their_tag.id}").status_code == 404
    assert signed_in.patch(f"/api/lumo-tags/{their_tag.id}", json={"name": "x"}).status_code == 404
    assert signed_in.delete(f"/api/lumo-tags/{their_tag.id}").status_code == 404
    put_on = {"lumo_tag_id": their_tag.id}
    assert signed_in.post(f"/api/friends/{mine.id}/lumo-tags", json=put_on).status_code == 404
    tagging = signed_in.post(
        f"/api/lumo-tags/{my_tag.id}/friends", json={"friend_ids": [their_friend.id]}
    )
    assert ok(tagging) == {"added": 0, "already": 0, "not_found": [their_friend.id]}
    listed = ok(signed_in.get("/api/friends"))
    assert [f["id"] for f in listed["friends"]] == [mine.id]


def test_endpoints_need_a_signed_in_account(client: FlaskClient) -> None:
    assert client.get("/api/friends").status_code == 401
    assert client.post("/api/lumo-tags", json={"name": "x"}).status_code == 401


def test_writes_need_the_csrf_token(app: Flask, workspace: Any) -> None:
    merchant = sign_in_client(app, workspace.id, "csrf@example.test")
    app.config["WTF_CSRF_ENABLED"] = True
    assert merchant.post("/api/lumo-tags", json={"name": "No token"}).status_code == 400

    # Mint a token the way a page does, and keep its session half in the client's cookie.
    with app.test_request_context():
        token = generate_csrf()
        raw = session["csrf_token"]
    with merchant.session_transaction() as session_data:
        session_data["csrf_token"] = raw
    headers = {"X-CSRFToken": token}
    created = merchant.post("/api/lumo-tags", json={"name": "With token"}, headers=headers)
    assert created.status_code == 201


def test_friend_list_filters(signed_in: FlaskClient, workspace: Any) -> None:
    aoi = friend(workspace.id, 1, "Aoi")
    ren = friend(workspace.id, 2, "Ren")
    record_unfollow(workspace.id, ren.line_user_id, datetime.now(UTC))
    db.session.add(Customer(workspace_id=workspace.id, shopify_id=501, display_name="A"))
    link_friend(workspace.id, aoi.id, 501, method="manual")
    lumo_tags.add_lumo_tag(workspace.id, ren.id, "Lapsed")
    db.session.commit()

    def ids(query: str) -> list[int]:
        return [f["id"] for f in ok(signed_in.get("/api/friends" + query))["friends"]]

    assert ids("") == [ren.id, aoi.id]
    assert ids("?q=aoi") == [aoi.id]
    assert ids("?follow_status=blocked") == [ren.id]
    assert ids("?linked=true") == [aoi.id]
    assert ids("?linked=false") == [ren.id]
    assert ids("?lumo_tag=lapsed") == [ren.id]
    assert ids(f"?lumo_tag={lumo_tags.find_lumo_tag(workspace.id, 'Lapsed').id}") == [ren.id]
    assert ids("?per_page=1&page=2") == [aoi.id]
    assert signed_in.get("/api/friends?lumo_tag=nope").status_code == 404
    assert signed_in.get("/api/friends?linked=maybe").status_code == 400
    summary = ok(signed_in.get("/api/friends?q=aoi"))["friends"][0]
    assert summary["link"]["customer_shopify_id"] == 501
    assert summary["lumo_tags"] == []


@pytest.fixture
def merchant(world: World) -> FlaskClient:
    return sign_in_client(world.app, world.workspace_id, "chat@example.test")


def test_friend_detail_and_sending_a_message(world: World, merchant: FlaskClient) -> None:
    [followed] = world.line.follow(display_name="Mio")
    world.line.message(followed.events[0]["source"]["userId"], "Is the sale on?")
    world.refresh()
    mio = db.session.scalars(select(LineFriend)).one()
    ws = world.workspace_id
    link_friend(ws, mio.id, 7001, method="manual")
    db.session.add(
        CustomerTag(workspace_id=ws, customer_shopify_id=7001, tag="VIP", tag_key="vip")
    )
    db.session.add(
        Order(
            workspace_id=ws,
            shopify_id=9001,
            customer_shopify_id=7001,
            name="#1001",
            total_price=Decimal("4200"),
            currency="JPY",
            ordered_at=datetime(2026, 2, 2, tzinfo=UTC),
        )
    )
    lumo_tags.add_lumo_tag(ws, mio.id, "Sale asker")
    db.session.commit()

    sent = ok(
        merchant.post(f"/api/friends/{mio.id}/messages", json={"text": "Yes, until Sunday"}), 201
    )
    assert sent["message"]["direction"] == "out"
    [pushed] = world.line.sent_messages(mio.line_user_id, "push")
    assert pushed.texts == ["Yes, until Sunday"]

    detail = ok(merchant.get(f"/api/friends/{mio.id}"))["friend"]
    assert detail["display_name"] == "Mio"
    assert detail["customer"]["shopify_customer_tags"] == ["VIP"]
    assert detail["orders"][0]["name"] == "#1001"
    assert detail["orders"][0]["total_price"] == "4200"
    assert detail["lumo_tags"] == [{"id": detail["lumo_tags"][0]["id"], "name": "Sale asker"}]
    assert [(m["direction"], m["text"]) for m in detail["messages"]] == [
        ("in", "Is the sale on?"),
        ("out", "Yes, until Sunday"),
    ]
    assert merchant.post(f"/api/friends/{mio.id}/messages", json={"text": " "}).status_code == 400
    assert db.session.scalars(select(LineMessage)).all()


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        ("?page=99999999999999999999", 400, "page must be at most 1,000,000"),
        ("?page=1000001", 400, "page must be at most"),
        ("?page=²", 400, "whole number"),
        ("?page=-1", 400, "whole number"),
        ("?per_page=99999999999999999999", 200, None),
        ("?lumo_tag=99999999999999999999", 404, None),
        ("?lumo_tag=²", 404, None),
    ],
)
def test_paging_and_filters_never_overflow(
    signed_in: FlaskClient, workspace: Any, query: str, status: int, message: str | None
) -> None:
    friend(workspace.id, 1)
    response = signed_in.get("/api/friends" + query)
    assert response.status_code == status, response.get_json()
    if message:
        assert message in response.get_json()["error"]
    if status == 200:
        assert response.get_json()["per_page"] == 200


def test_the_last_allowed_page_is_empty_not_an_error(signed_in: FlaskClient, workspace) -> None:
    friend(workspace.id, 1)
    page = ok(signed_in.get("/api/friends?page=1000000&per_page=200"))
    assert page["friends"] == [] and page["total"] == 1


@pytest.mark.parametrize(
    "path",
    [
        "/api/friends/99999999999999999999",
        "/api/friends/99999999999999999999/messages",
        "/api/friends/99999999999999999999/lumo-tags",
        "/api/lumo-tags/99999999999999999999",
    ],
)
def test_huge_ids_in_urls_are_404(signed_in: FlaskClient, path: str) -> None:
    assert signed_in.get(path).status_code == 404


def test_huge_ids_in_bodies_are_400(signed_in: FlaskClient, workspace) -> None:
    made = friend(workspace.id, 1)
    tag = ok(signed_in.post("/api/lumo-tags", json={"name": "Spring"}), 201)["lumo_tag"]
    huge = signed_in.post(f"/api/lumo-tags/{tag['id']}/friends", json={"friend_ids": [10**30]})
    assert huge.status_code == 400 and "friend ids" in huge.get_json()["error"]
    by_id = signed_in.post(f"/api/friends/{made.id}/lumo-tags", json={"lumo_tag_id": 10**30})
    assert by_id.status_code == 400
