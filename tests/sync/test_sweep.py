"""A re-sync's sweep deletes what Shopify no longer has, and nothing a webhook just wrote."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Flask
from sqlalchemy import select

from lumo.app import plugin_manager
from lumo.extensions import db
from lumo.mapping import Row
from lumo.models import Customer, OrderLineItem, SyncRun
from lumo.sync.bulk_import import sweep_unseen
from lumo.sync.upsert import write_rows
from lumo.workspaces import create_workspace

STARTED = datetime(2026, 6, 1, tzinfo=UTC)
BEFORE = STARTED - timedelta(days=30)
DURING = STARTED + timedelta(minutes=5)


def order_with_items(workspace_id: int, number: int, when: datetime, items: list[int]) -> list:
    parent = Row(
        "shopify_orders",
        {"workspace_id": workspace_id, "shopify_id": number, "shopify_updated_at": when},
        updated_at=when,
        replace_children={"shopify_order_line_items": "order_shopify_id"},
    )
    children = [
        Row(
            "shopify_order_line_items",
            {"workspace_id": workspace_id, "shopify_id": item, "order_shopify_id": number},
        )
        for item in items
    ]
    return [parent, *children]


def customer(workspace_id: int, number: int, when: datetime) -> Row:
    values = {"workspace_id": workspace_id, "shopify_id": number, "shopify_updated_at": when}
    return Row("shopify_customers", values, updated_at=when)


def test_sweep_keeps_seen_and_webhook_rows_and_removes_the_rest(sync_app: Flask) -> None:
    workspace_id = create_workspace("Sweep").id
    other_workspace = create_workspace("Other").id
    run = SyncRun(workspace_id=workspace_id, kind="manual", status="running", started_at=STARTED)
    db.session.add(run)
    db.session.flush()

    write_rows([customer(workspace_id, 1, BEFORE)], run_id=run.id)  # seen by this re-sync
    write_rows([customer(workspace_id, 2, DURING)])  # a webhook wrote it meanwhile
    write_rows([customer(workspace_id, 3, BEFORE)])  # gone from Shopify
    write_rows([customer(other_workspace, 3, BEFORE)])  # another store's row
    write_rows(order_with_items(workspace_id, 10, BEFORE, [100]), run_id=run.id)
    write_rows(order_with_items(workspace_id, 11, DURING, [110, 111]))
    write_rows(order_with_items(workspace_id, 12, BEFORE, [120]))
    db.session.commit()

    manager = plugin_manager(sync_app)
    sweep_unseen(manager.category("line_items"), run)
    items = set(db.session.scalars(select(OrderLineItem.shopify_id)))
    assert items == {100, 110, 111}  # 110 and 111 belong to an order a webhook just wrote

    sweep_unseen(manager.category("customers"), run)
    sweep_unseen(manager.category("orders"), run)

    kept = {(c.workspace_id, c.shopify_id) for c in db.session.scalars(select(Customer))}
    assert kept == {(workspace_id, 1), (workspace_id, 2), (other_workspace, 3)}
    items = set(db.session.scalars(select(OrderLineItem.shopify_id)))
    assert items == {100, 110, 111}
