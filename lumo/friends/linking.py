"""Linking a LINE friend to a Shopify customer — the pairs LINE status is written back for.

Two ways in:

- LINE's account-link flow (reference line.md §2): Lumo issues a link token for the friend and
  sends them `{LUMO_PUBLIC_URL}/link/start?ws=…&linkToken=…&proof=…`, where `proof` is Lumo's
  signed record of which friend got which token, and when. That page checks the proof, stands
  in for the store's login, learns the customer, stores a single-use `LinkNonce` (10 minutes,
  192 random bits) and redirects to LINE's dialog; LINE then sends an `accountLink` event
  carrying the nonce, and `complete_account_link` makes the link.
- A storefront page behind a Shopify app proxy: the friend opens a link Lumo pushed to them,
  `https://{shop}/apps/lumo/line-link?token=…`, while signed in to the store. The token is an
  itsdangerous signature (app SECRET_KEY) of `{workspace id, LINE user id, random id}`, valid
  for 15 minutes and usable once; Shopify adds `logged_in_customer_id` and signs the request.
  This stands in for verifying a LINE Login ID token.

A customer is linked to at most one friend per workspace and a friend to at most one customer;
linking again replaces the old pair on both sides.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import delete, or_, select

from lumo.extensions import db
from lumo.friends.clients import connected_store, line_client_for, shopify_client_for
from lumo.friends.errors import FriendNotFound, LinkRefused, ShopifyNotConnected
from lumo.friends.follows import get_or_create_friend
from lumo.line import account_link_url, make_nonce
from lumo.models import Customer, CustomerFriendLink, LineFriend, LinkNonce, Workspace
from lumo.shopify import ShopifyError
from lumo.shopify.ids import to_gid

logger = logging.getLogger(__name__)

ACCOUNT_LINK = "account_link"
APP_PROXY = "app_proxy"

NONCE_TTL = timedelta(minutes=10)
#: LINE's link tokens live ten minutes (line.md §2); the page's proof lives as long.
LINK_TOKEN_MAX_AGE = 10 * 60
LINK_PAGE_SALT = "lumo.account-link-page"
#: The longest link token the page accepts (LINE's have 32 characters).
MAX_LINK_TOKEN = 255
STOREFRONT_TOKEN_MAX_AGE = 15 * 60
STOREFRONT_TOKEN_SALT = "lumo.storefront-line-link"
#: Where the storefront reaches Lumo's app proxy (the app's proxy subpath is `apps/lumo`).
APP_PROXY_STOREFRONT_PATH = "/apps/lumo/line-link"
LINK_PAGE_PATH = "/link/start"

CUSTOMER_EXISTS_QUERY = "query($id: ID!) { customer(id: $id) { id } }"


@dataclass(frozen=True)
class StorefrontIdentity:
    """What a storefront link token vouches for."""

    workspace_id: int
    line_user_id: str
    token_id: str


# -- links ----------------------------------------------------------------------------------


def link_of_friend(workspace_id: int, friend_id: int) -> CustomerFriendLink | None:
    return db.session.scalar(
        select(CustomerFriendLink).where(
            CustomerFriendLink.workspace_id == workspace_id,
            CustomerFriendLink.friend_id == friend_id,
        )
    )


def link_of_customer(workspace_id: int, customer_shopify_id: int) -> CustomerFriendLink | None:
    return db.session.scalar(
        select(CustomerFriendLink).where(
            CustomerFriendLink.workspace_id == workspace_id,
            CustomerFriendLink.customer_shopify_id == customer_shopify_id,
        )
    )


def customer_belongs(workspace_id: int, customer_shopify_id: int) -> bool:
    """Is this a customer of the workspace's store? Synced rows first, then Shopify itself."""
    synced = db.session.scalar(
        select(Customer.id).where(
            Customer.workspace_id == workspace_id, Customer.shopify_id == customer_shopify_id
        )
    )
    if synced is not None:
        return True
    if connected_store(workspace_id) is None:
        return False
    try:
        with shopify_client_for(workspace_id) as client:
            data = client.graphql(
                CUSTOMER_EXISTS_QUERY, {"id": to_gid("Customer", customer_shopify_id)}
            )
    except (ShopifyError, ShopifyNotConnected) as error:
        logger.warning(
            "workspace %s: could not ask Shopify about customer %s: %s",
            workspace_id,
            customer_shopify_id,
            type(error).__name__,
        )
        return False
    return bool(data.get("customer"))


