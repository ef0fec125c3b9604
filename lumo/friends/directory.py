"""The friend list and a friend's detail, as JSON-ready dictionaries for the API and pages.

Words stay apart on purpose: `lumo_tags` are Lumo friend tags, `shopify_customer_tags` are
the linked customer's tags from Shopify.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select

from lumo.extensions import db
from lumo.friends.errors import FriendNotFound, LumoTagNotFound
from lumo.friends.lumo_tags import find_lumo_tag
from lumo.models import (
    AbandonedCheckout,
    Cart,
    Customer,
    CustomerFriendLink,
    CustomerTag,
    FriendLumoTag,
    LineFriend,
    LineMessage,
    LumoTag,
    Order,
    WriteBack,
)

MAX_PAGE_SIZE = 200
#: The last page number asked for; far beyond any workspace's friends, and the offset it
#: gives stays inside a 64-bit integer.
MAX_PAGE = 1_000_000
DETAIL_ORDERS = 20
DETAIL_MESSAGES = 100


@dataclass(frozen=True)
class FriendFilters:
    """Filters of the friend list; `lumo_tag` is a Lumo tag id or name."""

    search: str | None = None
    follow_status: str | None = None
    linked: bool | None = None
    lumo_tag: int | str | None = None


def list_friends(
    workspace_id: int, filters: FriendFilters, *, page: int = 1, per_page: int = 50
) -> dict[str, Any]:
    """One page of the workspace's friends, newest first, with total count."""
    page = max(1, min(MAX_PAGE, page))
    per_page = max(1, min(MAX_PAGE_SIZE, per_page))
    conditions = _conditions(workspace_id, filters)

    total = db.session.scalar(select(func.count()).select_from(LineFriend).where(*conditions))
    friends = list(
        db.session.scalars(
            select(LineFriend)
            .where(*conditions)
            .order_by(LineFriend.friend_added_at.desc(), LineFriend.id.desc())
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    )
    ids = [friend.id for friend in friends]
    links = _links_by_friend(workspace_id, ids)
    tags = _lumo_tags_by_friend(workspace_id, ids)
    return {
        "friends": [
            friend_summary(friend, links.get(friend.id), tags.get(friend.id, []))
            for friend in friends
        ],
        "total": int(total or 0),
        "page": page,
        "per_page": per_page,
    }


def friend_detail(workspace_id: int, friend_id: int) -> dict[str, Any]:
    """A friend with the linked customer, orders, carts, Lumo tags and the chat."""
    friend = db.session.get(LineFriend, friend_id)
    if friend is None or friend.workspace_id != workspace_id:
        raise FriendNotFound(friend_id)
    link = _links_by_friend(workspace_id, [friend.id]).get(friend.id)
    detail = friend_summary(
        friend, link, _lumo_tags_by_friend(workspace_id, [friend.id]).get(friend.id, [])
    )
    detail["customer"] = _customer(workspace_id, link.customer_shopify_id) if link else None
    detail["orders"] = _orders(workspace_id, link.customer_shopify_id) if link else []
    detail["carts"] = _carts(workspace_id, link.customer_shopify_id) if link else []
    detail["abandoned_checkouts"] = (
        _checkouts(workspace_id, link.customer_shopify_id) if link else []
    )
    detail["messages"] = _messages(workspace_id, friend.id)
    detail["write_backs"] = _write_backs(workspace_id, friend.id)
    return detail


def friend_summary(
    friend: LineFriend, link: CustomerFriendLink | None, lumo_tags: Sequence[LumoTag]
) -> dict[str, Any]:
    return {
        "id": friend.id,
        "line_user_id": friend.line_user_id,
        "display_name": friend.display_name,
        "picture_url": friend.picture_url,
        "language": friend.language,
        "follow_status": friend.follow_status,
        "friend_added_at": _iso(friend.friend_added_at),
        "blocked_at": _iso(friend.blocked_at),
        "linked": link is not None,
        "link": None
        if link is None
        else {
            "customer_shopify_id": link.customer_shopify_id,
            "method": link.method,
            "linked_at": _iso(link.linked_at),
        },
        "lumo_tags": [{"id": tag.id, "name": tag.name} for tag in lumo_tags],
    }


# -- pieces -----------------------------------------------------------------------------------


def _conditions(workspace_id: int, filters: FriendFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [LineFriend.workspace_id == workspace_id]
    if filters.search:
        pattern = "%" + _escape_like(filters.search.strip().lower()) + "%"
        conditions.append(
            or_(
                func.lower(LineFriend.display_name).like(pattern, escape="\\"),
                func.lower(LineFriend.line_user_id).like(pattern, escape="\\"),
            )
        )
    if filters.follow_status:
        conditions.append(LineFriend.follow_status == filters.follow_status)
    if filters.linked is not None:
        linked = LineFriend.id.in_(
            select(CustomerFriendLink.friend_id).where(
                CustomerFriendLink.workspace_id == workspace_id
            )
        )
        conditions.append(linked if filters.linked else ~linked)
    if filters.lumo_tag is not None:
        tag_id = filters.lumo_tag
        if isinstance(tag_id, str):
            tag = find_lumo_tag(workspace_id, tag_id)
            if tag is None:
                raise LumoTagNotFound(tag_id)
            tag_id = tag.id
        conditions.append(
            LineFriend.id.in_(
                select(FriendLumoTag.friend_id).where(
                    FriendLumoTag.workspace_id == workspace_id,
                    FriendLumoTag.lumo_tag_id == tag_id,
                )
            )
        )
    return conditions


def _links_by_friend(workspace_id: int, ids: list[int]) -> dict[int, CustomerFriendLink]:
    if not ids:
        return {}
    rows = db.session.scalars(
        select(CustomerFriendLink).where(
            CustomerFriendLink.workspace_id == workspace_id, CustomerFriendLink.friend_id.in_(ids)
        )
    )
    return {link.friend_id: link for link in rows}


def _lumo_tags_by_friend(workspace_id: int, ids: list[int]) -> dict[int, list[LumoTag]]:
    if not ids:
        return {}
    rows = db.session.execute(
        select(FriendLumoTag.friend_id, LumoTag)
        .join(LumoTag, LumoTag.id == FriendLumoTag.lumo_tag_id)
        .where(FriendLumoTag.workspace_id == workspace_id, FriendLumoTag.friend_id.in_(ids))
        .order_by(LumoTag.name_key)
    )
    grouped: dict[int, list[LumoTag]] = {}
    for friend_id, tag in rows:
        grouped.setdefault(friend_id, []).append(tag)
    return grouped


def _customer(workspace_id: int, shopify_id: int) -> dict[str, Any]:
    customer = db.session.scalar(
        select(Customer).where(
            Customer.workspace_id == workspace_id, Customer.shopify_id == shopify_id
        )
    )
    tags = list(
        db.session.scalars(
            select(CustomerTag.tag)
            .where(
                CustomerTag.workspace_id == workspace_id,
                CustomerTag.customer_shopify_id == shopify_id,
            )
            .order_by(CustomerTag.tag_key)
        )
    )
    if customer is None:
        # Linked before the customer was synced: say so rather than invent values.
        return {"shopify_id": shopify_id, "synced": False, "shopify_customer_tags": tags}
    data: dict[str, Any] = {
        "shopify_id": shopify_id,
        "synced": True,
        "display_name": customer.display_name,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "state": customer.state,
        "number_of_orders": customer.number_of_orders,
        "amount_spent": _money(customer.amount_spent),
        "currency": customer.currency,
        "last_order_at": _iso(customer.last_order_at),
        "shopify_customer_tags": tags,
    }
    # Personal fields exist only when the merchant opted in to syncing them.
    if customer.email is not None:
        data["email"] = customer.email
    if customer.phone is not None:
        data["phone"] = customer.phone
    return data


def _orders(workspace_id: int, shopify_id: int) -> list[dict[str, Any]]:
    orders = db.session.scalars(
        select(Order)
        .where(Order.workspace_id == workspace_id, Order.customer_shopify_id == shopify_id)
        .order_by(Order.ordered_at.desc(), Order.id.desc())
        .limit(DETAIL_ORDERS)
    )
    return [
        {
            "shopify_id": order.shopify_id,
            "name": order.name,
            "total_price": _money(order.total_price),
            "currency": order.currency,
            "financial_status": order.financial_status,
            "fulfillment_status": order.fulfillment_status,
            "ordered_at": _iso(order.ordered_at),
            "cancelled_at": _iso(order.cancelled_at),
        }
        for order in orders
    ]


def _carts(workspace_id: int, shopify_id: int) -> list[dict[str, Any]]:
    carts = db.session.scalars(
        select(Cart)
        .where(Cart.workspace_id == workspace_id, Cart.customer_shopify_id == shopify_id)
        .order_by(Cart.shopify_updated_at.desc(), Cart.id.desc())
        .limit(DETAIL_ORDERS)
    )
    return [
        {
            "token": cart.token,
            "item_count": cart.item_count,
            "total_price": _money(cart.total_price),
            "currency": cart.currency,
            "note": cart.note,
            "updated_at": _iso(cart.shopify_updated_at),
        }
        for cart in carts
    ]


def _checkouts(workspace_id: int, shopify_id: int) -> list[dict[str, Any]]:
    checkouts = db.session.scalars(
        select(AbandonedCheckout)
        .where(
            AbandonedCheckout.workspace_id == workspace_id,
            AbandonedCheckout.customer_shopify_id == shopify_id,
        )
        .order_by(AbandonedCheckout.created_at.desc(), AbandonedCheckout.id.desc())
        .limit(DETAIL_ORDERS)
    )
    return [
        {
            "shopify_id": checkout.shopify_id,
            "total_price": _money(checkout.total_price),
            "currency": checkout.currency,
            "item_count": checkout.item_count,
            "created_at": _iso(checkout.created_at),
            "completed_at": _iso(checkout.completed_at),
            "recovery_url": checkout.recovery_url,
        }
        for checkout in checkouts
    ]


def _messages(workspace_id: int, friend_id: int) -> list[dict[str, Any]]:
    latest = list(
        db.session.scalars(
            select(LineMessage)
            .where(LineMessage.workspace_id == workspace_id, LineMessage.friend_id == friend_id)
            .order_by(LineMessage.sent_at.desc(), LineMessage.id.desc())
            .limit(DETAIL_MESSAGES)
        )
    )
    return [message_json(message) for message in reversed(latest)]


def message_json(message: LineMessage) -> dict[str, Any]:
    return {
        "id": message.id,
        "direction": message.direction,
        "message_type": message.message_type,
        "text": message.text,
        "sent_at": _iso(message.sent_at),
    }


def _write_backs(workspace_id: int, friend_id: int) -> list[dict[str, Any]]:
    rows = db.session.scalars(
        select(WriteBack)
        .where(WriteBack.workspace_id == workspace_id, WriteBack.friend_id == friend_id)
        .order_by(WriteBack.id.desc())
        .limit(5)
    )
    return [
        {
            "id": row.id,
            "status": row.status,
            "error": row.error,
            "values": row.values,
            "created_at": _iso(row.created_at),
            "finished_at": _iso(row.finished_at),
        }
        for row in rows
    ]


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def _money(amount: Decimal | None) -> str | None:
    return None if amount is None else format(amount.normalize(), "f")


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
