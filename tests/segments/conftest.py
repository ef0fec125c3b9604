"""A fixture store for Segment tests, on SQLite and on PostgreSQL.

Every friend is built so the right answer of each condition is known by reading this file:
`NOW` is 2026-03-15 12:00 in Asia/Tokyo, and `local(days_ago, hour)` places an event that
many local days before it. Workspace 2 holds a friend and a customer with the same Shopify ids
that match everything; it must never show up in workspace 1's results.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import Flask

from lumo.extensions import db
from lumo.models import (
    AbandonedCheckout,
    Cart,
    Customer,
    CustomerFriendLink,
    CustomerTag,
    FriendLumoTag,
    LineFriend,
    LumoTag,
    Order,
    OrderLineItem,
    Product,
    PropertySetting,
    Workspace,
)
from lumo.segments.fields import SegmentFieldRegistry

POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 3, 15, 12, 0, tzinfo=TOKYO).astimezone(UTC)
W1, W2 = 1, 2


def local(days_ago: int, hour: int = 12, minute: int = 0) -> datetime:
    """An instant `days_ago` local days before NOW's day, at hour:minute Tokyo time."""
    day = date(2026, 3, 15) - timedelta(days=days_ago)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=TOKYO).astimezone(UTC)


def on(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 12, tzinfo=TOKYO).astimezone(UTC)


def builtin_registry() -> SegmentFieldRegistry:
    """The fields of Lumo's own plugins, collected through the plugin manager's hook."""
    from lumo.plugin_manager import build_plugin_manager

    return SegmentFieldRegistry.from_plugin_manager(build_plugin_manager(entry_points=False))


@dataclass
class Store:
    app: Flask
    backend: str
    friends: dict[str, int]
    registry: SegmentFieldRegistry

    def names(self, ids: list[int]) -> set[str]:
        by_id = {friend_id: name for name, friend_id in self.friends.items()}
        return {by_id.get(friend_id, f"unknown:{friend_id}") for friend_id in ids}


def _postgres_available() -> str | None:
    try:
        engine = sa.create_engine(POSTGRES_URL)
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        engine.dispose()
    except Exception as error:  # any connection failure means "skip PostgreSQL"
        return f"PostgreSQL at 127.0.0.1:5432/test is unreachable: {error.__class__.__name__}"
    return None


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def segment_app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """A bare Flask app with Lumo's tables in a fresh SQLite file or PostgreSQL schema."""
    backend = request.param
    schema = None
    options: dict[str, Any] = {}
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('segments') / 'segments.sqlite3'}"
    else:
        reason = _postgres_available()
        if reason:
            pytest.skip(reason)
        url = POSTGRES_URL
        schema = f"segments_{uuid.uuid4().hex[:10]}"
        admin = sa.create_engine(url)
        with admin.begin() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
        options = {"connect_args": {"options": f"-c search_path={schema}"}}

    app = Flask(__name__)
    app.config.update(SQLALCHEMY_DATABASE_URI=url, SQLALCHEMY_ENGINE_OPTIONS=options, TESTING=True)
    db.init_app(app)
    with app.app_context():
        db.create_all()
    app.config["SEGMENT_TEST_BACKEND"] = backend
    try:
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        if schema:
            admin = sa.create_engine(url)
            with admin.begin() as connection:
                connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


@pytest.fixture(scope="module")
def store(segment_app: Flask) -> Iterator[Store]:
    with segment_app.app_context():
        friends = build_store()
        registry = builtin_registry()
        segment_app.extensions["lumo.segment_fields"] = registry
        yield Store(segment_app, segment_app.config["SEGMENT_TEST_BACKEND"], friends, registry)


@pytest.fixture
def in_app(store: Store) -> Iterator[Store]:
    with store.app.app_context():
        yield store