def link_friend(
    workspace_id: int, friend_id: int, customer_shopify_id: int, *, method: str
) -> CustomerFriendLink:
    """Link a friend to a customer of the same workspace, replacing either side's old link.

    Flushes but does not commit; call `write_back.request_write_back` after committing.
    """
    friend = db.session.get(LineFriend, friend_id)
    if friend is None or friend.workspace_id != workspace_id:
        raise FriendNotFound(friend_id)
    if not customer_belongs(workspace_id, customer_shopify_id):
        raise LinkRefused(
            f"Customer {customer_shopify_id} is not a customer of this workspace's store; "
            "nothing was linked. Run a sync if the customer is new."
        )

    replaced = db.session.execute(
        delete(CustomerFriendLink).where(
            CustomerFriendLink.workspace_id == workspace_id,
            or_(
                CustomerFriendLink.friend_id == friend_id,
                CustomerFriendLink.customer_shopify_id == customer_shopify_id,
            ),
        )
    )
    # Flush the deletes first so the unique indexes never see old and new pairs together.
    db.session.flush()
    link = CustomerFriendLink(
        workspace_id=workspace_id,
        friend_id=friend_id,
        customer_shopify_id=customer_shopify_id,
        method=method,
        linked_at=datetime.now(UTC),
    )
    db.session.add(link)
    db.session.flush()
    logger.info(
        "workspace %s: friend %s linked to customer %s by %s (%d old link(s) replaced)",
        workspace_id,
        friend_id,
        customer_shopify_id,
        method,
        _rowcount(replaced),
    )
    return link


def unlink(
    workspace_id: int, *, friend_id: int | None = None, customer_shopify_id: int | None = None
) -> int:
    """Remove the link of a friend or of a customer; returns how many links were deleted."""
    if friend_id is None and customer_shopify_id is None:
        raise ValueError("Say which friend or which customer to unlink.")
    conditions = []
    if friend_id is not None:
        conditions.append(CustomerFriendLink.friend_id == friend_id)
    if customer_shopify_id is not None:
        conditions.append(CustomerFriendLink.customer_shopify_id == customer_shopify_id)
    result = db.session.execute(
        delete(CustomerFriendLink).where(
            CustomerFriendLink.workspace_id == workspace_id, or_(*conditions)
        )
    )
    db.session.flush()
    count = _rowcount(result)
    logger.info("workspace %s: %d link(s) removed", workspace_id, count)
    return count


def delete_links(workspace_id: int) -> int:
    """Forget every link and pending link nonce of a workspace (integration removed)."""
    links = db.session.execute(
        delete(CustomerFriendLink).where(CustomerFriendLink.workspace_id == workspace_id)
    )
    db.session.execute(delete(LinkNonce).where(LinkNonce.workspace_id == workspace_id))
    db.session.flush()
    count = _rowcount(links)
    logger.info("workspace %s: all %d link(s) deleted", workspace_id, count)
    return count


# -- LINE account-link flow -------------------------------------------------------------------


def link_page_url(workspace_id: int, link_token: str, friend_id: int) -> str:
    """The page a friend opens to sign in to the store and confirm the link.

    Besides LINE's link token it carries Lumo's signed record of issuing that token to this
    friend of this workspace (`proof`), so the page can tell a real invitation from a guess.
    """
    base = current_app.config["LUMO_PUBLIC_URL"].rstrip("/")
    query = {
        "ws": workspace_id,
        "linkToken": link_token,
        "proof": link_token_proof(workspace_id, friend_id, link_token),
    }
    return f"{base}{LINK_PAGE_PATH}?{urlencode(query)}"


def _link_page_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=LINK_PAGE_SALT)


def _token_digest(link_token: str) -> str:
    return hashlib.sha256(link_token.encode()).hexdigest()[:32]


def link_token_proof(workspace_id: int, friend_id: int, link_token: str) -> str:
    """Lumo's signed, timestamped record that it issued `link_token` to this friend."""
    payload = {"w": workspace_id, "f": friend_id, "t": _token_digest(link_token)}
    return str(_link_page_serializer().dumps(payload))


