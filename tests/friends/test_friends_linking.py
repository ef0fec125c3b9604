"""Linking friends to Shopify customers through LINE's account-link flow, and write-back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest
from flask.testing import FlaskClient
from friends_support import (
    CUSTOMER_IDS,
    World,
    add_synced_customer,
    other_workspace,
    sign_in_client,
)
from sqlalchemy import select

from lumo.extensions import db
from lumo.friends.errors import LinkRefused
from lumo.friends.linking import delete_links, link_friend, unlink
from lumo.models import CustomerFriendLink, LineFriend, LinkNonce, WebhookDelivery, WriteBack


def follow(world: World) -> LineFriend:
    [delivery] = world.line.follow()
    world.refresh()
    user_id = delivery.events[0]["source"]["userId"]
    return db.session.scalars(select(LineFriend).where(LineFriend.line_user_id == user_id)).one()


@pytest.fixture
def merchant(world: World) -> FlaskClient:
    return sign_in_client(world.app, world.workspace_id, "merchant@example.test")


def invite(world: World, merchant: FlaskClient, friend: LineFriend) -> str:
    """The merchant sends the invitation; returns the URL the friend received in LINE."""
    response = merchant.post(
        f"/api/friends/{friend.id}/link-invitation", json={"method": "account_link"}
    )
    assert response.status_code == 200, response.get_json()
    [pushed] = world.line.sent_messages(friend.line_user_id, "push")
    url = pushed.messages[0]["template"]["actions"][0]["uri"]
    assert url == response.get_json()["url"]
    return str(url)


def link_fields(link_url: str) -> dict[str, str]:
    """The hidden fields the link page posts back: workspace, link token and Lumo's proof."""
    query = parse_qs(urlsplit(link_url).query)
    return {key: query[key][0] for key in ("ws", "linkToken", "proof")}


def sign_in_and_confirm(browser: httpx.Client, link_url: str, customer_id: int) -> httpx.Response:
    """The friend opens the link, signs in as the customer and confirms in LINE's dialog."""
    page = browser.get(link_url)
    assert page.status_code == 200
    assert "customer_id" in page.text
    form = {**link_fields(link_url), "customer_id": customer_id}
    redirect = browser.post(link_url.split("?")[0], data=form)
    assert redirect.status_code == 302
    return browser.get(redirect.headers["location"])


def links(world: World) -> set[tuple[int, int]]:
    world.refresh()
    rows = db.session.scalars(select(CustomerFriendLink)).all()
    return {(row.friend_id, row.customer_shopify_id) for row in rows}


def test_follow_link_write_back_then_block_and_unblock(
    world: World, merchant: FlaskClient, browser: httpx.Client
) -> None:
    friend = follow(world)
    link_url = invite(world, merchant, friend)
    assert link_url.startswith(f"{world.lumo.url}/link/start?")

    dialog = sign_in_and_confirm(browser, link_url, 7001)
    assert dialog.status_code == 200
    assert "now linked" in dialog.text
    assert dialog.request.url.host == "127.0.0.1"
    assert str(dialog.request.url).startswith(world.line.url + "/dialog/bot/accountLink")

    assert links(world) == {(friend.id, 7001)}
    nonce = db.session.scalars(select(LinkNonce)).one()
    assert nonce.used_at is not None
    assert len(nonce.nonce) >= 22  # at least 128 random bits, base64
    added_local = friend.friend_added_at.astimezone(ZoneInfo("Asia/Tokyo")).date()
    assert world.metafield(7001, "follow_status") == "following"
    assert world.metafield(7001, "friend_added_date") == added_local.isoformat()

    world.line.unfollow(friend.line_user_id)
    assert world.metafield(7001, "follow_status") == "blocked"
    world.line.follow(friend.line_user_id)
    assert world.metafield(7001, "follow_status") == "following"
    assert world.metafield(7001, "friend_added_date") == added_local.isoformat()

    world.refresh()
    outcomes = db.session.scalars(select(WriteBack.status).order_by(WriteBack.id)).all()
    assert outcomes == ["done", "done", "done"]


