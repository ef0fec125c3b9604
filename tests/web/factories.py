"""Rows the page tests build: friends, links, customers, sync runs, in one workspace each."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from lumo.extensions import db
from lumo.models import (
    Customer,
    CustomerFriendLink,
    CustomerTag,
    FriendLumoTag,
    LineFriend,
    LineMessage,
    LumoTag,
    Order,
    ShopifyConnection,
    SyncRun,
)
from lumo.sync.connection import webhook_topics


def make_friend(workspace_id: int, name: str, **values: Any) -> LineFriend:
    friend = LineFriend(
        workspace_id=workspace_id,
        line_user_id=values.pop("line_user_id", "U" + uuid.uuid4().hex),
        display_name=name,
        follow_status=values.pop("follow_status", "following"),
        friend_added_at=values.pop("friend_added_at", datetime(2026, 1, 5, 16, 30, tzinfo=UTC)),
        **values,
    )
    db.session.add(friend)
    db.session.flush()
    return friend


def make_lumo_tag(workspace_id: int, friend: LineFriend, name: str) -> LumoTag:
    tag = LumoTag(workspace_id=workspace_id, name=name, name_key=name.casefold())
    db.session.add(tag)
    db.session.flush()
    db.session.add(
        FriendLumoTag(workspace_id=workspace_id, friend_id=friend.id, lumo_tag_id=tag.id)
    )
    db.session.flush()
    return tag


def link_customer(
    workspace_id: int, friend: LineFriend, shopify_id: int, **values: Any
) -> Customer:
    customer = Customer(
        workspace_id=workspace_id,
        shopify_id=shopify_id,
        display_name=values.pop("display_name", f"Customer {shopify_id}"),
        number_of_orders=values.pop("number_of_orders", 1),
        amount_spent=values.pop("amount_spent", Decimal("12345.0000")),
        currency=values.pop("currency", "JPY"),
        **values,
    )
    db.session.add(customer)
    db.session.add(
        CustomerFriendLink(
            workspace_id=workspace_id,
            customer_shopify_id=shopify_id,
            friend_id=friend.id,
            method="account_link",
        )
    )
    db.session.flush()
    return customer


def tag_customer(workspace_id: int, shopify_id: int, tag: str) -> None:
    db.session.add(
        CustomerTag(
            workspace_id=workspace_id, customer_shopify_id=shopify_id, tag=tag, tag_key=tag.lower()
        )
    )
    db.session.flush()


def make_order(
    workspace_id: int, shopify_id: int, customer_shopify_id: int, **values: Any
) -> Order:
    order = Order(
        workspace_id=workspace_id,
        shopify_id=shopify_id,
        customer_shopify_id=customer_shopify_id,
        name=values.pop("name", f"#{1000 + shopify_id}"),
        total_price=values.pop("total_price", Decimal("4500")),
        currency=values.pop("currency", "JPY"),
        ordered_at=values.pop("ordered_at", datetime(2026, 2, 1, 3, 0, tzinfo=UTC)),
        **values,
    )
    db.session.add(order)
    db.session.flush()
    return order


def make_message(workspace_id: int, friend: LineFriend, direction: str, text: str) -> LineMessage:
    message = LineMessage(
        workspace_id=workspace_id, friend_id=friend.id, direction=direction, text=text
    )
    db.session.add(message)
    db.session.flush()
    return message


def connect_store(workspace_id: int, **values: Any) -> ShopifyConnection:
    connection = ShopifyConnection(
        workspace_id=workspace_id,
        shop_domain=values.pop("shop_domain", "lumo-demo.myshopify.com"),
        access_token=values.pop("access_token", "shpat_test"),
        state=values.pop("state", "connected"),
        webhooks_registered_at=values.pop(
            "webhooks_registered_at", datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
        ),
        webhook_topics=values.pop("webhook_topics", list(webhook_topics())),
        installed_at=datetime(2026, 3, 1, 0, 0, tzinfo=UTC),
        **values,
    )
    db.session.add(connection)
    db.session.flush()
    return connection


def make_run(workspace_id: int, kind: str, status: str, **values: Any) -> SyncRun:
    run = SyncRun(workspace_id=workspace_id, kind=kind, status=status, **values)
    db.session.add(run)
    db.session.flush()
    return run