def verify_link_token(workspace_id: int, link_token: str, proof: str) -> int:
    """The friend id the link token was issued to, if Lumo issued it recently for this workspace.

    Raises `LinkRefused` for a missing, forged, expired or mismatched proof, or when the friend
    is no longer one of the workspace's. Costs one signature check and one row read.
    """
    refused = LinkRefused("This link is not valid or has expired; ask the shop for a new one.")
    if not link_token or not proof or len(link_token) > MAX_LINK_TOKEN or len(proof) > 1000:
        raise refused
    try:
        data: Any = _link_page_serializer().loads(proof, max_age=LINK_TOKEN_MAX_AGE)
    except (BadSignature, SignatureExpired):
        raise refused from None
    if (
        not isinstance(data, dict)
        or data.get("w") != workspace_id
        or data.get("t") != _token_digest(link_token)
        or not isinstance(data.get("f"), int)
    ):
        raise refused
    friend = db.session.get(LineFriend, data["f"])
    if friend is None or friend.workspace_id != workspace_id:
        raise refused
    return friend.id


def send_account_link_invitation(workspace_id: int, friend_id: int) -> str:
    """Issue a LINE link token for the friend and push them the link page; returns its URL."""
    workspace, friend = _workspace_and_friend(workspace_id, friend_id)
    with line_client_for(workspace) as client:
        link_token = client.issue_link_token(friend.line_user_id)
        url = link_page_url(workspace_id, link_token, friend.id)
        client.push(
            friend.line_user_id,
            [_link_button("Link your store account to LINE", "Link account", url)],
        )
    logger.info("workspace %s: account-link invitation sent to friend %s", workspace_id, friend_id)
    return url


def begin_account_link(
    workspace_id: int, customer_shopify_id: int, link_token: str, proof: str
) -> str:
    """Remember a nonce for the signed-in customer; returns LINE's dialog URL to redirect to.

    Only a link token Lumo issued to a friend of this workspace in the last ten minutes gets
    a nonce (`verify_link_token`). The caller commits. The nonce is single-use and expires
    after ten minutes.
    """
    if not link_token:
        raise LinkRefused("This link has no LINE link token; ask the shop to send a new one.")
    verify_link_token(workspace_id, link_token, proof)
    if not customer_belongs(workspace_id, customer_shopify_id):
        raise LinkRefused(
            f"Customer {customer_shopify_id} is not a customer of this store; sign in with "
            "your account at this store."
        )
    nonce = make_nonce()
    db.session.add(
        LinkNonce(
            workspace_id=workspace_id,
            nonce=nonce,
            customer_shopify_id=customer_shopify_id,
            expires_at=datetime.now(UTC) + NONCE_TTL,
        )
    )
    db.session.flush()
    logger.info(
        "workspace %s: link nonce issued for customer %s", workspace_id, customer_shopify_id
    )
    origin = current_app.config["LINE_ACCESS_BASE_URL"]
    return account_link_url(link_token, nonce, origin=origin)


def complete_account_link(
    workspace_id: int, line_user_id: str, nonce: str, *, now: datetime | None = None
) -> CustomerFriendLink:
    """Apply a successful `accountLink` event; unknown, used or expired nonces are refused.

    A nonce is spent by its first use, even a refused one. The caller commits.
    """
    moment = now or datetime.now(UTC)
    stored = db.session.scalar(
        select(LinkNonce).where(LinkNonce.workspace_id == workspace_id, LinkNonce.nonce == nonce)
    )
    if stored is None:
        raise LinkRefused("The link nonce is unknown to this workspace; nothing was linked.")
    if stored.used_at is not None:
        raise LinkRefused("The link nonce was already used; nothing was linked.")
    stored.used_at = moment
    if stored.expires_at <= moment:
        db.session.flush()
        raise LinkRefused("The link nonce expired; the friend must start linking again.")

    friend, _ = get_or_create_friend(workspace_id, line_user_id)
    return link_friend(workspace_id, friend.id, stored.customer_shopify_id, method=ACCOUNT_LINK)


# -- storefront link through the app proxy ----------------------------------------------------


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=STOREFRONT_TOKEN_SALT)


def storefront_link_token(workspace_id: int, line_user_id: str) -> str:
    """A short-lived, signed statement that this LINE user is a friend of this workspace."""
    payload = {"w": workspace_id, "u": line_user_id, "j": secrets.token_urlsafe(16)}
    return str(_serializer().dumps(payload))