def test_a_replayed_nonce_is_refused(
    world: World, merchant: FlaskClient, browser: httpx.Client
) -> None:
    friend = follow(world)
    sign_in_and_confirm(browser, invite(world, merchant, friend), 7001)
    nonce = db.session.scalars(select(LinkNonce.nonce)).one()

    # Someone replays the nonce with a fresh link token for another friend.
    other = follow(world)
    token = world.line.issue_link_token(other.line_user_id)
    [delivery] = world.line.account_link(other.line_user_id, token, nonce)
    assert delivery.status_code == 200

    assert links(world) == {(friend.id, 7001)}
    refused = db.session.scalar(
        select(WebhookDelivery).where(WebhookDelivery.event_id == delivery.event_ids[0])
    )
    assert refused is not None and refused.status == "ignored"
    assert "already used" in (refused.error or "")


def test_an_expired_or_unknown_nonce_is_refused(world: World) -> None:
    friend = follow(world)
    db.session.add(
        LinkNonce(
            workspace_id=world.workspace_id,
            nonce="expired-nonce-0123456789",
            customer_shopify_id=7002,
            expires_at=datetime.now(UTC) - timedelta(seconds=1),
        )
    )
    db.session.commit()
    for nonce in ("expired-nonce-0123456789", "never-issued-nonce-0123"):
        token = world.line.issue_link_token(friend.line_user_id)
        world.line.account_link(friend.line_user_id, token, nonce)

    assert links(world) == set()
    errors = db.session.scalars(
        select(WebhookDelivery.error).where(WebhookDelivery.topic == "accountLink")
    ).all()
    assert any("expired" in (e or "") for e in errors)
    assert any("unknown" in (e or "") for e in errors)
    assert db.session.scalars(select(WriteBack)).all() == []


def test_a_failed_dialog_links_nothing(
    world: World, merchant: FlaskClient, browser: httpx.Client
) -> None:
    friend = follow(world)
    link_url = invite(world, merchant, friend)
    form = {**link_fields(link_url), "customer_id": 7001}
    redirect = browser.post(link_url.split("?")[0], data=form)
    impostor = browser.get(redirect.headers["location"] + "&as=other")
    assert "failed" in impostor.text.lower()
    assert links(world) == set()


def test_a_customer_of_another_workspace_is_refused(
    world: World, merchant: FlaskClient, browser: httpx.Client
) -> None:
    other = other_workspace()
    add_synced_customer(other.id, 8800)
    db.session.commit()
    friend = follow(world)
    link_url = invite(world, merchant, friend)

    page = browser.get(link_url)
    form = {**link_fields(link_url), "customer_id": 8800}
    refused = browser.post(link_url.split("?")[0], data=form)
    assert page.status_code == 200
    assert refused.status_code == 400
    assert "not a customer of this store" in refused.text
    with pytest.raises(LinkRefused):
        link_friend(world.workspace_id, friend.id, 8800, method="manual")
    assert links(world) == set()
    assert db.session.scalars(select(LinkNonce)).all() == []


def test_a_customer_known_to_the_store_but_not_yet_synced_can_link(world: World) -> None:
    from friends_support import add_store_customer

    add_store_customer(world.shop, 7777)
    friend = follow(world)
    link_friend(world.workspace_id, friend.id, 7777, method="manual")
    db.session.commit()
    assert links(world) == {(friend.id, 7777)}


def test_relinking_replaces_both_directions(world: World) -> None:
    first, second = follow(world), follow(world)
    link_friend(world.workspace_id, first.id, 7001, method="manual")
    link_friend(world.workspace_id, second.id, 7002, method="manual")
    db.session.commit()

    link_friend(world.workspace_id, second.id, 7001, method="manual")
    db.session.commit()
    assert links(world) == {(second.id, 7001)}

    link_friend(world.workspace_id, second.id, 7003, method="manual")
    db.session.commit()
    assert links(world) == {(second.id, 7003)}


def test_unlinking_stops_write_back(world: World, merchant: FlaskClient) -> None:
    friend = follow(world)
    link_friend(world.workspace_id, friend.id, 7001, method="manual")
    db.session.commit()

    assert merchant.delete(f"/api/friends/{friend.id}/link").get_json() == {"removed": 1}
    world.line.unfollow(friend.line_user_id)
    assert links(world) == set()
    assert db.session.scalars(select(WriteBack)).all() == []
    assert world.metafield(7001, "follow_status") is None


def test_uninstall_deletes_every_link_and_nothing_is_written_after(world: World) -> None:
    friends = [follow(world) for _ in CUSTOMER_IDS]
    for friend, customer_id in zip(friends, CUSTOMER_IDS, strict=True):
        link_friend(world.workspace_id, friend.id, customer_id, method="manual")
    db.session.commit()

    assert delete_links(world.workspace_id) == 3
    db.session.commit()
    assert unlink(world.workspace_id, friend_id=friends[0].id) == 0
    db.session.commit()
    for friend in friends:
        world.line.unfollow(friend.line_user_id)
    assert links(world) == set()
    assert db.session.scalars(select(WriteBack)).all() == []


