"""The fast paths keep the slow paths' meaning: staged (COPY) upserts, batch mapping, shop cache.

With `COPY_THRESHOLD` lowered to 1 every group takes the staged path on PostgreSQL; on SQLite
these tests check the same behaviour through the plain insert.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from lumo import hookimpl
from lumo.app import plugin_manager
from lumo.categories import Category
from lumo.extensions import db
from lumo.mapping import MapContext, RecordShape, Row
from lumo.models import Customer, Order, OrderLineItem, ShopifyConnection
from lumo.sync import upsert
from lumo.sync.bulk_import import map_records, streaming_settings
from lumo.sync.connection import remove_integration, workspace_for_shop
from lumo.sync.fields import build_values
from lumo.sync.upsert import write_rows
from lumo.workspaces import create_workspace

OLD = datetime(2026, 1, 1, tzinfo=UTC)
NEW = datetime(2026, 2, 1, tzinfo=UTC)
ITEMS = "shopify_order_line_items"


@pytest.fixture
def staged(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(upsert, "COPY_THRESHOLD", 1)


@pytest.fixture
def workspace_id(sync_app: Flask) -> int:
    workspace = create_workspace("Fast paths")
    db.session.commit()
    return workspace.id


def customer(workspace_id: int, number: int, when: datetime, **values: Any) -> Row:
    values = {"workspace_id": workspace_id, "shopify_id": number, **values}
    return Row("shopify_customers", {**values, "shopify_updated_at": when}, updated_at=when)


def order_parent(workspace_id: int, number: int, when: datetime, items: list[int]) -> list[Row]:
    """What the line-items plugin sends: the order's key and age, then its items."""
    parent = Row(
        "shopify_orders",
        {"workspace_id": workspace_id, "shopify_id": number, "shopify_updated_at": when},
        updated_at=when,
        replace_children={ITEMS: "order_shopify_id"},
    )
    children = [
        Row(ITEMS, {"workspace_id": workspace_id, "shopify_id": i, "order_shopify_id": number})
        for i in items
    ]
    return [parent, *children]


def item_ids(number: int) -> list[int]:
    query = select(OrderLineItem.shopify_id).where(OrderLineItem.order_shopify_id == number)
    return sorted(db.session.scalars(query))


def test_staged_upsert_keeps_the_staleness_guard_and_merges_extra(
    workspace_id: int, staged: None
) -> None:
    write_rows(
        [
            customer(workspace_id, 1, NEW, first_name="Newest", extra={"note": "a"}),
            customer(workspace_id, 2, OLD, first_name="Old"),
        ]
    )
    db.session.commit()
    result = write_rows(
        [
            customer(workspace_id, 1, OLD, first_name="Older"),
            customer(workspace_id, 2, NEW, first_name="Newer", extra={"locale": "ja"}),
        ]
    )
    db.session.commit()

    assert result.written == {"shopify_customers": 1}
    assert result.stale == {"shopify_customers": 1}
    stored = {c.shopify_id: c for c in db.session.scalars(select(Customer))}
    assert stored[1].first_name == "Newest" and stored[1].extra == {"note": "a"}
    assert stored[2].first_name == "Newer" and stored[2].extra == {"locale": "ja"}
    assert stored[1].shopify_updated_at == NEW


def test_key_only_parent_replaces_children_unless_older(workspace_id: int, staged: None) -> None:
    order = Row(
        "shopify_orders",
        {"workspace_id": workspace_id, "shopify_id": 10, "name": "#10", "shopify_updated_at": NEW},
        updated_at=NEW,
    )
    write_rows([order])
    write_rows(order_parent(workspace_id, 10, NEW, [100, 101]), run_id=7)
    db.session.commit()
    assert item_ids(10) == [100, 101]

    older = write_rows(order_parent(workspace_id, 10, OLD, [999]))
    db.session.commit()
    assert older.stale == {"shopify_orders": 1} and ITEMS not in older.written
    assert item_ids(10) == [100, 101]

    same_age = write_rows(order_parent(workspace_id, 10, NEW, [102]), run_id=8)
    db.session.commit()
    assert same_age.written == {"shopify_orders": 1, ITEMS: 1}
    assert item_ids(10) == [102]
    stored = db.session.scalar(select(Order).where(Order.shopify_id == 10))
    assert stored is not None and stored.name == "#10" and stored.last_sync_run_id == 8


