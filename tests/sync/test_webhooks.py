"""Automatic sync: webhooks verified, saved, applied once, in order, and never half-applied."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import func, select

from lumo.extensions import db
from lumo.models import (
    Customer,
    CustomerFriendLink,
    CustomerTag,
    LineFriend,
    Order,
    OrderLineItem,
    ShopifyConnection,
    SyncRun,
    WebhookDelivery,
)
from lumo.sandbox.shopify_server import SandboxShop, ShopifySandbox
from tests.sync.conftest import post_webhook


def deliveries(topic: str | None = None) -> list[WebhookDelivery]:
    db.session.rollback()
    query = select(WebhookDelivery).order_by(WebhookDelivery.id)
    if topic:
        query = query.where(WebhookDelivery.topic == topic)
    return list(db.session.scalars(query))


def customer(number: int) -> Customer | None:
    db.session.rollback()
    return db.session.scalar(select(Customer).where(Customer.shopify_id == number))


def tags_of(number: int) -> list[str]:
    db.session.rollback()
    return sorted(
        db.session.scalars(
            select(CustomerTag.tag).where(CustomerTag.customer_shopify_id == number)
        )
    )


def test_wrong_signature_is_refused_and_nothing_stored(
    connected: tuple[FlaskClient, int],
) -> None:
    web, _ = connected
    before = len(deliveries())
    response = post_webhook(web, "customers/update", {"id": 1}, secret="not-the-secret")
    assert response.status_code == 401
    assert len(deliveries()) == before


def test_new_customer_arrives_and_counts_in_the_hourly_automatic_run(
    connected: tuple[FlaskClient, int], shop: SandboxShop, sandbox: ShopifySandbox
) -> None:
    record = shop.create_customer(first_name="Hana", last_name="Sato", email="h@example.test")
    sandbox.drain()
    stored = customer(record["id"])
    assert stored is not None and stored.first_name == "Hana"
    assert stored.email is None  # personal properties are off by default
    run = db.session.scalar(select(SyncRun).where(SyncRun.kind == "automatic"))
    assert run is not None and run.counts["customers"] >= 1
    assert deliveries("customers/create")[-1].status == "applied"


def test_duplicate_event_is_applied_once(
    connected: tuple[FlaskClient, int], shop: SandboxShop, sandbox: ShopifySandbox
) -> None:
    web, _ = connected
    payload = {"id": 777, "first_name": "Dup", "updated_at": "2026-01-01T00:00:00Z"}
    first = post_webhook(web, "customers/create", payload, event_id="evt-1")
    second = post_webhook(web, "customers/create", payload, event_id="evt-1")
    assert first.status_code == second.status_code == 200
    assert second.get_json()["duplicate"] is True
    assert len([d for d in deliveries() if d.event_id == "evt-1"]) == 1
    shop.set_faults(webhook_duplicate=True)
    record = shop.create_customer(first_name="Twice")
    sandbox.drain()
    assert len(deliveries("customers/create")) == 2  # evt-1 and the stand-in's one event
    assert customer(record["id"]) is not None


def test_older_payload_never_overwrites_a_newer_row(
    connected: tuple[FlaskClient, int], shop: SandboxShop, sandbox: ShopifySandbox
) -> None:
    web, _ = connected
    number = next(iter(shop.data.iter_records("customers")))[0]
    newer = {"id": number, "first_name": "Newer", "updated_at": "2030-01-02T00:00:00Z"}
    older = {"id": number, "first_name": "Older", "updated_at": "2030-01-01T00:00:00Z"}
    post_webhook(web, "customers/update", newer)
    post_webhook(web, "customers/update", older)
    stored = customer(number)
    assert stored is not None and stored.first_name == "Newer"
    assert deliveries("customers/update")[-1].status == "ignored"

    shop.set_faults(webhook_hold=True)
    shop.update_customer(number, first_name="Second")
    shop.update_customer(number, first_name="Third")
    shop.release_webhooks("reverse")
    sandbox.drain()
    assert customer(number).first_name == "Newer"  # stand-in times are before 2030


def test_malformed_payload_is_kept_failed_with_nothing_applied(
    connected: tuple[FlaskClient, int],
) -> None:
    web, _ = connected
    response = post_webhook(web, "orders/create", b'{"id": 5, "line_items": "oops"')
    assert response.status_code == 200
    failed = deliveries("orders/create")[-1]
    assert failed.status == "failed" and failed.error
    assert failed.body.startswith(b'{"id": 5')

    half = {
        "id": 6,
        "updated_at": "2026-01-01T00:00:00Z",
        "line_items": [{"id": 1, "quantity": "x"}],
    }
    post_webhook(web, "orders/create", half)
    assert deliveries("orders/create")[-1].status == "failed"
    assert db.session.scalar(select(Order).where(Order.shopify_id == 6)) is None


def test_unknown_topic_is_recorded_as_ignored(connected: tuple[FlaskClient, int]) -> None:
    web, _ = connected
    assert post_webhook(web, "themes/publish", {"id": 1}).status_code == 200
    assert deliveries("themes/publish")[-1].status == "ignored"


def test_order_delete_removes_the_order_and_its_line_items(
    connected: tuple[FlaskClient, int], shop: SandboxShop
) -> None:
    web, workspace_id = connected
    number = next(iter(shop.data.iter_records("orders")))[0]
    db.session.rollback()
    assert db.session.scalar(
        select(func.count())
        .select_from(OrderLineItem)
        .where(OrderLineItem.order_shopify_id == number)
    )
    post_webhook(web, "orders/delete", {"id": number})
    db.session.rollback()
    assert db.session.scalar(select(Order).where(Order.shopify_id == number)) is None
    assert not db.session.scalar(
        select(func.count())
        .select_from(OrderLineItem)
        .where(OrderLineItem.order_shopify_id == number)
    )


def test_edited_order_replaces_its_line_items(
    connected: tuple[FlaskClient, int], shop: SandboxShop
) -> None:
    web, _ = connected
    record = next(iter(shop.data.iter_records("orders")))[1]
    payload = dict(shop._order_payload(record), updated_at="2031-01-01T00:00:00Z")
    payload["line_items"] = payload["line_items"][:1]
    post_webhook(web, "orders/updated", payload)
    db.session.rollback()
    items = db.session.scalars(
        select(OrderLineItem).where(OrderLineItem.order_shopify_id == record["id"])
    ).all()
    assert [i.shopify_id for i in items] == [payload["line_items"][0]["id"]]


def test_2025_01_customer_webhook_keeps_tags_and_tag_topics_update_them(
    connected: tuple[FlaskClient, int], shop: SandboxShop, sandbox: ShopifySandbox
) -> None:
    tagged = [(n, r) for n, r in shop.data.iter_records("customers") if r.get("tags")]
    number, record = tagged[0]
    before = tags_of(number)
    assert before

    shop.update_customer(number, first_name="Renamed")  # 2025-10 payload: no tags
    sandbox.drain()
    assert customer(number).first_name == "Renamed"
    assert tags_of(number) == before

    shop.update_customer_tags(number, add=["Gold Member"], remove=[before[0]])
    sandbox.drain()
    after = tags_of(number)
    assert "Gold Member" in after and before[0] not in after
    assert deliveries("customer.tags_added")[-1].status == "applied"


def _link(workspace_id: int, customer_id: int) -> CustomerFriendLink:
    friend = LineFriend(workspace_id=workspace_id, line_user_id=f"U{customer_id}")
    db.session.add(friend)
    db.session.flush()
    link = CustomerFriendLink(
        workspace_id=workspace_id,
        customer_shopify_id=customer_id,
        friend_id=friend.id,
        method="test",
    )
    db.session.add(link)
    db.session.commit()
    return link


def test_merge_moves_the_friend_link_to_the_surviving_customer(
    connected: tuple[FlaskClient, int], shop: SandboxShop
) -> None:
    web, workspace_id = connected
    (kept, _), (gone, _) = list(shop.data.iter_records("customers"))[:2]
    _link(workspace_id, gone)
    response = post_webhook(
        web, "customers/merge", {"kept_customer_id": kept, "deleted_customer_id": gone}
    )
    assert response.status_code == 200
    db.session.rollback()
    links = db.session.scalars(select(CustomerFriendLink)).all()
    assert [link.customer_shopify_id for link in links] == [kept]
    assert customer(gone) is None


def test_uninstall_removes_links_and_forgets_the_token(
    connected: tuple[FlaskClient, int], shop: SandboxShop
) -> None:
    web, workspace_id = connected
    number = next(iter(shop.data.iter_records("customers")))[0]
    _link(workspace_id, number)
    post_webhook(web, "app/uninstalled", {"id": 1, "myshopify_domain": shop.domain})
    db.session.rollback()
    connection = db.session.scalar(select(ShopifyConnection))
    assert connection.state == "uninstalled" and connection.access_token is None
    assert db.session.scalar(select(func.count()).select_from(CustomerFriendLink)) == 0

    post_webhook(web, "customers/update", {"id": number, "first_name": "After"})
    assert deliveries("customers/update")[-1].status == "ignored"


def test_compliance_topics_redact_and_record(
    connected: tuple[FlaskClient, int], shop: SandboxShop
) -> None:
    web, workspace_id = connected
    number = next(iter(shop.data.iter_records("customers")))[0]
    payload = {"shop_domain": shop.domain, "customer": {"id": number}, "orders_to_redact": []}
    post_webhook(web, "customers/data_request", payload)
    assert deliveries("customers/data_request")[-1].status == "applied"
    post_webhook(web, "customers/redact", payload)
    assert customer(number) is None
    assert not db.session.scalar(
        select(func.count()).select_from(Order).where(Order.customer_shopify_id == number)
    )
    post_webhook(web, "shop/redact", {"shop_domain": shop.domain})
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Customer)) == 0