def build_store() -> dict[str, int]:
    """Insert the fixture rows; returns friend name → id (workspace 1 names, plus `other`)."""
    session = db.session
    session.add_all(
        [
            Workspace(id=W1, name="Shop one", timezone="Asia/Tokyo"),
            Workspace(id=W2, name="Shop two", timezone="Asia/Tokyo"),
        ]
    )
    session.flush()
    session.add(
        PropertySetting(workspace_id=W1, category="customers", property_key="email", enabled=True)
    )
    session.add(
        PropertySetting(workspace_id=W1, category="customers", property_key="phone", enabled=False)
    )

    def friend(ws: int, name: str, status: str, added: datetime | None) -> int:
        row = LineFriend(
            workspace_id=ws,
            line_user_id=f"U{name}",
            display_name=name,
            follow_status=status,
            friend_added_at=added,
        )
        session.add(row)
        session.flush()
        return row.id

    friends = {
        "aiko": friend(W1, "aiko", "following", local(5)),
        "ben": friend(W1, "ben", "blocked", local(100)),
        "chika": friend(W1, "chika", "following", local(40)),
        "daisuke": friend(W1, "daisuke", "following", local(0, 9)),
        "emi": friend(W1, "emi", "following", None),
        "fumi": friend(W1, "fumi", "following", local(1, 8)),  # 2026-03-13 23:00 UTC
        "goro": friend(W1, "goro", "blocked", local(7, 0)),
        "other": friend(W2, "other", "following", local(1)),
    }

    def customer(ws: int, shopify_id: int, tags: list[str], **values: Any) -> None:
        session.add(Customer(workspace_id=ws, shopify_id=shopify_id, **values))
        for tag in tags:
            session.add(
                CustomerTag(
                    workspace_id=ws, customer_shopify_id=shopify_id, tag=tag, tag_key=tag.lower()
                )
            )

    customer(
        W1,
        101,
        ["VIP", "O'Brien"],
        number_of_orders=5,
        amount_spent=Decimal(50000),
        currency="JPY",
        state="enabled",
        shopify_created_at=on(2025, 1, 10),
        first_order_at=local(400),
        last_order_at=local(10),
        extra={"email_marketing_state": "subscribed"},
    )
    customer(
        W1,
        102,
        ["vip"],
        number_of_orders=1,
        amount_spent=Decimal(3000),
        currency="JPY",
        state="disabled",
        shopify_created_at=local(200),
        first_order_at=local(200),
        last_order_at=local(200),
        extra={},
    )
    customer(
        W1,
        104,
        [],
        number_of_orders=0,
        amount_spent=None,
        currency=None,
        state="invited",
        shopify_created_at=local(3),
    )
    customer(
        W1,
        105,
        ["セール", "Summer Sale"],
        number_of_orders=2,
        amount_spent=Decimal(7000),
        currency="USD",
        state="ENABLED",
        shopify_created_at=on(2024, 6, 1),
        first_order_at=local(60),
        last_order_at=local(7, 1),
        extra={"email_marketing_state": "UNSUBSCRIBED"},
    )
    customer(W1, 107, ["vip"], number_of_orders=0, state="enabled")  # never linked
    customer(
        W2,
        101,
        ["vip", "w2only"],
        number_of_orders=9,
        amount_spent=Decimal(90000),
        currency="JPY",
        state="enabled",
        shopify_created_at=local(1),
        first_order_at=local(1),
        last_order_at=local(1),
    )

    for ws, name, shopify_id in [
        (W1, "aiko", 101),
        (W1, "ben", 102),
        (W1, "daisuke", 104),
        (W1, "emi", 105),
        (W1, "fumi", 106),  # linked to a customer that has not synced
        (W2, "other", 101),
    ]:
        session.add(
            CustomerFriendLink(
                workspace_id=ws,
                customer_shopify_id=shopify_id,
                friend_id=friends[name],
                method="test",
            )
        )

    def lumo_tag(ws: int, name: str, *tagged: str) -> None:
        row = LumoTag(workspace_id=ws, name=name, name_key=name.lower())
        session.add(row)
        session.flush()
        for who in tagged:
            session.add(FriendLumoTag(workspace_id=ws, friend_id=friends[who], lumo_tag_id=row.id))

    lumo_tag(W1, "VIP", "chika", "goro")
    lumo_tag(W1, "早期購入者", "aiko")
    lumo_tag(W1, "it's", "chika")
    lumo_tag(W1, "unused")
    lumo_tag(W2, "vip", "other")
    lumo_tag(W2, "早期購入者", "other")

    for ws, shopify_id, title, kind, vendor, tags in [
        (W1, 501, "Summer Tee", "Tシャツ", "Lumo Wear", ["summer", "セール"]),
        (W1, 502, "Winter Hat", "Hat", "Acme", ["winter", "50%_off"]),
        (W1, 503, "Tote Bag", "Bag", "lumo wear", ["Summer"]),
        (W2, 501, "Summer Tee", "Tシャツ", "Acme", ["w2tag", "summer"]),
    ]:
        session.add(
            Product(
                workspace_id=ws,
                shopify_id=shopify_id,
                title=title,
                product_type=kind,
                vendor=vendor,
                tags=tags,
            )
        )

    line_id = iter(range(9000, 10000))

    def order(
        ws: int,
        shopify_id: int,
        customer_id: int,
        at: datetime,
        total: int,
        *lines: tuple[int, str, int],
    ) -> None:
        session.add(
            Order(
                workspace_id=ws,
                shopify_id=shopify_id,
                customer_shopify_id=customer_id,
                ordered_at=at,
                total_price=Decimal(total),
                currency="JPY",
            )
        )
        for product_id, title, quantity in lines:
            session.add(
                OrderLineItem(
                    workspace_id=ws,
                    shopify_id=next(line_id),
                    order_shopify_id=shopify_id,
                    product_shopify_id=product_id,
                    product_title=title,
                    quantity=quantity,
                    price=Decimal(1000),
                )
            )

    order(W1, 1, 101, local(10), 10000, (501, "Summer Tee", 2))
    order(W1, 2, 101, local(30), 20000, (502, "Winter Hat", 1))
    order(W1, 3, 101, local(80), 5000)
    order(W1, 4, 101, local(400), 10000, (501, "Summer Tee", 1))
    order(W1, 5, 101, local(500), 5000)
    order(W1, 6, 102, local(200), 3000, (502, "Winter Hat", 3))
    order(W1, 7, 105, local(60), 4000, (503, "Tote Bag", 1))
    order(W1, 8, 105, local(7, 1), 3000, (999, "Mystery box", 1))
    order(W1, 9, None, local(1), 99999)  # a guest order
    for n in range(6):
        order(W2, 100 + n, 101, local(1), 50000, (501, "Summer Tee", 5))

    for ws, shopify_id, customer_id, created, completed, total in [
        (W1, 11, 102, local(2), None, 8000),
        (W1, 12, 104, local(20), local(19), 12000),
        (W1, 13, 105, local(0, 11, 30), None, 500),  # only 30 minutes old
        (W1, 14, 105, local(40), None, 2000),
        (W1, 15, None, local(2), None, 7000),
        (W2, 16, 101, local(1), None, 9000),
    ]:
        session.add(
            AbandonedCheckout(
                workspace_id=ws,
                shopify_id=shopify_id,
                customer_shopify_id=customer_id,
                created_at=created,
                completed_at=completed,
                total_price=Decimal(total),
            )
        )

    for ws, token, customer_id, updated, items in [
        (W1, "c104", 104, local(1), 2),
        (W1, "c105", 105, local(7, 0, 30), 1),  # ordered 30 minutes later: not active
        (W1, "c101", 101, local(20), 3),  # too old
        (W1, "c102", 102, local(1), 0),  # empty
        (W2, "c201", 101, local(0, 10), 4),
    ]:
        session.add(
            Cart(
                workspace_id=ws,
                token=token,
                customer_shopify_id=customer_id,
                shopify_updated_at=updated,
                item_count=items,
            )
        )
    session.commit()
    return friends
