"""Hostile input to the sync: NUL characters, overflowing amounts, odd ids, long keys, escapes."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from lumo.extensions import db
from lumo.models import Order, OrderLineItem, Product, RejectedRecord, SyncRun, WebhookDelivery
from lumo.sandbox.shopify_server import SandboxShop, ShopifySandbox
from lumo.sync.service import start_reconcile, start_resync
from lumo.workspaces import create_workspace
from tests.sync.conftest import connect, post_webhook
from tests.sync.stores import CUSTOMER, SECRET, connect_store, order

SHOP = "tryout.myshopify.com"


@pytest.fixture
def shopify_web(app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> FlaskClient:
    monkeypatch.setitem(app.config, "SHOPIFY_API_SECRET", SECRET)
    connect_store(SHOP)
    return client


def delivered(web: FlaskClient, topic: str, payload: dict | bytes, **kw) -> WebhookDelivery:
    response = post_webhook(web, topic, payload, secret=SECRET, shop_domain=SHOP, **kw)
    assert response.status_code == 200, response.get_data(as_text=True)
    db.session.expire_all()
    delivery = db.session.get(WebhookDelivery, response.get_json()["delivery"])
    assert delivery is not None
    return delivery


# ---- webhooks -------------------------------------------------------------------------------


def test_webhook_nul_in_order_name_is_applied_without_it(shopify_web: FlaskClient) -> None:
    delivery = delivered(shopify_web, "orders/create", order(name="#10\u000001"))

    assert delivery.status == "applied", delivery.error
    assert db.session.scalar(select(Order.name)) == "#1001"


def test_webhook_money_that_rounds_past_the_column_is_refused_as_money(
    shopify_web: FlaskClient,
) -> None:
    payload = order(total_price="99999999999999.99999")
    del payload["total_price_set"]
    delivery = delivered(shopify_web, "orders/create", payload)
    assert delivery.status == "failed"
    assert "not a money amount" in (delivery.error or ""), delivery.error


def test_same_event_id_in_two_workspaces_is_kept_twice(shopify_web: FlaskClient) -> None:
    connect_store("second.myshopify.com")
    first = post_webhook(
        shopify_web,
        "customers/create",
        CUSTOMER,
        event_id="e-1",
        secret=SECRET,
        shop_domain=SHOP,
    )
    second = post_webhook(
        shopify_web,
        "customers/create",
        CUSTOMER,
        event_id="e-1",
        secret=SECRET,
        shop_domain="second.myshopify.com",
    )
    again = post_webhook(
        shopify_web,
        "customers/create",
        CUSTOMER,
        event_id="e-1",
        secret=SECRET,
        shop_domain=SHOP,
    )
    assert first.get_json()["duplicate"] is False
    assert second.get_json()["duplicate"] is False
    assert again.get_json()["duplicate"] is True


def test_malformed_and_non_object_json_are_kept_failed(shopify_web: FlaskClient) -> None:
    for body in (b"{not json", b"[1,2]", b"", b"\xff\xfe", b'"text"', b"null"):
        delivery = delivered(shopify_web, "orders/create", body)
        assert delivery.status == "failed", (body, delivery.status)


def test_unsigned_body_with_valid_header_shape_is_refused(shopify_web: FlaskClient) -> None:
    before = db.session.scalar(select(func.count()).select_from(WebhookDelivery))
    for secret in ("", "wrong"):
        response = post_webhook(
            shopify_web, "orders/create", order(), secret=secret, shop_domain=SHOP
        )
        assert response.status_code == 401
    response = shopify_web.post(
        "/webhooks/shopify", data=b"{}", headers={"X-Shopify-Hmac-Sha256": "!!!notbase64"}
    )
    assert response.status_code == 401
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(WebhookDelivery)) == before


def test_out_of_order_update_does_not_overwrite(shopify_web: FlaskClient) -> None:
    newer = order(updated_at="2010-01-01T00:00:00Z", financial_status="refunded")
    older = order(updated_at="2009-01-01T00:00:00Z", financial_status="paid")
    assert delivered(shopify_web, "orders/updated", newer).status == "applied"
    d = delivered(shopify_web, "orders/updated", older)
    assert db.session.scalar(select(Order.financial_status)) == "refunded", d.status


# ---- bulk sync, re-sync, catch-up ------------------------------------------------------------


def spoil_first(shop: SandboxShop, kind: str, **changes: object) -> int:
    number, record = next(iter(shop.data.iter_records(kind)))
    shop.store.put(kind, {**record, **changes})
    return number


def initial(web: FlaskClient, sandbox: ShopifySandbox) -> SyncRun:
    assert connect(web, sandbox).status_code == 302
    sandbox.drain()
    db.session.expire_all()
    run = db.session.scalar(select(SyncRun).where(SyncRun.kind == "initial"))
    assert run is not None
    return run


def test_initial_sync_with_nul_in_a_product_description(
    merchant: tuple[FlaskClient, int], sandbox: ShopifySandbox, shop: SandboxShop
) -> None:
    web, _ = merchant
    spoil_first(shop, "products", body_html="<p>bad\u0000byte</p>", title="T\u0000itle")
    run = initial(web, sandbox)
    assert run.status == "complete", run.error


def test_initial_sync_with_an_amount_that_rounds_past_the_column(
    merchant: tuple[FlaskClient, int], sandbox: ShopifySandbox, shop: SandboxShop
) -> None:
    web, _ = merchant
    spoil_first(
        shop,
        "orders",
        total_price="99999999999999.99999",
        current_total_price="99999999999999.99999",
    )
    run = initial(web, sandbox)
    assert run.status == "complete", run.error


def test_resync_with_a_skipped_order_keeps_its_line_items(
    connected: tuple[FlaskClient, int], shop: SandboxShop
) -> None:
    _, workspace_id = connected
    items = select(func.count()).select_from(OrderLineItem)
    before = db.session.scalar(items)
    spoiled = spoil_first(shop, "orders", total_price="twelve hundred")
    run = start_resync(workspace_id)
    db.session.refresh(run)
    assert run.status == "complete", run.error
    of_spoiled = select(func.count()).where(OrderLineItem.order_shopify_id == spoiled)
    assert db.session.scalar(items) == before
    assert db.session.scalar(of_spoiled)


def test_second_resync_keeps_rejections_of_the_first(
    connected: tuple[FlaskClient, int], shop: SandboxShop
) -> None:
    web, workspace_id = connected
    spoil_first(shop, "orders", total_price="twelve hundred")
    first = start_resync(workspace_id)
    second = start_resync(workspace_id)
    db.session.expire_all()
    per_run = dict(
        db.session.execute(
            select(RejectedRecord.sync_run_id, func.count()).group_by(RejectedRecord.sync_run_id)
        ).all()
    )
    assert per_run == {first.id: 1, second.id: 1}
    runs = web.get("/api/sync/runs").get_json()["runs"]
    assert {r["id"]: r["skipped"] for r in runs if r["id"] in per_run} == {
        first.id: {"orders": 1},
        second.id: {"orders": 1},
    }


def test_catch_up_with_nul_in_a_product(
    connected: tuple[FlaskClient, int], shop: SandboxShop
) -> None:
    _, workspace_id = connected
    spoil_first(shop, "products", title="A\u0000B", updated_at="2099-01-01T00:00:00Z")
    run = start_reconcile(workspace_id)
    assert run is not None
    db.session.refresh(run)
    assert run.status == "complete", run.error


def test_other_workspace_run_is_404_on_page_and_api(
    connected: tuple[FlaskClient, int],
) -> None:
    web, _ = connected
    other = SyncRun(workspace_id=create_workspace("Other").id, kind="initial", status="complete")
    db.session.add(other)
    db.session.flush()
    db.session.add(
        RejectedRecord(
            workspace_id=other.workspace_id,
            sync_run_id=other.id,
            category="orders",
            shopify_id="secret-id",
            reason="x" * 5000,
        )
    )
    db.session.commit()
    assert web.get(f"/integrations/shopify/runs/{other.id}/skipped").status_code == 404
    assert web.get(f"/api/sync/runs/{other.id}").status_code == 404
    assert "secret-id" not in web.get("/api/sync/runs").get_data(as_text=True)
    assert "secret-id" not in web.get("/integrations/shopify/dashboard").get_data(as_text=True)


def test_huge_run_id_is_404_not_500(connected: tuple[FlaskClient, int]) -> None:
    web, _ = connected
    for path in (
        "/integrations/shopify/runs/99999999999999999999/skipped",
        "/api/sync/runs/99999999999999999999",
        "/integrations/shopify/runs/2147483648/skipped",
    ):
        assert web.get(path).status_code == 404, path


def test_a_database_error_carries_no_values_into_messages(app: Flask) -> None:
    with pytest.raises(DBAPIError) as caught:
        db.session.execute(
            text("SELECT :first_name FROM no_such_table"), {"first_name": "Norman-Secret"}
        )
    db.session.rollback()

    assert "Norman-Secret" not in str(caught.value)


def test_skipped_page_escapes_the_reason(
    merchant: tuple[FlaskClient, int], sandbox: ShopifySandbox, shop: SandboxShop
) -> None:
    web, _ = merchant
    spoil_first(shop, "orders", total_price="<script>alert(1)</script>")
    run = initial(web, sandbox)
    page = web.get(f"/integrations/shopify/runs/{run.id}/skipped").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page


def test_initial_sync_where_every_order_is_unreadable(
    merchant: tuple[FlaskClient, int], sandbox: ShopifySandbox, shop: SandboxShop
) -> None:
    web, _ = merchant
    records = list(shop.data.iter_records("orders"))
    for _, record in records:
        shop.store.put("orders", {**record, "total_price": "n/a"})
    run = initial(web, sandbox)
    assert run.status == "complete", run.error
    kept = db.session.scalar(select(func.count()).select_from(RejectedRecord))
    dashboard = web.get("/integrations/shopify/dashboard").get_data(as_text=True)
    assert kept == len(records)
    assert f"{len(records)} records skipped" in dashboard


def test_two_long_cart_tokens_sharing_a_prefix_never_merge(shopify_web: FlaskClient) -> None:
    """A key is never cut to fit: stored whole (SQLite) or refused with a reason (PostgreSQL)."""
    from lumo.models import Cart

    prefix = "c" * 255
    deliveries = []
    for suffix, note in (("-one", "first"), ("-two", "second")):
        payload = {
            "id": prefix + suffix,
            "token": prefix + suffix,
            "note": note,
            "line_items": [],
            "updated_at": "2026-01-01T00:00:00Z",
        }
        deliveries.append(delivered(shopify_web, "carts/create", payload))
    notes = sorted(db.session.scalars(select(Cart.note)))
    if notes:
        assert notes == ["first", "second"]
    else:
        assert all(d.status == "failed" and d.error for d in deliveries)


def test_long_product_title_is_cut_not_failed(shopify_web: FlaskClient) -> None:
    payload = {
        "id": 632910392,
        "title": "T" * 2000,
        "body_html": "x",
        "handle": "h",
        "updated_at": "2026-01-01T00:00:00Z",
        "variants": [],
        "tags": "",
    }
    delivery = delivered(shopify_web, "products/update", payload)
    assert delivery.status == "applied", delivery.error
    assert len(db.session.scalar(select(Product.title))) == 512


def test_an_applied_delivery_keeps_no_body_and_a_failed_one_keeps_it(
    shopify_web: FlaskClient,
) -> None:
    applied = delivered(shopify_web, "customers/create", {**CUSTOMER, "email": "ann@example.com"})
    failed = delivered(shopify_web, "orders/create", b'{"id": 1, "name": ')

    assert applied.status == "applied" and applied.body == b""
    assert failed.status == "failed" and failed.body == b'{"id": 1, "name": '


def test_a_delivery_for_an_unknown_shop_keeps_no_body(shopify_web: FlaskClient) -> None:
    response = post_webhook(
        shopify_web,
        "customers/create",
        {**CUSTOMER, "email": "ann@example.com"},
        secret=SECRET,
        shop_domain="someone-else.myshopify.com",
    )
    assert response.status_code == 200

    kept = db.session.scalars(select(WebhookDelivery)).all()
    assert [(d.status, d.body) for d in kept] == [("ignored", b"")]


def test_failed_bodies_are_forgotten_after_a_while_and_their_reasons_kept(
    shopify_web: FlaskClient,
) -> None:
    from datetime import UTC, datetime, timedelta

    from lumo.sync.deliveries import KEEP_FAILED_BODIES, forget_old_bodies

    old = delivered(shopify_web, "orders/create", b'{"id": 1, "name": ', event_id="old")
    recent = delivered(shopify_web, "orders/create", b'{"id": 2, "name": ', event_id="new")
    old.received_at = datetime.now(UTC) - KEEP_FAILED_BODIES - timedelta(days=1)
    db.session.commit()

    assert forget_old_bodies() == 1

    db.session.expire_all()
    assert old.body == b"" and old.status == "failed" and old.error
    assert recent.body == b'{"id": 2, "name": '


def test_redacting_a_customer_forgets_kept_bodies_that_name_them(
    shopify_web: FlaskClient,
) -> None:
    naming = delivered(
        shopify_web, "customers/update", b'{"id": 6200000000777, "email": "x@example.com"'
    )
    other = delivered(shopify_web, "customers/update", b'{"id": 6200000000888, "email": ')
    redact = {"customer": {"id": 6200000000777}, "orders_to_redact": []}

    assert delivered(shopify_web, "customers/redact", redact).status == "applied"

    db.session.expire_all()
    assert naming.body == b"" and naming.status == "failed"
    assert other.body == b'{"id": 6200000000888, "email": '


def test_redacting_forgets_kept_bodies_naming_the_customer_by_email_or_order(
    shopify_web: FlaskClient,
) -> None:
    by_email = delivered(shopify_web, "orders/create", b'{"email": "ann@example.com", ')
    by_order = delivered(shopify_web, "orders/create", b'{"id": 4500000000001, "customer": ')
    redact = {
        "customer": {"id": 6200000000999, "email": "ann@example.com", "phone": "+81312345678"},
        "orders_to_redact": [4500000000001],
    }

    assert delivered(shopify_web, "customers/redact", redact).status == "applied"

    db.session.expire_all()
    assert by_email.body == b"" and by_order.body == b""


def test_deliveries_sent_before_a_redaction_never_bring_the_customer_back(
    shopify_web: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import UTC, datetime, timedelta

    from lumo.models import Customer
    from lumo.sync import deliveries

    enqueue = deliveries.enqueue_apply
    monkeypatch.setattr(deliveries, "enqueue_apply", lambda delivery_id: False)
    waiting = delivered(shopify_web, "customers/update", {**CUSTOMER, "id": 6200000000555})
    their_order = delivered(
        shopify_web, "orders/create", order(id=4500000000555, customer={"id": 6200000000555})
    )
    lookalike = delivered(shopify_web, "customers/update", {**CUSTOMER, "id": 16200000000555})
    late_retry = delivered(shopify_web, "customers/update", {**CUSTOMER, "id": 6200000000555})
    monkeypatch.setattr(deliveries, "enqueue_apply", enqueue)

    redact = {"customer": {"id": 6200000000555}, "orders_to_redact": []}
    assert delivered(shopify_web, "customers/redact", redact).status == "applied"
    late_retry.received_at = datetime.now(UTC) + timedelta(seconds=5)  # arrived after it…
    late_retry.triggered_at = datetime.now(UTC) - timedelta(minutes=5)  # …sent before it
    db.session.commit()

    assert deliveries.apply_delivery(waiting.id) == "ignored"
    assert deliveries.apply_delivery(their_order.id) == "ignored"
    assert deliveries.apply_delivery(late_retry.id) == "ignored"
    assert deliveries.apply_delivery(lookalike.id) == "applied"
    assert set(db.session.scalars(select(Customer.shopify_id))) == {16200000000555}
    assert db.session.scalar(select(func.count()).select_from(Order)) == 0
    db.session.expire_all()
    assert "redacted" in (waiting.error or "")

    # What the customer does after the redaction is new, and syncs as usual.
    again = delivered(shopify_web, "customers/create", {**CUSTOMER, "id": 6200000000555})
    assert again.status == "applied"