@pytest.mark.parametrize("path", ["staged", "plain"])
def test_a_parent_given_twice_in_one_batch_keeps_only_the_winners_children(
    workspace_id: int, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    """An order exported twice lands in one batch: like two batches, the later copy (or the
    newer one) replaces the items, instead of both copies' items being kept."""
    if path == "staged":
        monkeypatch.setattr(upsert, "COPY_THRESHOLD", 1)

    write_rows(
        [
            *order_parent(workspace_id, 10, NEW, [100]),
            *order_parent(workspace_id, 11, NEW, [110]),
            *order_parent(workspace_id, 10, NEW, [101]),
            *order_parent(workspace_id, 11, OLD, [111]),  # older: the first copy wins
        ]
    )
    db.session.commit()

    assert item_ids(10) == [101]
    assert item_ids(11) == [110]


class _PerRecordOnly:
    """A plugin that implements only the per-record mapping hook."""

    @hookimpl
    def lumo_map_record(
        self, category: Category, record: dict[str, Any], shape: RecordShape, context: MapContext
    ) -> list[Row] | None:
        if category.key != "fast_test":
            return None
        return [Row("fast_test", {"n": record["n"]})]


def test_mapping_falls_back_to_the_per_record_hook(sync_app: Flask) -> None:
    manager = plugin_manager(sync_app)
    manager.register(_PerRecordOnly(), name="fast-test")
    try:
        category = Category(key="fast_test", label="Test", table="fast_test", properties=())
        context = MapContext(1, frozenset())
        rows = map_records(category, [{"n": 1}, {"n": 2}], RecordShape.BULK, context)
    finally:
        manager.unregister(name="fast-test")
    assert [row.values["n"] for row in rows] == [1, 2]


def test_batch_mapping_equals_mapping_each_record(sync_app: Flask) -> None:
    manager = plugin_manager(sync_app)
    category = manager.category("customers")
    context = MapContext(3, frozenset(p.key for p in category.properties), "JPY")
    records = [
        {"id": n, "first_name": f"N{n}", "tags": "a, b", "updated_at": f"2026-01-0{n}T00:00:00Z"}
        for n in (1, 2, 3)
    ]
    batch = map_records(category, records, RecordShape.WEBHOOK, context)
    one_by_one = [
        row
        for record in records
        for row in manager.hook.lumo_map_record(
            category=category, record=record, shape=RecordShape.WEBHOOK, context=context
        )
    ]
    direct = manager.hook.lumo_map_records(
        category=category, records=records, shape=RecordShape.WEBHOOK, context=context
    )
    assert batch == one_by_one == direct and len(batch) == 9


def test_shop_lookup_is_cached_and_forgotten_when_removed(workspace_id: int) -> None:
    db.session.add(
        ShopifyConnection(
            workspace_id=workspace_id,
            shop_domain="cached.myshopify.com",
            access_token="x",
            state="connected",
        )
    )
    db.session.commit()
    assert workspace_for_shop("Cached.myshopify.com") == workspace_id

    db.session.execute(db.delete(ShopifyConnection))
    db.session.commit()
    assert workspace_for_shop("cached.myshopify.com") == workspace_id  # served from the cache

    db.session.add(
        ShopifyConnection(
            workspace_id=workspace_id,
            shop_domain="cached.myshopify.com",
            access_token="x",
            state="connected",
        )
    )
    db.session.commit()
    remove_integration(workspace_id, notify_shopify=False)
    db.session.execute(db.delete(ShopifyConnection))
    db.session.commit()
    assert workspace_for_shop("cached.myshopify.com") is None


def test_staged_upsert_stores_instants_of_any_zone_as_utc(workspace_id: int, staged: None) -> None:
    tokyo = timezone(timedelta(hours=9))
    in_tokyo = datetime(2026, 3, 1, 9, 30, tzinfo=tokyo)
    write_rows(
        [
            customer(workspace_id, 1, in_tokyo, last_order_at=in_tokyo),
            customer(workspace_id, 2, NEW, last_order_at=NEW),
        ]
    )
    db.session.commit()

    stored = {c.shopify_id: c for c in db.session.scalars(select(Customer))}
    assert stored[1].last_order_at == datetime(2026, 3, 1, 0, 30, tzinfo=UTC)
    assert stored[1].shopify_updated_at == in_tokyo
    assert stored[2].last_order_at == NEW


@pytest.mark.parametrize("path", ["plain", "staged"])
def test_both_upsert_paths_treat_odd_datetimes_alike(
    workspace_id: int, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(upsert, "COPY_THRESHOLD", 1 if path == "staged" else 10_000)
    naive = datetime(2026, 3, 1, 9, 30)

    write_rows([customer(workspace_id, 1, NEW, first_name=naive)])
    db.session.commit()
    stored = db.session.scalars(select(Customer)).one()
    assert stored.first_name == "2026-03-01 09:30:00"  # a text column keeps what it is given

    with pytest.raises(Exception, match="no attribute 'tzinfo'"):  # an instant, not a date
        write_rows([customer(workspace_id, 2, NEW, last_order_at=naive.date())])


def test_rows_listing_the_same_columns_in_another_order_are_one_group(
    workspace_id: int, staged: None
) -> None:
    first = customer(workspace_id, 1, OLD, first_name="A", last_name="One")
    second = Row(
        "shopify_customers",
        {
            "last_name": "Two",
            "shopify_updated_at": OLD,
            "first_name": "B",
            "shopify_id": 2,
            "workspace_id": workspace_id,
        },
        updated_at=OLD,
    )
    newer_first = customer(workspace_id, 1, NEW, first_name="A2", last_name="One")

    result = write_rows([first, second, newer_first])
    db.session.commit()

    assert result.written == {"shopify_customers": 2}
    stored = {
        c.shopify_id: (c.first_name, c.last_name) for c in db.session.scalars(select(Customer))
    }
    assert stored == {1: ("A2", "One"), 2: ("B", "Two")}


def test_property_switches_apply_to_every_field_layout(sync_app: Flask) -> None:
    category = plugin_manager(sync_app).category("customers")
    everything = frozenset(p.key for p in category.properties)
    without_email = everything - {"email"}
    raw = {"first_name": "Ann", "email": "ann@example.com", "extra.locale": "ja"}
    reordered = {"extra.locale": "en", "email": "bob@example.com", "first_name": "Bob"}

    on = build_values(category, MapContext(1, everything), raw)
    off = build_values(category, MapContext(1, without_email), raw)
    off_reordered = build_values(category, MapContext(1, without_email), reordered)

    assert on["email"] == "ann@example.com" and on["extra"] == {"locale": "ja"}
    assert "email" not in off and off["first_name"] == "Ann" and off["extra"] == {"locale": "ja"}
    assert "email" not in off_reordered and off_reordered["extra"] == {"locale": "en"}


@pytest.mark.parametrize("threshold", [1, 1000], ids=["staged", "plain"])
def test_text_longer_than_its_column_is_cut_not_failing_the_batch(
    workspace_id: int,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    threshold: int,
) -> None:
    monkeypatch.setattr(upsert, "COPY_THRESHOLD", threshold)
    long_name = "名" * 300

    result = write_rows(
        [
            customer(workspace_id, 1, OLD, first_name=long_name, last_name="Short"),
            customer(workspace_id, 2, OLD, first_name="Fine", last_name="Short"),
        ]
    )
    db.session.commit()

    assert result.written == {"shopify_customers": 2}
    stored = {c.shopify_id: c for c in db.session.scalars(select(Customer))}
    assert stored[1].first_name == "名" * 255 and stored[1].last_name == "Short"
    assert stored[2].first_name == "Fine"
    assert "shopify_customers.first_name" in caplog.text and long_name not in caplog.text


@pytest.fixture
def analyzed(sync_app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The tables ANALYZE runs on, in order, with statistics starting at 10 rows."""
    from sqlalchemy import event

    from lumo.sync.bulk_import import PlannerStatistics

    monkeypatch.setattr(PlannerStatistics, "FIRST", 10)
    tables: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith("ANALYZE"):
            tables.append(statement.split('"')[1])

    event.listen(db.engine, "before_cursor_execute", seen)
    yield tables
    event.remove(db.engine, "before_cursor_execute", seen)


def test_import_refreshes_planner_statistics_each_time_a_table_doubles(
    analyzed: list[str],
) -> None:
    from lumo.sync.bulk_import import PlannerStatistics
    from lumo.sync.upsert import WriteResult

    statistics = PlannerStatistics()
    for _ in range(8):  # 5 rows per batch: 10, 20 and 40 rows are crossed
        statistics.after(WriteResult(written={"shopify_customers": 5, ITEMS: 0}))

    assert analyzed == ["shopify_customers"] * 3


def test_tables_the_lane_fills_are_analyzed_once_until_it_closes(analyzed: list[str]) -> None:
    from lumo.sync.bulk_import import PlannerStatistics
    from lumo.sync.upsert import WriteResult

    statistics = PlannerStatistics(quiet=["shopify_customers"])
    batch = WriteResult(written={"shopify_customers": 5, "shopify_orders": 5})
    for _ in range(8):  # 10, 20 and 40 rows are crossed
        statistics.after(batch)
    once = list(analyzed)
    statistics.speak()  # the lane closed: upserts follow
    for _ in range(8):  # customers at their next batch (45), orders at 80
        statistics.after(batch)

    assert once == ["shopify_customers", "shopify_orders", "shopify_orders", "shopify_orders"]
    assert analyzed[len(once) :] == ["shopify_customers", "shopify_orders"]


def test_the_interpreter_settings_come_back_after_an_import() -> None:
    before = gc.get_threshold()
    interval = sys.getswitchinterval()

    with streaming_settings():
        quiet = gc.get_threshold()
        with streaming_settings():  # a second import at the same time shares the setting
            assert gc.get_threshold() == quiet
        assert gc.get_threshold() == quiet
    assert quiet != before and gc.get_threshold() == before
    assert gc.get_freeze_count() == 0 and sys.getswitchinterval() == interval

    with pytest.raises(RuntimeError), streaming_settings():
        raise RuntimeError("the import failed")
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


def test_objects_the_process_froze_itself_stay_frozen_after_an_import() -> None:
    gc.freeze()  # as a pre-forking server does once the app is loaded
    try:
        frozen = gc.get_freeze_count()
        with streaming_settings():
            pass
        # Frozen objects freed meanwhile leave the count; a thaw would empty it.
        assert gc.get_freeze_count() > frozen - 100
    finally:
        gc.unfreeze()
