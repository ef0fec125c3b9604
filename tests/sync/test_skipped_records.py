"""A record the plugins cannot read is skipped and kept with its reason; the rest syncs."""

from __future__ import annotations

from decimal import Decimal

from flask.testing import FlaskClient
from sqlalchemy import func, select

from lumo.extensions import db
from lumo.models import Order, RejectedRecord, SyncRun
from lumo.sandbox.shopify_server import SandboxShop, ShopifySandbox
from lumo.sync.service import start_reconcile, start_resync
from lumo.workspaces import create_workspace
from tests.sync.conftest import connect


def orders_stored(workspace_id: int) -> set[int]:
    query = select(Order.shopify_id).where(Order.workspace_id == workspace_id)
    return set(db.session.scalars(query))


def spoil_an_order(shop: SandboxShop) -> int:
    number, record = next(iter(shop.data.iter_records("orders")))
    shop.store.put("orders", {**record, "total_price": "twelve hundred"})
    return number


def test_initial_sync_skips_an_unreadable_record_and_shows_why(
    merchant: tuple[FlaskClient, int], sandbox: ShopifySandbox, shop: SandboxShop
) -> None:
    web, workspace_id = merchant
    spoiled = spoil_an_order(shop)

    assert connect(web, sandbox).status_code == 302
    sandbox.drain()

    run = db.session.scalar(select(SyncRun).where(SyncRun.kind == "initial"))
    assert run is not None and run.status == "complete", run and run.error
    assert orders_stored(workspace_id) == {n for n, _ in shop.data.iter_records("orders")}
    # The order's own fields were not read; only its line items' key row exists.
    order = db.session.scalar(select(Order).where(Order.shopify_id == spoiled))
    assert order is not None and order.total_price is None and order.name is None
    others = select(func.count()).where(Order.total_price.is_not(None))
    assert db.session.scalar(others) == len(orders_stored(workspace_id)) - 1
    rejected = db.session.scalars(select(RejectedRecord)).all()
    assert [(r.category, r.shopify_id) for r in rejected] == [
        ("orders", f"gid://shopify/Order/{spoiled}")
    ]
    assert "twelve hundred" in rejected[0].reason and rejected[0].sync_run_id == run.id

    dashboard = web.get("/integrations/shopify/dashboard").get_data(as_text=True)
    assert "1 record skipped" in dashboard
    page = web.get(f"/integrations/shopify/runs/{run.id}/skipped")
    assert page.status_code == 200
    assert f"gid://shopify/Order/{spoiled}" in page.get_data(as_text=True)
    history = web.get("/api/sync/runs").get_json()
    initial = next(r for r in history["runs"] if r["id"] == run.id)
    assert initial["skipped"] == {"orders": 1}


def test_resync_keeps_rows_of_records_it_could_not_read(
    connected: tuple[FlaskClient, int], shop: SandboxShop
) -> None:
    _, workspace_id = connected
    before = orders_stored(workspace_id)
    spoiled = spoil_an_order(shop)

    run = start_resync(workspace_id)
    db.session.refresh(run)

    assert run.status == "complete", run.error
    assert spoiled in orders_stored(workspace_id) and orders_stored(workspace_id) == before
    assert db.session.scalar(select(func.count()).select_from(RejectedRecord)) == 1


def test_skipped_records_of_another_workspace_are_not_shown(
    connected: tuple[FlaskClient, int],
) -> None:
    web, _ = connected
    other = SyncRun(workspace_id=create_workspace("Other").id, kind="initial", status="complete")
    db.session.add(other)
    db.session.flush()
    assert web.get(f"/integrations/shopify/runs/{other.id}/skipped").status_code == 404


def test_catch_up_pass_skips_an_unreadable_record_and_applies_the_rest(
    connected: tuple[FlaskClient, int], shop: SandboxShop
) -> None:
    _, workspace_id = connected
    (bad, bad_record), (good, good_record) = list(shop.data.iter_records("orders"))[:2]
    later = "2099-01-01T00:00:00Z"
    shop.store.put("orders", {**bad_record, "total_price": "NaN", "updated_at": later})
    shop.store.put("orders", {**good_record, "total_price": "777.00", "updated_at": later})

    run = start_reconcile(workspace_id)
    assert run is not None
    db.session.refresh(run)

    assert run.status == "complete", run.error
    stored = {o.shopify_id: o for o in db.session.scalars(select(Order))}
    assert stored[good].total_price == Decimal("777.00")
    assert stored[bad].total_price is not None and not stored[bad].total_price.is_nan()
    rejected = db.session.scalars(select(RejectedRecord)).all()
    assert [(r.category, r.shopify_id, r.sync_run_id) for r in rejected] == [
        ("orders", f"gid://shopify/Order/{bad}", run.id)
    ]


def test_a_row_the_database_refuses_is_skipped_and_the_batch_kept(sync_app: object) -> None:
    from lumo.mapping import Row
    from lumo.models import Customer
    from lumo.sync.rejects import write_or_reject

    workspace_id = create_workspace("Refusals").id
    db.session.commit()

    def customer(number: int | None, name: str) -> Row:
        values = {"workspace_id": workspace_id, "shopify_id": number, "first_name": name}
        return Row("shopify_customers", values)

    result, refused = write_or_reject(
        [customer(1, "Ann"), customer(None, "No id"), customer(3, "Cy")], "customers"
    )
    db.session.commit()

    assert result.written == {"shopify_customers": 2}
    assert [(r.category, r.shopify_id) for r in refused] == [("customers", None)]
    assert "refused" in refused[0].reason and "No id" not in refused[0].reason
    names = set(db.session.scalars(select(Customer.first_name)))
    assert names == {"Ann", "Cy"}
