"""Rows the database refuses are skipped one record at a time; the rest of the batch stays.

PostgreSQL enforces integer ranges, SQLite does not: tests relying on an out-of-range value
run on PostgreSQL only (`LUMO_TEST_DATABASE=postgresql`).
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from lumo.extensions import db
from lumo.mapping import Row
from lumo.models import Customer, OrderLineItem, RejectedRecord, SyncRun
from lumo.sandbox.shopify_server import SandboxShop, ShopifySandbox
from lumo.sync.rejects import write_or_reject
from lumo.workspaces import create_workspace
from tests.sync.conftest import connect

TOO_BIG = 2**40  # beyond a 32-bit integer column


def customer(workspace_id: int, number: int | None, **values: Any) -> Row:
    return Row(
        "shopify_customers",
        {"workspace_id": workspace_id, "shopify_id": number, "first_name": "x", **values},
    )


def stored_customers() -> int:
    return int(db.session.scalar(select(func.count()).select_from(Customer)) or 0)


def needs_postgresql() -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite stores integers of any size")


@pytest.fixture
def workspace_id(app: Flask) -> int:
    workspace = create_workspace("Refusals")
    db.session.commit()
    return workspace.id


@pytest.mark.parametrize("size", [3, 150], ids=["plain", "staged"])
def test_a_row_without_its_key_is_refused_alone(workspace_id: int, size: int) -> None:
    rows = [customer(workspace_id, n) for n in range(1, size + 1)]
    rows[1] = customer(workspace_id, None)

    result, refused = write_or_reject(rows, "customers")
    db.session.commit()

    assert len(refused) == 1 and result.written == {"shopify_customers": size - 1}
    assert stored_customers() == size - 1


@pytest.mark.parametrize("size", [3, 150], ids=["plain", "staged"])
def test_a_text_the_database_cannot_encode_is_refused_alone(workspace_id: int, size: int) -> None:
    rows = [customer(workspace_id, n) for n in range(1, size + 1)]
    rows[1] = customer(workspace_id, 2, first_name="x\ud800y")  # a lone surrogate

    _, refused = write_or_reject(rows, "customers")
    db.session.commit()

    assert [r.shopify_id for r in refused] == ["2"] and stored_customers() == size - 1


def test_an_out_of_range_value_in_a_staged_batch_is_refused_alone(workspace_id: int) -> None:
    needs_postgresql()
    rows = [customer(workspace_id, n) for n in range(1, 151)]
    rows[70] = customer(workspace_id, 71, number_of_orders=TOO_BIG)

    _, refused = write_or_reject(rows, "customers")
    db.session.commit()

    assert [r.shopify_id for r in refused] == ["71"] and stored_customers() == 149
    assert str(TOO_BIG) not in refused[0].reason


def test_a_refused_batch_is_still_undone_by_its_transaction(workspace_id: int) -> None:
    """The SAVEPOINT must not commit on its own (SQLite begins transactions lazily)."""
    write_or_reject([customer(workspace_id, 1)], "customers")
    db.session.rollback()

    assert stored_customers() == 0


def test_initial_sync_skips_an_order_the_database_refuses(
    merchant: tuple[FlaskClient, int],
    sandbox: ShopifySandbox,
    shop: SandboxShop,
) -> None:
    needs_postgresql()
    web, _ = merchant
    number, record = next(iter(shop.data.iter_records("orders")))
    items = [dict(item) for item in record["line_items"]]
    items[0]["quantity"] = TOO_BIG
    shop.store.put("orders", {**record, "line_items": items})

    assert connect(web, sandbox).status_code == 302
    sandbox.drain()

    run = db.session.scalar(select(SyncRun).where(SyncRun.kind == "initial"))
    assert run is not None and run.status == "complete", run and run.error
    rejected = db.session.scalars(select(RejectedRecord)).all()
    assert [(r.category, r.shopify_id) for r in rejected] == [("line_items", str(number))]
    stored = db.session.scalar(select(func.count()).select_from(OrderLineItem))
    assert run.counts["line_items"] == stored
    of_refused = select(func.count()).where(OrderLineItem.order_shopify_id == number)
    assert db.session.scalar(of_refused) == 0
