"""The main job end to end, headless: what `./run demo` does, then checked from the outside.

Fresh database → OAuth connect against the Shopify stand-in → initial sync → webhooks for a new
order, a tag change and an abandoned checkout → follows, links and a block on LINE → the
metafields in the Shopify stand-in → agent questions in English and Japanese whose Segments have
the right members.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from agent.conversation import ask
from lumo.demo import DEMO_SHOP, DemoOptions, DemoState, _steps, _stop_everything
from lumo.extensions import db
from lumo.models import (
    AbandonedCheckout,
    Customer,
    CustomerFriendLink,
    CustomerTag,
    LineFriend,
    Order,
)
from lumo.segments import service
from tests.conftest import make_test_app

pytestmark = pytest.mark.slow


@pytest.fixture
def demo(_schema: str, tmp_path: Path) -> Iterator[tuple[Flask, DemoState]]:
    app = make_test_app(_schema, tmp_path, LUMO_JOBS_MODE="inline")
    state = DemoState()
    with app.app_context():
        try:
            _steps(app, DemoOptions(port=0, customers=120, serve=False), state)
            yield app, state
        finally:
            _stop_everything(state)
            db.session.rollback()
            from tests.conftest import _empty_tables

            _empty_tables()
            db.engine.dispose()


def _count(model: Any, *conditions: Any) -> int:
    db.session.expire_all()
    return int(db.session.scalar(select(func.count()).select_from(model).where(*conditions)))


def _member_customers(workspace_id: int, text: str) -> set[int]:
    friend_ids = service.member_ids(workspace_id, text)
    links = db.session.execute(
        select(CustomerFriendLink.friend_id, CustomerFriendLink.customer_shopify_id).where(
            CustomerFriendLink.workspace_id == workspace_id
        )
    ).all()
    by_friend = dict(links)
    return {by_friend[f] for f in friend_ids if f in by_friend}


def test_the_demo_path_from_an_empty_database(demo: tuple[Flask, DemoState]) -> None:
    app, state = demo
    ws = state.workspace_id
    shop = state.shopify.shop(DEMO_SHOP)
    store = shop.store

    # The initial sync copied the store exactly.
    assert _count(Customer, Customer.workspace_id == ws) == len(store.records["customers"])
    assert _count(Order, Order.workspace_id == ws) == len(store.records["orders"])

    # Webhooks: a new order, a Shopify customer tag change and an abandoned checkout.
    customer_id = state.customer_ids[0]
    variant_id = next(iter(store.records["products"].values()))["variants"][0]["id"]
    orders_before = _count(Order, Order.workspace_id == ws)
    order = shop.create_order(customer_id, [{"variant_id": variant_id, "quantity": 2}])
    shop.update_customer_tags(customer_id, add=["Summer Sale"])
    checkout = shop.start_checkout(state.customer_ids[1], [{"variant_id": variant_id}])
    shop.abandon_checkout(checkout["token"])
    state.shopify.drain()

    assert _count(Order, Order.workspace_id == ws) == orders_before + 1
    assert _count(Order, Order.workspace_id == ws, Order.shopify_id == order["id"]) == 1
    assert (
        _count(
            CustomerTag,
            CustomerTag.workspace_id == ws,
            CustomerTag.customer_shopify_id == customer_id,
            CustomerTag.tag_key == "summer sale",
        )
        == 1
    )
    assert (
        _count(
            AbandonedCheckout,
            AbandonedCheckout.workspace_id == ws,
            AbandonedCheckout.shopify_id == checkout["id"],
        )
        == 1
    )

    # LINE: friends followed, most linked, a few blocked; Shopify holds their status.
    linked = db.session.execute(
        select(CustomerFriendLink.customer_shopify_id, LineFriend.follow_status)
        .join(LineFriend, LineFriend.id == CustomerFriendLink.friend_id)
        .where(CustomerFriendLink.workspace_id == ws)
    ).all()
    assert len(linked) == state.linked > 0
    assert sum(1 for _, status in linked if status == "blocked") == state.blocked > 0
    for customer, status in linked:
        metafields = {
            m["key"]: m["value"] for m in store.metafields_of(f"gid://shopify/Customer/{customer}")
        }
        assert metafields.get("follow_status") == status
        assert metafields.get("friend_added_date")

    # The agent, in English and Japanese, picks exactly the right people.
    following_links = {customer for customer, status in linked if status == "following"}

    answer = ask(ws, "friends who abandoned their cart")
    segment_text = answer["segment"]["text"]
    abandoned = {
        c
        for (c,) in db.session.execute(
            select(AbandonedCheckout.customer_shopify_id).where(
                AbandonedCheckout.workspace_id == ws, AbandonedCheckout.completed_at.is_(None)
            )
        )
    }
    assert _member_customers(ws, segment_text) == abandoned & {c for c, _ in linked}

    answer = ask(ws, "フォロー中の友だち")
    assert _member_customers(ws, answer["segment"]["text"]) == following_links

    answer = ask(ws, "3回以上購入しているリピーター")
    repeaters = {
        c
        for (c,) in db.session.execute(
            select(Customer.shopify_id).where(
                Customer.workspace_id == ws, Customer.number_of_orders >= 3
            )
        )
    }
    assert answer["segment"]["text"]
    assert _member_customers(ws, answer["segment"]["text"]) == repeaters & {c for c, _ in linked}