def test_a_storefront_invitation_is_pushed_with_the_shops_address(
    world: World, merchant: FlaskClient
) -> None:
    friend = follow(world)
    response = merchant.post(
        f"/api/friends/{friend.id}/link-invitation", json={"method": "storefront"}
    )
    url = response.get_json()["url"]
    assert url.startswith("https://lumo-friends.myshopify.com/apps/lumo/line-link?token=")
    [pushed] = world.line.sent_messages(friend.line_user_id, "push")
    assert pushed.messages[0]["template"]["actions"][0]["uri"] == url
    wrong = merchant.post(f"/api/friends/{friend.id}/link-invitation", json={"method": "x"})
    assert wrong.status_code == 400


def test_a_guessed_link_shows_no_store_name_and_makes_no_nonce(
    world: World, browser: httpx.Client
) -> None:
    other = other_workspace()
    page = f"{world.lumo.url}/link/start"
    for ws in (other.id, world.workspace_id):
        guessed = browser.get(page, params={"ws": ws, "linkToken": "x"})
        assert guessed.status_code == 400
        assert "Other shop" not in guessed.text and "customer_id" not in guessed.text
        assert "not valid or has expired" in guessed.text
        posted = browser.post(page, data={"ws": ws, "linkToken": "x", "customer_id": 7001})
        assert posted.status_code == 400
    world.refresh()
    assert db.session.scalars(select(LinkNonce)).all() == []


def test_a_real_link_moved_to_another_workspace_or_token_is_refused(
    world: World, merchant: FlaskClient, browser: httpx.Client
) -> None:
    other = other_workspace()
    add_synced_customer(other.id, 7001)
    db.session.commit()
    friend = follow(world)
    fields = link_fields(invite(world, merchant, friend))
    page = f"{world.lumo.url}/link/start"

    shown = browser.get(page, params=fields)
    assert shown.status_code == 200 and "customer_id" in shown.text
    for changed in ({"ws": str(other.id)}, {"linkToken": fields["linkToken"] + "x"}):
        moved = browser.post(page, data={**fields, **changed, "customer_id": 7001})
        assert moved.status_code == 400 and "Other shop" not in moved.text
    world.refresh()
    assert db.session.scalars(select(LinkNonce)).all() == []


def test_an_old_proof_is_refused(world: World, merchant: FlaskClient) -> None:
    from itsdangerous import TimestampSigner, URLSafeTimedSerializer

    from lumo.friends.linking import LINK_PAGE_SALT, _token_digest, verify_link_token

    friend = follow(world)

    class ElevenMinutesAgo(TimestampSigner):
        def get_timestamp(self) -> int:
            return super().get_timestamp() - 11 * 60

    with world.app.test_request_context():
        serializer = URLSafeTimedSerializer(
            world.app.config["SECRET_KEY"], salt=LINK_PAGE_SALT, signer=ElevenMinutesAgo
        )
        payload = {"w": world.workspace_id, "f": friend.id, "t": _token_digest("tok")}
        with pytest.raises(LinkRefused):
            verify_link_token(world.workspace_id, "tok", str(serializer.dumps(payload)))
        fresh = URLSafeTimedSerializer(world.app.config["SECRET_KEY"], salt=LINK_PAGE_SALT)
        assert verify_link_token(world.workspace_id, "tok", fresh.dumps(payload)) == friend.id


@pytest.mark.parametrize(
    ("field", "value"),
    [("customer_id", "9" * 25), ("customer_id", "²"), ("ws", "9" * 30)],
)
def test_out_of_range_numbers_on_the_link_page_are_400(
    world: World, merchant: FlaskClient, browser: httpx.Client, field: str, value: str
) -> None:
    friend = follow(world)
    form = {**link_fields(invite(world, merchant, friend)), "customer_id": "7001", field: value}
    response = browser.post(f"{world.lumo.url}/link/start", data=form)
    assert response.status_code == 400
    expected = "at most 19" if field == "customer_id" else "incomplete"
    assert expected in response.text
    world.refresh()
    assert db.session.scalars(select(LinkNonce)).all() == []
