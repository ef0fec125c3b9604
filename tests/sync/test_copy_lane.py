"""The COPY lane stores exactly what the upsert path stores, and steps aside when it must.

Most of these need PostgreSQL (the lane's home); on SQLite they check that it never opens.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import current_app
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from lumo import hookimpl
from lumo.app import plugin_manager
from lumo.categories import Category
from lumo.extensions import db
from lumo.mapping import CopyPlan, MapContext, RecordShape
from lumo.models import (
    AbandonedCheckout,
    Customer,
    CustomerTag,
    Order,
    OrderLineItem,
    RejectedRecord,
    SyncRun,
)
from lumo.sandbox.shopify_server import SandboxShop, ShopifySandbox
from lumo.shopify.bulk import parse_bulk_lines
from lumo.sync import copy_lane
from lumo.sync.bulk_import import import_records
from lumo.sync.copy_lane import CopyLane
from lumo.sync.properties import map_context
from lumo.sync.runs import begin_run, finish_run
from lumo.sync.service import start_initial_sync, start_resync
from tests.sync.conftest import connect

MODELS = (Customer, CustomerTag, Order, OrderLineItem, AbandonedCheckout)
NEWER = datetime(2099, 1, 1, tzinfo=UTC)
LANE = "lumo.sync.copy_lane"


def on_postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def needs_postgresql() -> None:
    if not on_postgresql():
        pytest.skip("the COPY lane is PostgreSQL's; on SQLite every sync upserts")


def snapshot(workspace_id: int) -> dict[str, list[tuple[Any, ...]]]:
    """Every stored row of the lane's tables, without the columns a run numbers itself."""
    db.session.rollback()
    tables = {}
    for model in MODELS:
        columns = [c for c in model.__table__.columns if c.name not in ("id", "last_sync_run_id")]
        query = select(*columns).where(model.workspace_id == workspace_id)
        tables[model.__tablename__] = sorted(
            (tuple(row) for row in db.session.execute(query)), key=repr
        )
    return tables


def wipe(workspace_id: int) -> None:
    for model in MODELS:
        db.session.execute(db.delete(model).where(model.workspace_id == workspace_id))
    db.session.commit()


def lane_messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LANE]


def items_in(shop: SandboxShop, but: int | None = None) -> int:
    """The line items of the stand-in's orders (all, or all but one order's)."""
    return sum(
        len(r.get("line_items") or []) for n, r in shop.data.iter_records("orders") if n != but
    )


def an_order_without_its_items(shop: SandboxShop, caplog: pytest.LogCaptureFixture) -> int:
    """Empty the line items (so the next initial sync copies them) and pick an order that
    has some."""
    needs_postgresql()
    db.session.execute(db.delete(OrderLineItem))
    db.session.commit()
    caplog.set_level(logging.INFO, logger=LANE)
    return next(n for n, r in shop.data.iter_records("orders") if r.get("line_items"))


def sync_racing_the_guard(
    workspace_id: int, order: int, webhook: Callable[[Any], None], monkeypatch: Any
) -> SyncRun:
    """Run an initial sync in which `webhook` writes, on its own connection, just before the
    lane guards the batch holding `order`."""
    real = CopyLane._guard

    def racing(self: CopyLane, name: str, staged: bytes, numbers: list[int]) -> None:
        if order in numbers:
            with db.engine.begin() as other:
                webhook(other)
        real(self, name, staged, numbers)

    monkeypatch.setattr(CopyLane, "_guard", racing)
    run = start_initial_sync(workspace_id)
    db.session.refresh(run)
    return run


def add_odd_records(shop: SandboxShop) -> None:
    """Records with the shapes a mapper must take care over."""
    shop.store.put(
        "customers",
        {
            "id": 6100000009001,
            "first_name": None,
            "last_name": None,
            "email": "someone@example.com",
            "phone": None,
            "tags": ["VIP", "vip", " Sale ", ""],
            "state": "enabled",
            "currency": "JPY",
            "created_at": "2024-02-29T23:59:59+09:00",
            "updated_at": "2025-01-01T00:00:00.123456Z",
        },
    )
    shop.store.put(
        "orders",
        {
            "id": 5500000009001,
            "name": "#9001",
            "customer_id": None,
            "currency": "JPY",
            "processed_at": "2025-06-30T23:30:00-05:00",
            "created_at": "2025-06-30T23:30:00-05:00",
            "updated_at": "2025-07-01T04:31:00Z",
            "cancelled_at": "2025-07-01T04:31:00Z",
            "financial_status": "refunded",
            "fulfillment_status": None,
            "total_price": "1234.5678",
            "line_items": [
                {
                    "id": 1400000009001,
                    "product_id": None,
                    "variant_id": None,
                    "title": "Gift wrapping",
                    "variant_title": None,
                    "sku": "",
                    "quantity": 0,
                    "price": "-0.50",
                }
            ],
        },
    )


