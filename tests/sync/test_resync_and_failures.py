"""Manual re-sync, the sync lock, dying syncs, Shopify faults and the catch-up pass."""

from __future__ import annotations

import pytest
from flask import current_app
from flask.testing import FlaskClient
from sqlalchemy import func, select

from lumo.extensions import db
from lumo.models import Customer, CustomerTag, Order, OrderLineItem, ShopifyConnection, SyncRun
from lumo.sandbox.shopify_server import SandboxShop, ShopifySandbox
from lumo.sync import bulk_import, rejects
from lumo.sync.runs import SyncAlreadyRunning, begin_run
from lumo.sync.service import start_initial_sync, start_reconcile, start_resync
from lumo.sync.status import integration_status


def total(model: type) -> int:
    db.session.rollback()
    return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def line_items_in(shop: SandboxShop) -> int:
    return sum(len(r.get("line_items") or []) for _, r in shop.data.iter_records("orders"))


def test_resync_removes_rows_deleted_in_shopify(
    connected: tuple[FlaskClient, int], shop: SandboxShop
) -> None:
    _, workspace_id = connected
    customer_id = next(iter(shop.data.iter_records("customers")))[0]
    order_id = next(iter(shop.data.iter_records("orders")))[0]
    shop.store.delete("customers", customer_id)  # gone without a webhook
    shop.store.delete("orders", order_id)

    run = start_resync(workspace_id)
    db.session.refresh(run)
    assert run.status == "complete", run.error
    assert total(Customer) == shop.data.count_records("customers")
    assert total(Order) == shop.data.count_records("orders")
    assert total(OrderLineItem) == line_items_in(shop)
    assert not db.session.scalar(
        select(func.count())
        .select_from(CustomerTag)
        .where(CustomerTag.customer_shopify_id == customer_id)
    )


def test_resync_while_one_runs_is_refused(connected: tuple[FlaskClient, int]) -> None:
    web, workspace_id = connected
    begin_run(workspace_id, "manual")
    with pytest.raises(SyncAlreadyRunning, match="already running"):
        start_resync(workspace_id)
    response = web.post("/api/sync/resync")
    assert response.status_code == 409
    assert "already running" in response.get_json()["error"]


def test_sync_that_dies_part_way_reruns_without_duplicates(
    connected: tuple[FlaskClient, int], shop: SandboxShop, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, workspace_id = connected
    db.session.execute(db.delete(OrderLineItem))
    db.session.execute(db.delete(Order))
    db.session.commit()
    real = rejects.write_rows
    calls = {"n": 0}

    def dying(rows, **kwargs):  # type: ignore[no-untyped-def]
        if rows and rows[0].table == "shopify_orders" and rows[0].replace_children == {}:
            calls["n"] += 1
            if calls["n"] == 3:
                raise RuntimeError("worker killed")
        return real(rows, **kwargs)

    monkeypatch.setattr(rejects, "write_rows", dying)
    monkeypatch.setitem(current_app.config, "LUMO_SYNC_BATCH_SIZE", 10)
    monkeypatch.setattr(bulk_import, "ORDINARY_RECORD_BYTES", 1 << 20)  # ten orders a batch
    # The upsert path; tests/sync/test_copy_lane.py kills the COPY lane the same way.
    monkeypatch.setitem(current_app.config, "LUMO_SYNC_COPY_LANE", False)
    failed = start_initial_sync(workspace_id)
    db.session.refresh(failed)
    assert failed.status == "failed" and "Start it again" in (failed.error or "")
    assert total(Order) == 20  # two batches of ten were written before it died

    monkeypatch.setattr(rejects, "write_rows", real)
    again = start_initial_sync(workspace_id)
    db.session.refresh(again)
    assert again.status == "complete", again.error
    assert total(Order) == shop.data.count_records("orders")
    assert total(OrderLineItem) == line_items_in(shop)
    assert total(Customer) == shop.data.count_records("customers")


def test_throttling_and_5xx_are_waited_out(
    connected: tuple[FlaskClient, int], shop: SandboxShop
) -> None:
    _, workspace_id = connected
    shop.set_faults(http_429=2, retry_after="0", http_5xx=2)
    run = start_resync(workspace_id)
    db.session.refresh(run)
    assert run.status == "complete", run.error
    assert total(Customer) == shop.data.count_records("customers")


def test_expired_bulk_operation_fails_the_run_with_what_to_do(
    connected: tuple[FlaskClient, int], shop: SandboxShop
) -> None:
    _, workspace_id = connected
    shop.set_faults(bulk_expire=True)
    run = start_resync(workspace_id)
    db.session.refresh(run)
    assert run.status == "failed"
    assert "EXPIRED" in (run.error or "") and "new sync" in (run.error or "")
    shop.set_faults(bulk_expire=False)
    assert start_resync(workspace_id).status == "complete"


def test_revoked_token_shows_as_a_broken_connection(
    connected: tuple[FlaskClient, int], shop: SandboxShop
) -> None:
    web, workspace_id = connected
    shop.revoke_tokens()
    run = start_resync(workspace_id)
    db.session.refresh(run)
    assert run.status == "failed"
    connection = db.session.scalar(select(ShopifyConnection))
    assert connection.state == "broken"
    assert "Reconnect the store from Integrations → Shopify" in connection.broken_reason
    status = web.get("/api/sync/status").get_json()
    assert status["healthy"] is False and "revoked" in status["problem"]


def test_reconcile_catches_up_a_missed_webhook(
    connected: tuple[FlaskClient, int], shop: SandboxShop, sandbox: ShopifySandbox
) -> None:
    _, workspace_id = connected
    number = next(iter(shop.data.iter_records("customers")))[0]
    shop.set_faults(webhook_hold=True)
    shop.update_customer(number, first_name="Missed", updated_at="2099-01-01T00:00:00Z")
    shop.held.clear()  # Shopify never delivered it
    shop.store.records["customers"][number]["updated_at"] = "2099-01-01T00:00:00Z"
    run = start_reconcile(workspace_id)
    assert run is not None
    db.session.refresh(run)
    assert run.status == "complete", run.error
    assert run.counts.get("customers", 0) >= 1
    stored = db.session.scalar(select(Customer).where(Customer.shopify_id == number))
    assert stored.first_name == "Missed"


def test_status_reports_parity_and_webhooks(
    connected: tuple[FlaskClient, int], shop: SandboxShop
) -> None:
    _, workspace_id = connected
    status = integration_status(workspace_id)
    assert status["healthy"] and status["last_success_at"]
    parity = {row["category"]: row for row in status["parity"]}
    assert parity["customers"]["matches"] is True
    assert parity["line_items"]["shopify"] is None
    assert "orders/create" in status["webhooks"]["registered"]
    runs = db.session.scalars(select(SyncRun)).all()
    assert any(run.kind == "initial" for run in runs)
