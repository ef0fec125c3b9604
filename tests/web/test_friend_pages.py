"""Friends: list filters, a friend's page, the chat view and Lumo tags."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from lumo.extensions import db
from lumo.models import FriendLumoTag, LumoTag
from lumo.web.pages import services
from tests.web.factories import (
    link_customer,
    make_friend,
    make_lumo_tag,
    make_message,
    make_order,
    tag_customer,
)


@pytest.fixture
def three_friends(workspace: Any) -> dict[str, Any]:
    aiko = make_friend(workspace.id, "Aiko")
    ben = make_friend(workspace.id, "Ben", follow_status="blocked")
    chie = make_friend(workspace.id, "Chie")
    link_customer(workspace.id, aiko, 42)
    vip = make_lumo_tag(workspace.id, chie, "VIP")
    db.session.commit()
    return {"aiko": aiko, "ben": ben, "chie": chie, "vip": vip}


def _names(client: FlaskClient, query: str) -> set[str]:
    page = client.get(f"/friends/?{query}").get_data(as_text=True)
    table = page.split('<table id="friends">', 1)[1]
    return {name for name in ("Aiko", "Ben", "Chie") if f">{name}</a>" in table}


def test_friend_filters(signed_in: FlaskClient, three_friends: dict[str, Any]) -> None:
    tag_id = three_friends["vip"].id

    assert _names(signed_in, "") == {"Aiko", "Ben", "Chie"}
    assert _names(signed_in, "q=ai") == {"Aiko"}
    assert _names(signed_in, "status=blocked") == {"Ben"}
    assert _names(signed_in, "status=following") == {"Aiko", "Chie"}
    assert _names(signed_in, "linked=yes") == {"Aiko"}
    assert _names(signed_in, "linked=no") == {"Ben", "Chie"}
    assert _names(signed_in, f"tag={tag_id}") == {"Chie"}
    assert _names(signed_in, "status=following&linked=no") == {"Chie"}


def test_search_treats_wildcards_as_text(
    signed_in: FlaskClient, three_friends: dict[str, Any]
) -> None:
    assert _names(signed_in, "q=%25") == set()


def test_friend_page_shows_line_status_customer_tags_and_orders(
    signed_in: FlaskClient, workspace: Any
) -> None:
    friend = make_friend(workspace.id, "Aiko")
    link_customer(workspace.id, friend, 42, display_name="Aiko Tanaka")
    tag_customer(workspace.id, 42, "wholesale")
    make_order(workspace.id, 7, 42, name="#1007")
    make_lumo_tag(workspace.id, friend, "spring-campaign")
    db.session.commit()

    page = signed_in.get(f"/friends/{friend.id}").get_data(as_text=True)

    assert "Following" in page
    assert "2026-01-06 01:30" in page  # friend added, in Tokyo time
    assert "Aiko Tanaka" in page
    assert "Shopify customer tags" in page and "wholesale" in page
    assert "#1007" in page and "¥4,500" in page
    assert "¥12,345" in page
    assert "spring-campaign" in page


def test_chat_shows_messages_and_lumo_tags(signed_in: FlaskClient, workspace: Any) -> None:
    friend = make_friend(workspace.id, "Aiko")
    make_message(workspace.id, friend, "in", "Is the blue shirt back?")
    make_message(workspace.id, friend, "out", "Yes, since Monday!")
    make_lumo_tag(workspace.id, friend, "asked-restock")
    db.session.commit()

    page = signed_in.get(f"/friends/{friend.id}/chat").get_data(as_text=True)

    assert page.index("Is the blue shirt back?") < page.index("Yes, since Monday!")
    assert 'class="message out"' in page
    assert "asked-restock" in page
    assert 'name="text"' in page


def test_adding_a_lumo_tag_reuses_one_with_the_same_name(
    signed_in: FlaskClient, workspace: Any
) -> None:
    aiko = make_friend(workspace.id, "Aiko")
    ben = make_friend(workspace.id, "Ben")
    db.session.commit()

    signed_in.post(f"/friends/{aiko.id}/lumo-tags", data={"name": "Summer  sale"})
    response = signed_in.post(
        f"/friends/{ben.id}/lumo-tags", data={"name": "summer sale", "back": "chat"}
    )

    assert response.headers["Location"].endswith(f"/friends/{ben.id}/chat")
    assert [tag.name for tag in db.session.scalars(select(LumoTag))] == ["Summer sale"]
    assert db.session.query(FriendLumoTag).count() == 2


def test_an_empty_lumo_tag_is_refused_with_a_message(
    signed_in: FlaskClient, workspace: Any
) -> None:
    friend = make_friend(workspace.id, "Aiko")
    db.session.commit()

    response = signed_in.post(
        f"/friends/{friend.id}/lumo-tags", data={"name": "  "}, follow_redirects=True
    )

    assert "Type a Lumo tag name first." in response.get_data(as_text=True)
    assert db.session.query(LumoTag).count() == 0


def test_removing_a_lumo_tag_keeps_it_for_other_friends(
    signed_in: FlaskClient, workspace: Any
) -> None:
    aiko = make_friend(workspace.id, "Aiko")
    ben = make_friend(workspace.id, "Ben")
    tag = make_lumo_tag(workspace.id, aiko, "VIP")
    db.session.add(FriendLumoTag(workspace_id=workspace.id, friend_id=ben.id, lumo_tag_id=tag.id))
    db.session.commit()

    signed_in.post(f"/friends/{aiko.id}/lumo-tags/{tag.id}/remove")

    remaining = db.session.scalars(select(FriendLumoTag.friend_id)).all()
    assert remaining == [ben.id]


def test_replies_go_through_the_friends_sender(
    signed_in: FlaskClient, workspace: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    friend = make_friend(workspace.id, "Aiko")
    db.session.commit()
    sent: list[tuple[int, int, str]] = []
    monkeypatch.setattr(services, "send_reply", lambda ws, f, text: sent.append((ws, f.id, text)))

    response = signed_in.post(f"/friends/{friend.id}/messages", data={"text": " Thanks! "})

    assert response.headers["Location"].endswith(f"/friends/{friend.id}/chat")
    assert sent == [(workspace.id, friend.id, "Thanks!")]


def test_an_empty_reply_is_not_sent(
    signed_in: FlaskClient, workspace: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    friend = make_friend(workspace.id, "Aiko")
    db.session.commit()
    monkeypatch.setattr(services, "send_reply", lambda *args: pytest.fail("must not send"))

    response = signed_in.post(
        f"/friends/{friend.id}/messages", data={"text": " "}, follow_redirects=True
    )

    assert "Type a message before sending." in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("page", "shown"),
    [
        ("99999999999999999999", "Page 3 of 3"),
        ("4", "Page 3 of 3"),
        ("0", "Page 1 of 3"),
        ("-5", "Page 1 of 3"),
        ("²", "Page 1 of 3"),
        ("2", "Page 2 of 3"),
    ],
)
def test_the_page_number_is_clamped(
    signed_in: FlaskClient, workspace: Any, page: str, shown: str
) -> None:
    for number in range(101):
        make_friend(workspace.id, f"Friend {number}")
    db.session.commit()
    response = signed_in.get(f"/friends/?page={page}")
    assert response.status_code == 200
    assert shown in response.get_data(as_text=True)


@pytest.mark.parametrize("tag", ["99999999999999999999", "²"])
def test_a_huge_or_odd_tag_filter_is_ignored(
    signed_in: FlaskClient, three_friends: dict[str, Any], tag: str
) -> None:
    assert signed_in.get(f"/friends/?tag={tag}").status_code == 200


@pytest.mark.parametrize(
    "path", ["/friends/99999999999999999999", "/friends/99999999999999999999/chat"]
)
def test_a_huge_friend_id_is_404(signed_in: FlaskClient, path: str) -> None:
    assert signed_in.get(path).status_code == 404