#: Batches prepared by a forked process (the default), or by the importing one.
PREPARED_BY = pytest.mark.parametrize("forked", [True, False], ids=["forked", "in-process"])


@PREPARED_BY
def test_the_lane_stores_what_the_upserts_store(
    merchant: tuple[FlaskClient, int],
    sandbox: ShopifySandbox,
    shop: SandboxShop,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    forked: bool,
) -> None:
    web, workspace_id = merchant
    needs_postgresql()
    monkeypatch.setitem(current_app.config, "LUMO_SYNC_LANE_PROCESS", forked)
    add_odd_records(shop)
    caplog.set_level(logging.INFO, logger=LANE)

    assert connect(web, sandbox).status_code == 302
    sandbox.drain()
    run = db.session.scalar(select(SyncRun).where(SyncRun.kind == "initial"))
    assert run is not None and run.status == "complete", run and run.error
    copied = snapshot(workspace_id)
    messages = lane_messages(caplog)
    for key in ("customers", "orders", "line_items", "abandoned_checkouts"):
        assert f"sync run {run.id}: {key} takes the COPY lane" in messages
    assert not [m for m in messages if "leaves the COPY lane" in m], messages

    wipe(workspace_id)
    current_app.config["LUMO_SYNC_COPY_LANE"] = False
    upserted = start_initial_sync(workspace_id)
    db.session.refresh(upserted)
    assert upserted.status == "complete", upserted.error

    assert snapshot(workspace_id) == copied
    assert len(copied["shopify_order_line_items"]) == items_in(shop)
    odd = db.session.scalar(select(Customer).where(Customer.shopify_id == 6100000009001))
    assert odd is not None and odd.display_name is None  # the email it fell back to is off
    tags = select(CustomerTag.tag).where(CustomerTag.customer_shopify_id == 6100000009001)
    assert sorted(db.session.scalars(tags)) == ["Sale", "VIP"]


def test_a_resync_upserts(
    connected: tuple[FlaskClient, int], caplog: pytest.LogCaptureFixture
) -> None:
    _, workspace_id = connected
    caplog.set_level(logging.INFO, logger=LANE)
    before = snapshot(workspace_id)

    run = start_resync(workspace_id)
    db.session.refresh(run)

    assert run.status == "complete", run.error
    assert not [m for m in lane_messages(caplog) if "takes the COPY lane" in m]
    assert snapshot(workspace_id) == before


@PREPARED_BY
def test_a_row_stored_meanwhile_sends_the_batch_the_ordinary_way(
    connected: tuple[FlaskClient, int],
    shop: SandboxShop,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    forked: bool,
) -> None:
    """A webhook's newer order lands between the lane opening and its COPY: the unique key
    refuses the COPY, and the upserts keep the newer order."""
    _, workspace_id = connected
    needs_postgresql()
    monkeypatch.setitem(current_app.config, "LUMO_SYNC_LANE_PROCESS", forked)
    monkeypatch.setitem(current_app.config, "LUMO_SYNC_BATCH_SIZE", 7)  # several batches
    wipe(workspace_id)
    caplog.set_level(logging.INFO, logger=LANE)
    real = copy_lane.copy_text
    raced: list[int] = []

    def racing(session: Any, into: str, names: Any, data: bytes) -> None:
        if into == "shopify_orders" and not raced:
            number = int(data.split(b"\t")[names.index("shopify_id")])
            with db.engine.begin() as other:
                other.execute(
                    Order.__table__.insert().values(
                        workspace_id=workspace_id,
                        shopify_id=number,
                        name="#from-a-webhook",
                        shopify_updated_at=NEWER,
                    )
                )
            raced.append(number)
        real(session, into, names, data)

    monkeypatch.setattr(copy_lane, "copy_text", racing)
    run = start_initial_sync(workspace_id)
    db.session.refresh(run)

    assert run.status == "complete", run.error
    assert any(
        "orders leaves the COPY lane" in m and "ux_orders" in m for m in lane_messages(caplog)
    )
    kept = db.session.scalar(select(Order).where(Order.shopify_id == raced[0]))
    assert kept is not None and kept.name == "#from-a-webhook"
    assert count(Order, workspace_id) == shop.data.count_records("orders")
    assert count(Customer, workspace_id) == shop.data.count_records("customers")


