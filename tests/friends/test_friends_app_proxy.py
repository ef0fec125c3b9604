"""The storefront link through a Shopify app proxy: signature, shop, customer and token."""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import urlencode

from flask.testing import FlaskClient
from friends_support import API_SECRET, SHOP_DOMAIN, World, other_workspace
from sqlalchemy import select

from lumo.extensions import db
from lumo.friends.linking import storefront_link_token, storefront_link_url
from lumo.models import CustomerFriendLink, LineFriend
from lumo.shopify.webhooks import app_proxy_message


def proxy_query(params: dict[str, str], secret: str = API_SECRET) -> str:
    """Sign the query the way Shopify does for app proxies (sorted key=value, hex HMAC)."""
    message = app_proxy_message({key: [value] for key, value in params.items()}).encode()
    signature = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return urlencode({**params, "signature": signature})


def proxy_params(token: str, customer: str = "7002", **extra: str) -> dict[str, str]:
    return {
        "shop": SHOP_DOMAIN,
        "logged_in_customer_id": customer,
        "path_prefix": "/apps/lumo",
        "timestamp": str(int(time.time())),
        "token": token,
        **extra,
    }


def a_friend(world: World) -> LineFriend:
    [delivery] = world.line.follow()
    world.refresh()
    user_id = delivery.events[0]["source"]["userId"]
    return db.session.scalars(select(LineFriend).where(LineFriend.line_user_id == user_id)).one()


def linked_pairs() -> set[tuple[int, int]]:
    db.session.expire_all()
    return {
        (r.friend_id, r.customer_shopify_id)
        for r in db.session.scalars(select(CustomerFriendLink))
    }


def test_a_signed_storefront_request_links_the_signed_in_customer(
    world: World, client: FlaskClient
) -> None:
    friend = a_friend(world)
    url = storefront_link_url(world.workspace_id, friend.id)
    assert url.startswith(f"https://{SHOP_DOMAIN}/apps/lumo/line-link?token=")
    token = storefront_link_token(world.workspace_id, friend.line_user_id)

    response = client.get("/proxy/line-link?" + proxy_query(proxy_params(token)))
    assert response.status_code == 200
    assert b"now linked" in response.data
    assert linked_pairs() == {(friend.id, 7002)}
    assert world.metafield(7002, "follow_status") == "following"

    again = client.get("/proxy/line-link?" + proxy_query(proxy_params(token, "7003")))
    assert again.status_code == 400
    assert b"already used" in again.data
    assert linked_pairs() == {(friend.id, 7002)}


def test_a_bad_signature_or_an_old_request_is_refused(world: World, client: FlaskClient) -> None:
    friend = a_friend(world)
    token = storefront_link_token(world.workspace_id, friend.line_user_id)

    forged = client.get("/proxy/line-link?" + proxy_query(proxy_params(token), "not-the-secret"))
    tampered_query = proxy_query(proxy_params(token)).replace("7002", "7003")
    tampered = client.get("/proxy/line-link?" + tampered_query)
    old = proxy_params(token, timestamp=str(int(time.time()) - 3600))
    stale = client.get("/proxy/line-link?" + proxy_query(old))

    assert [forged.status_code, tampered.status_code, stale.status_code] == [401, 401, 401]
    assert linked_pairs() == set()


def test_a_token_of_another_workspace_or_no_customer_links_nothing(
    world: World, client: FlaskClient
) -> None:
    friend = a_friend(world)
    foreign = storefront_link_token(other_workspace().id, friend.line_user_id)
    refused = client.get("/proxy/line-link?" + proxy_query(proxy_params(foreign)))
    assert refused.status_code == 400

    token = storefront_link_token(world.workspace_id, friend.line_user_id)
    signed_out = client.get("/proxy/line-link?" + proxy_query(proxy_params(token, "")))
    assert signed_out.status_code == 200
    assert b"Sign in" in signed_out.data

    forged_token = client.get("/proxy/line-link?" + proxy_query(proxy_params(token + "x")))
    assert forged_token.status_code == 400
    assert linked_pairs() == set()