def read_storefront_link_token(token: str) -> StorefrontIdentity:
    """Check a storefront link token's signature and age."""
    try:
        data: Any = _serializer().loads(token, max_age=STOREFRONT_TOKEN_MAX_AGE)
    except SignatureExpired as error:
        raise LinkRefused("This link expired; ask for a new one in the LINE chat.") from error
    except BadSignature as error:
        raise LinkRefused("This link is not valid; ask for a new one in the LINE chat.") from error
    if not isinstance(data, dict) or not {"w", "u", "j"} <= data.keys():
        raise LinkRefused("This link is not valid; ask for a new one in the LINE chat.")
    return StorefrontIdentity(int(data["w"]), str(data["u"]), str(data["j"]))


def storefront_link_url(workspace_id: int, friend_id: int) -> str:
    """The storefront address (through the app proxy) that links the signed-in customer."""
    _, friend = _workspace_and_friend(workspace_id, friend_id)
    connection = connected_store(workspace_id)
    if connection is None:
        raise ShopifyNotConnected(
            "Connect a Shopify store first (Integrations → Shopify): the link opens its "
            "storefront."
        )
    token = storefront_link_token(workspace_id, friend.line_user_id)
    query = urlencode({"token": token})
    return f"https://{connection.shop_domain}{APP_PROXY_STOREFRONT_PATH}?{query}"


def send_storefront_link_invitation(workspace_id: int, friend_id: int) -> str:
    """Push the friend a storefront link that links them once they are signed in."""
    workspace, friend = _workspace_and_friend(workspace_id, friend_id)
    url = storefront_link_url(workspace_id, friend_id)
    with line_client_for(workspace) as client:
        client.push(
            friend.line_user_id,
            [_link_button("Sign in to the store to link your LINE account", "Open store", url)],
        )
    logger.info("workspace %s: storefront link sent to friend %s", workspace_id, friend_id)
    return url


def link_from_storefront(
    workspace_id: int, customer_shopify_id: int, token: str, *, now: datetime | None = None
) -> CustomerFriendLink:
    """Link the store's signed-in customer to the friend the token vouches for.

    `workspace_id` comes from the verified app-proxy request's shop; a token minted for another
    workspace is refused. Each token links once. The caller commits.
    """
    identity = read_storefront_link_token(token)
    if identity.workspace_id != workspace_id:
        raise LinkRefused("This link belongs to another store; ask for a new one in LINE.")
    friend = db.session.scalar(
        select(LineFriend).where(
            LineFriend.workspace_id == workspace_id,
            LineFriend.line_user_id == identity.line_user_id,
        )
    )
    if friend is None:
        raise LinkRefused("Follow the shop on LINE first, then open the link again.")

    moment = now or datetime.now(UTC)
    token_key = f"sf-{identity.token_id}"
    if db.session.scalar(select(LinkNonce.id).where(LinkNonce.nonce == token_key)) is not None:
        raise LinkRefused("This link was already used; ask for a new one in the LINE chat.")
    link = link_friend(workspace_id, friend.id, customer_shopify_id, method=APP_PROXY)
    # Spend the token: the unique nonce column refuses a second use, even a concurrent one.
    db.session.add(
        LinkNonce(
            workspace_id=workspace_id,
            nonce=token_key,
            customer_shopify_id=customer_shopify_id,
            expires_at=moment + timedelta(seconds=STOREFRONT_TOKEN_MAX_AGE),
            used_at=moment,
        )
    )
    db.session.flush()
    return link


# -- helpers ----------------------------------------------------------------------------------


def _workspace_and_friend(workspace_id: int, friend_id: int) -> tuple[Workspace, LineFriend]:
    friend = db.session.get(LineFriend, friend_id)
    workspace = db.session.get(Workspace, workspace_id)
    if friend is None or workspace is None or friend.workspace_id != workspace_id:
        raise FriendNotFound(friend_id)
    return workspace, friend


def _link_button(text: str, label: str, url: str) -> dict[str, Any]:
    return {
        "type": "template",
        "altText": text,
        "template": {
            "type": "buttons",
            "text": text,
            "actions": [{"type": "uri", "label": label, "uri": url}],
        },
    }


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