def test_a_newer_stored_order_keeps_its_line_items(
    connected: tuple[FlaskClient, int],
    shop: SandboxShop,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An order a webhook made newer while line items were exported: the lane refuses the
    batch, and the ordinary path leaves that order's items alone, as it always has."""
    _, workspace_id = connected
    target = an_order_without_its_items(shop, caplog)

    def webhook(other: Any) -> None:
        other.execute(
            update(Order).where(Order.shopify_id == target).values(shopify_updated_at=NEWER)
        )

    run = sync_racing_the_guard(workspace_id, target, webhook, monkeypatch)

    assert run.status == "complete", run.error
    assert any("newer than the export" in m for m in lane_messages(caplog))
    items = select(func.count()).where(OrderLineItem.order_shopify_id == target)
    assert db.session.scalar(items) == 0
    expected = items_in(shop, but=target)
    assert count(OrderLineItem, workspace_id) == expected


def test_a_sync_killed_in_the_lane_reruns_without_duplicates(
    connected: tuple[FlaskClient, int], shop: SandboxShop, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, workspace_id = connected
    needs_postgresql()
    wipe(workspace_id)
    real = copy_lane.copy_text
    calls = {"n": 0}

    def dying(*args: Any, **kwargs: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("worker killed")
        real(*args, **kwargs)

    monkeypatch.setattr(copy_lane, "copy_text", dying)
    monkeypatch.setitem(current_app.config, "LUMO_SYNC_BATCH_SIZE", 5)
    failed = start_initial_sync(workspace_id)
    db.session.refresh(failed)
    assert failed.status == "failed" and "Start it again" in (failed.error or "")
    assert 0 < count(Customer, workspace_id) < shop.data.count_records("customers")

    monkeypatch.setattr(copy_lane, "copy_text", real)
    again = start_initial_sync(workspace_id)
    db.session.refresh(again)

    assert again.status == "complete", again.error
    assert count(Customer, workspace_id) == shop.data.count_records("customers")
    assert count(Order, workspace_id) == shop.data.count_records("orders")
    assert count(OrderLineItem, workspace_id) == items_in(shop)


def test_a_plan_that_disagrees_with_its_mapper_closes_the_lane(
    merchant: tuple[FlaskClient, int],
    sandbox: ShopifySandbox,
    shop: SandboxShop,
    caplog: pytest.LogCaptureFixture,
) -> None:
    web, workspace_id = merchant
    needs_postgresql()

    class Careless:
        """Offers an orders plan that gets the order number wrong."""

        @hookimpl
        def lumo_bulk_copy_plan(self, category: Category, context: MapContext) -> Any:
            if category.key != "orders":
                return None

            def rows(record: Mapping[str, Any]) -> Any:
                number = int(record["id"].rpartition("/")[2])
                return [(category.table, [number, "#wrong"])]

            return CopyPlan({category.table: ("shopify_id", "name")}, rows)

    plugin_manager(current_app).register(Careless(), name="careless")
    caplog.set_level(logging.INFO, logger=LANE)
    assert connect(web, sandbox).status_code == 302
    sandbox.drain()

    errors = [r for r in caplog.records if r.name == LANE and r.levelno == logging.ERROR]
    assert errors and "shopify_orders" in errors[0].getMessage()
    names = set(db.session.scalars(select(Order.name).where(Order.workspace_id == workspace_id)))
    assert "#wrong" not in names and "#1001" in names
    assert count(Order, workspace_id) == shop.data.count_records("orders")


def test_the_lane_opens_only_on_postgresql_into_empty_tables(
    connected: tuple[FlaskClient, int],
) -> None:
    _, workspace_id = connected
    orders = plugin_manager(current_app).category("orders")
    context = map_context(workspace_id, orders)
    assert CopyLane.open(orders, context, run_id=1) is None  # the tables hold rows

    db.session.execute(db.delete(Order))
    db.session.commit()
    lane = CopyLane.open(orders, context, run_id=1)
    assert (lane is not None) == on_postgresql()

    current_app.config["LUMO_SYNC_COPY_LANE"] = False
    assert CopyLane.open(orders, context, run_id=1) is None


def count(model: type, workspace_id: int) -> int:
    db.session.rollback()
    query = select(func.count()).select_from(model).where(model.workspace_id == workspace_id)
    return int(db.session.scalar(query) or 0)


def test_plans_match_the_mappers_record_by_record(sync_app: Any) -> None:
    """Each plan gives the rows `lumo_map_record` gives, on the shapes bulk lines take."""
    manager = plugin_manager(sync_app)
    records = {
        "customers": [
            {
                "id": "gid://shopify/Customer/1",
                "updatedAt": "2025-01-01T00:00:00Z",
                "firstName": "Ada",
                "lastName": None,
                "displayName": "+81 90 1234 5678",
                "tags": ["a", "A", " b "],
                "numberOfOrders": "3",
                "amountSpent": {"amount": "12.3456", "currencyCode": "EUR"},
                "lastOrder": None,
                "state": "ENABLED",
                "createdAt": "2024-01-01T09:00:00+09:00",
                "__children": [],
            },
            {"id": "gid://shopify/Customer/2", "updatedAt": None, "tags": None, "__children": []},
        ],
        "orders": [
            {
                "id": "gid://shopify/Order/7",
                "updatedAt": "2025-01-01T00:00:00.5Z",
                "customer": None,
                "name": "#7",
                "totalPriceSet": {"shopMoney": {"amount": "-3.10", "currencyCode": "USD"}},
                "currencyCode": "USD",
                "displayFinancialStatus": "PARTIALLY_REFUNDED",
                "displayFulfillmentStatus": None,
                "processedAt": "2025-01-01T00:00:00Z",
                "cancelledAt": None,
                "__children": [],
            },
            {"id": "gid://shopify/Order/8", "currencyCode": "JPY", "__children": []},
        ],
        "line_items": [
            {
                "id": "gid://shopify/Order/7",
                "updatedAt": "2025-01-01T00:00:00Z",
                "__children": [
                    {
                        "id": "gid://shopify/LineItem/70",
                        "product": None,
                        "variant": {"id": "gid://shopify/ProductVariant/5"},
                        "title": "Tea",
                        "sku": None,
                        "quantity": None,
                        "originalUnitPriceSet": {
                            "shopMoney": {"amount": "5", "currencyCode": "USD"}
                        },
                        "variantTitle": "S",
                        "__parentId": "gid://shopify/Order/7",
                    }
                ],
            },
            {
                "id": "gid://shopify/LineItem/71",
                "quantity": 2,
                "__parentId": "gid://shopify/Order/9",
            },
        ],
        "abandoned_checkouts": [
            {
                "id": "gid://shopify/AbandonedCheckout/3",
                "updatedAt": "2025-01-01T00:00:00Z",
                "customer": {"id": "gid://shopify/Customer/1", "email": "a@example.com"},
                "abandonedCheckoutUrl": "https://s/checkouts/abc/recover?key=k",
                "totalPriceSet": {"shopMoney": {"amount": "12.50", "currencyCode": "EUR"}},
                "createdAt": "2024-12-31T23:00:00Z",
                "completedAt": None,
                "shippingAddress": {"phone": "+81 90 0000 0000"},
                "__children": [
                    {
                        "id": "gid://shopify/AbandonedCheckoutLineItem/1",
                        "title": "Tea",
                        "quantity": 2,
                        "__parentId": "gid://shopify/AbandonedCheckout/3",
                    },
                    {
                        "id": "gid://shopify/AbandonedCheckoutLineItem/2",
                        "title": None,
                        "quantity": None,
                        "__parentId": "gid://shopify/AbandonedCheckout/3",
                    },
                ],
            },
            {"id": "gid://shopify/AbandonedCheckout/4", "customer": None, "__children": []},
            {"id": "gid://shopify/AbandonedCheckout/5", "abandonedCheckoutUrl": "https://s/x"},
            {
                "id": "gid://shopify/AbandonedCheckoutLineItem/9",
                "title": "Late",
                "__parentId": "gid://shopify/AbandonedCheckout/3",
            },
        ],
    }
    with sync_app.app_context():
        for key, examples in records.items():
            category = manager.category(key)
            more = {"email", "phone", *(("tags",) if key == "customers" else ())}
            for added, dropped in ((set(), set()), (more, set()), (more, {"item_count"})):
                context = map_context(1, category)
                context = MapContext(1, (context.enabled | added) - dropped)
                plan = manager.hook.lumo_bulk_copy_plan(category=category, context=context)
                assert plan is not None, key
                for record in examples:
                    mapped = manager.hook.lumo_map_record(
                        category=category, record=record, shape=RecordShape.BULK, context=context
                    )
                    difference = copy_lane._difference(mapped, plan.rows(record), plan)
                    assert difference is None, (key, record["id"], difference)


def test_plans_step_aside_for_properties_they_do_not_cover(sync_app: Any) -> None:
    manager = plugin_manager(sync_app)
    with sync_app.app_context():
        orders = manager.category("orders")
        context = map_context(1, orders)
        assert manager.hook.lumo_bulk_copy_plan(category=orders, context=context) is not None
        with_note = MapContext(1, context.enabled | {"note"})
        assert manager.hook.lumo_bulk_copy_plan(category=orders, context=with_note) is None

        customers = manager.category("customers")
        plan = manager.hook.lumo_bulk_copy_plan(
            category=customers, context=map_context(1, customers)
        )
        assert plan is not None and "email" not in plan.columns["shopify_customers"]
        for key in ("products", "carts"):
            category = manager.category(key)
            found = manager.hook.lumo_bulk_copy_plan(
                category=category, context=map_context(1, category)
            )
            assert found is None, key
        with pytest.raises(ValueError, match="without an id"):
            plan.rows({"id": None, "__children": []})


# ---- the lane against the upserts, on raw bulk lines ------------------------------------------


def imported(workspace_id: int, key: str, lines: list[dict[str, Any]], *, lane: bool) -> Any:
    """Import `lines` as one bulk result of `key` into an emptied workspace; returns what was
    stored and what was skipped."""
    for model in (*MODELS, RejectedRecord):
        db.session.execute(db.delete(model).where(model.workspace_id == workspace_id))
    db.session.commit()
    current_app.config["LUMO_SYNC_COPY_LANE"] = lane
    category = plugin_manager(current_app).category(key)
    run = begin_run(workspace_id, "initial")
    records = parse_bulk_lines(json.dumps(line) for line in lines)
    import_records(run, category, records, map_context(workspace_id, category), sweep=False)
    finish_run(run, {})
    skipped = select(RejectedRecord.shopify_id).where(RejectedRecord.workspace_id == workspace_id)
    return snapshot(workspace_id), sorted(db.session.scalars(skipped))


def customer_line(number: int, **changes: Any) -> dict[str, Any]:
    return {
        "id": f"gid://shopify/Customer/{number}",
        "updatedAt": "2025-01-01T00:00:00Z",
        "firstName": f"Ann {number}",
        "displayName": f"Ann {number}",
        "tags": ["a"],
        "numberOfOrders": "1",
        "amountSpent": {"amount": "10.00", "currencyCode": "JPY"},
        "state": "ENABLED",
        "createdAt": "2024-01-01T00:00:00Z",
        **changes,
    }


@pytest.mark.parametrize(
    ("position", "changes"),
    [
        (1, {"updatedAt": "2026-04-08T24:00:00Z"}),  # PostgreSQL reads it, Python refuses it
        (1, {"createdAt": "2026-04-08T11:30.25Z"}),  # both read it, differently
        (1, {"id": "abc/7"}),
        (251, {"createdAt": "2026-04-08T11:30:60Z"}),  # past the records the lane checks
        (251, {"createdAt": "2026/04/08T11:30:28Z"}),
        (251, {"createdAt": "2026-04-08T11:30:28.1234567Z"}),  # PostgreSQL rounds, Python cuts
        (251, {"updatedAt": None, "updated_at": "2025-01-01T00:00:00Z"}),
        (1000, {"updatedAt": "2026-04-08T24:00:00Z"}),  # a sampled record
    ],
)
def test_odd_customer_lines_end_as_the_upserts_leave_them(
    connected: tuple[FlaskClient, int], position: int, changes: dict[str, Any]
) -> None:
    _, workspace_id = connected
    needs_postgresql()
    lines = [customer_line(n) for n in range(1, 1001)]
    lines[position - 1] = customer_line(position, **changes)

    copied = imported(workspace_id, "customers", lines, lane=True)
    upserted = imported(workspace_id, "customers", lines, lane=False)

    assert copied == upserted
    assert len(copied[0]["shopify_customers"]) >= 999


def test_an_order_exported_twice_keeps_only_its_last_items(
    connected: tuple[FlaskClient, int],
) -> None:
    _, workspace_id = connected
    needs_postgresql()

    def order(number: int, updated: str, *items: int) -> list[dict[str, Any]]:
        parent = {"id": f"gid://shopify/Order/{number}", "updatedAt": updated}
        return [
            parent,
            *(
                {"id": f"gid://shopify/LineItem/{i}", "quantity": 1, "__parentId": parent["id"]}
                for i in items
            ),
        ]

    lines = order(1, "2025-01-01T00:00:00Z", 10)
    for number in range(100, 6000):  # the second copy lands in a later batch
        lines += order(number, "2025-01-01T00:00:00Z", number * 10)
    lines += order(1, "2025-02-01T00:00:00Z", 11)

    copied = imported(workspace_id, "line_items", lines, lane=True)

    assert copied == imported(workspace_id, "line_items", lines, lane=False)
    items = [row for row in copied[0]["shopify_order_line_items"] if row[2] == 1]
    assert [row[1] for row in items] == [11]


def test_items_an_older_webhook_stored_meanwhile_are_replaced(
    connected: tuple[FlaskClient, int],
    shop: SandboxShop,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A late webhook stored an older version of an order, with an item the export no longer
    has, just before the lane reached it: the export is newer, so the item goes."""
    _, workspace_id = connected
    target = an_order_without_its_items(shop, caplog)

    def late_webhook(other: Any) -> None:
        older = update(Order).values(shopify_updated_at=datetime(2000, 1, 1, tzinfo=UTC))
        other.execute(older.where(Order.shopify_id == target))
        other.execute(
            OrderLineItem.__table__.insert().values(
                workspace_id=workspace_id,
                shopify_id=999_999_001,
                order_shopify_id=target,
                product_title="removed since",
            )
        )

    run = sync_racing_the_guard(workspace_id, target, late_webhook, monkeypatch)

    assert run.status == "complete", run.error
    assert any("already hold children" in m for m in lane_messages(caplog))
    titles = select(OrderLineItem.product_title).where(OrderLineItem.order_shopify_id == target)
    assert "removed since" not in db.session.scalars(titles).all()
    assert count(OrderLineItem, workspace_id) == items_in(shop)


def order_line(number: int, name: str, **changes: Any) -> dict[str, Any]:
    return {
        "id": f"gid://shopify/Order/{number}",
        "updatedAt": "2025-01-01T00:00:00Z",
        "name": name,
        "customer": None,
        "currencyCode": "JPY",
        **changes,
    }


@pytest.mark.parametrize("odd", [{"customer": {"id": ""}}, {"customer": {"id": 5}}])
def test_an_order_exported_twice_ends_as_its_later_copy_even_if_the_plan_refused_one(
    connected: tuple[FlaskClient, int], odd: dict[str, Any]
) -> None:
    """The plan refuses the first copy (the mapper reads it): that copy goes the ordinary
    way, first, so the second copy still wins, as it does when everything is upserted."""
    _, workspace_id = connected
    needs_postgresql()
    lines = [order_line(1, "#first", **odd), order_line(1, "#second")]
    lines += [order_line(n, f"#{n}") for n in range(2, 50)]

    copied = imported(workspace_id, "orders", lines, lane=True)

    assert copied == imported(workspace_id, "orders", lines, lane=False)
    assert ("#second" in {row[3] for row in copied[0]["shopify_orders"]}) is True


def test_tags_that_differ_only_by_a_nul_are_one_tag(connected: tuple[FlaskClient, int]) -> None:
    _, workspace_id = connected
    lines = [customer_line(n) for n in range(1, 20)]
    lines[0] = customer_line(1, tags=["a\u0000b", "ab", "AB"])

    for lane in (True, False) if on_postgresql() else (False,):
        stored, skipped = imported(workspace_id, "customers", lines, lane=lane)
        assert skipped == []
        tags = [row for row in stored["shopify_customer_tags"] if row[1] == 1]
        assert [row[2] for row in tags] == ["ab"]


@pytest.mark.parametrize(
    ("key", "odd"),
    [
        ("customers", {"id": "gid://shopify/Customer/abc"}),
        ("customers", {"id": "gid://shopify/Customer/"}),
        ("line_items", {"__parentId": ""}),
        ("line_items", {"__parentId": "gid://shopify/Order/x"}),
    ],
)
def test_one_unreadable_id_skips_its_record_not_the_import(
    connected: tuple[FlaskClient, int], key: str, odd: dict[str, Any]
) -> None:
    _, workspace_id = connected
    if key == "customers":
        lines = [customer_line(n) for n in range(1, 20)]
        lines[3] = {**lines[3], **odd}
    else:
        lines = []
        for number in range(1, 20):
            parent = {"id": f"gid://shopify/Order/{number}", "updatedAt": "2025-01-01T00:00:00Z"}
            item = {"id": f"gid://shopify/LineItem/{number}", "__parentId": parent["id"]}
            lines += [parent, {**item, **odd} if number == 4 else item]

    results = [
        imported(workspace_id, key, lines, lane=lane)
        for lane in ((True, False) if on_postgresql() else (False,))
    ]

    stored, skipped = results[0]
    assert all(result == results[0] for result in results)
    assert len(skipped) == 1
    table = "shopify_customers" if key == "customers" else "shopify_order_line_items"
    assert len(stored[table]) == 18


def checkout_lines(count: int) -> list[dict[str, Any]]:
    """`count` bulk checkouts, each followed by its two line-item lines."""
    lines: list[dict[str, Any]] = []
    for number in range(1, count + 1):
        gid = f"gid://shopify/AbandonedCheckout/{number}"
        lines.append(
            {
                "id": gid,
                "updatedAt": "2025-01-01T00:00:00Z",
                "customer": {"id": f"gid://shopify/Customer/{number}"},
                "abandonedCheckoutUrl": f"https://s/checkouts/t{number}/recover?key=k",
                "totalPriceSet": {"shopMoney": {"amount": f"{number}.50", "currencyCode": "EUR"}},
                "createdAt": "2024-12-31T23:00:00Z",
                "completedAt": None,
            }
        )
        lines += [
            {
                "id": f"gid://shopify/AbandonedCheckoutLineItem/{number * 10 + k}",
                "title": f"Tea {k}" if k == 1 else None,
                "quantity": k,
                "__parentId": gid,
            }
            for k in (1, 2)
        ]
    return lines


def test_checkouts_take_the_lane_and_end_as_the_upserts_leave_them(
    connected: tuple[FlaskClient, int], caplog: pytest.LogCaptureFixture
) -> None:
    """Item counts and titles from the child lines, a late child line (no row), and two
    records the plan refuses and the ordinary path skips: a NaN total and a timestamp Python
    cannot read (past the records the lane checks)."""
    _, workspace_id = connected
    needs_postgresql()
    caplog.set_level(logging.INFO, logger=LANE)
    lines = checkout_lines(300)
    lines[3 * 4]["totalPriceSet"] = {"shopMoney": {"amount": "NaN", "currencyCode": "EUR"}}
    lines[3 * 250]["createdAt"] = "2026-04-08T24:00:00Z"
    lines.append({"id": "gid://shopify/AbandonedCheckoutLineItem/1", "__parentId": lines[0]["id"]})

    copied = imported(workspace_id, "abandoned_checkouts", lines, lane=True)

    assert any("abandoned_checkouts takes the COPY lane" in m for m in lane_messages(caplog))
    assert copied == imported(workspace_id, "abandoned_checkouts", lines, lane=False)
    stored, skipped = copied
    assert skipped == ["gid://shopify/AbandonedCheckout/251", "gid://shopify/AbandonedCheckout/5"]
    assert len(stored["shopify_abandoned_checkouts"]) == 298


@pytest.mark.parametrize(
    ("key", "lines"),
    [
        ("customers", [customer_line(n, firstName=f"Ann\x00{n}") for n in range(1, 30)]),
        ("orders", [order_line(n, f"#{n}\x00") for n in range(1, 30)]),
        (
            "line_items",
            [
                line
                for n in range(1, 30)
                for line in (
                    {"id": f"gid://shopify/Order/{n}", "updatedAt": "2025-01-01T00:00:00Z"},
                    {
                        "id": f"gid://shopify/LineItem/{n}",
                        "title": "Tea\x00",
                        "__parentId": f"gid://shopify/Order/{n}",
                    },
                )
            ],
        ),
        ("abandoned_checkouts", checkout_lines(29)),
    ],
)
def test_a_nul_in_a_text_is_dropped_as_the_upserts_drop_it(
    connected: tuple[FlaskClient, int],
    caplog: pytest.LogCaptureFixture,
    key: str,
    lines: list[dict[str, Any]],
) -> None:
    _, workspace_id = connected
    needs_postgresql()
    if key == "abandoned_checkouts":
        lines = [dict(line) for line in lines]
        lines[3]["abandonedCheckoutUrl"] = "https://s/checkouts/t\x00/recover?key=k"
    caplog.set_level(logging.INFO, logger=LANE)

    copied = imported(workspace_id, key, lines, lane=True)

    assert any(f"{key} takes the COPY lane" in m for m in lane_messages(caplog))
    assert not any("leaves the COPY lane" in m for m in lane_messages(caplog))
    assert copied == imported(workspace_id, key, lines, lane=False)
    assert "\x00" not in repr(copied) and not copied[1]


def test_a_lane_closed_where_batches_are_prepared_brings_back_the_statistics(
    connected: tuple[FlaskClient, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plan disagrees with the mapper on a record past the first batches: the lane closes
    in the preparing process, and the importing one analyzes the tables again for the
    upserts that follow."""
    from lumo.sync.bulk_import import PlannerStatistics

    _, workspace_id = connected
    needs_postgresql()
    real = copy_lane._difference

    def differs_on_35(rows: Any, pairs: Any, plan: Any) -> Any:
        if pairs and pairs[0][1][0] == 35:
            return "shopify_customers.first_name"
        return real(rows, pairs, plan)

    spoken: list[bool] = []
    speak = PlannerStatistics.speak
    monkeypatch.setattr(copy_lane, "_difference", differs_on_35)
    monkeypatch.setattr(
        PlannerStatistics, "speak", lambda self: spoken.append(True) or speak(self)
    )
    monkeypatch.setitem(current_app.config, "LUMO_SYNC_BATCH_SIZE", 5)

    lines = [customer_line(n) for n in range(1, 100)]
    copied = imported(workspace_id, "customers", lines, lane=True)

    assert spoken == [True]
    assert copied == imported(workspace_id, "customers", lines, lane=False)


@pytest.mark.parametrize("batch", [3, 4, 7])
def test_a_late_line_item_is_kept_whatever_parent_it_follows(
    connected: tuple[FlaskClient, int], monkeypatch: pytest.MonkeyPatch, batch: int
) -> None:
    """A late item of order 1 comes right before an older copy of order 3, which the upserts
    leave alone: the item is still stored, by the upserts and by the lane, at any batch
    size."""
    _, workspace_id = connected
    monkeypatch.setitem(current_app.config, "LUMO_SYNC_BATCH_SIZE", batch)

    def order_with_items(number: int, updated: str, items: tuple[int, ...]) -> list[Any]:
        parent = order_line(number, f"#{number}", updatedAt=updated)
        return [
            parent,
            *({"id": f"gid://shopify/LineItem/{i}", "__parentId": parent["id"]} for i in items),
        ]

    lines = []
    for number in range(1, 150):  # more than the parents grouping keeps open
        lines += order_with_items(number, "2025-01-01T00:00:00Z", (number * 10, number * 10 + 1))
    lines.append({"id": "gid://shopify/LineItem/12", "__parentId": "gid://shopify/Order/1"})
    lines += order_with_items(3, "2020-01-01T00:00:00Z", (99999,))

    results = [
        imported(workspace_id, "line_items", lines, lane=lane)
        for lane in ((False, True) if on_postgresql() else (False,))
    ]

    stored = {row[1] for row in results[0][0]["shopify_order_line_items"]}
    assert 12 in stored and 99999 not in stored
    assert all(result == results[0] for result in results)
