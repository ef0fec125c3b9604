"""Shopify webhook deliveries: saving them, applying them in a job, and re-queuing leftovers.

The HTTP handler only verifies, saves and enqueues (`receive_delivery`); `apply_delivery`
does the work in one transaction per delivery, so a malformed payload is kept as `failed` with
nothing half-applied, and applying twice changes nothing (the status is checked first, the
staleness guard protects rows). Deliveries left in `received` — the queue was down — are
re-queued by `requeue_received` (at worker start and on the reconciliation schedule).
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from lumo import jobs
from lumo.app import plugin_manager
from lumo.categories import Category, WebhookAction
from lumo.extensions import db
from lumo.logs import log_context
from lumo.mapping import RecordShape
from lumo.models import (
    AbandonedCheckout,
    Cart,
    Customer,
    CustomerFriendLink,
    CustomerTag,
    Order,
    OrderLineItem,
    Product,
    RedactedCustomer,
    ShopifyConnection,
    WebhookDelivery,
)
from lumo.shopify import ShopifyError
from lumo.sync.bulk_import import map_records
from lumo.sync.connection import (
    delete_links,
    remove_integration,
    shopify_client,
    workspace_for_shop,
)
from lumo.sync.fields import shopify_id
from lumo.sync.last_order import advance_last_order
from lumo.sync.properties import map_context
from lumo.sync.runs import add_counts, automatic_run
from lumo.sync.upsert import delete_matching, write_rows

logger = logging.getLogger(__name__)

SOURCE = "shopify"
#: Topics whose payload lacks what Lumo stores: the record is re-read from the Admin API.
REFETCH_TOPICS = {"customer.tags_added": "customers", "customer.tags_removed": "customers"}
COMPLIANCE_TOPICS = ("customers/data_request", "customers/redact", "shop/redact")
RECORDED_TOPICS = ("bulk_operations/finish", "customers/data_request")


@dataclass(frozen=True)
class Received:
    """What the webhook endpoint needs to answer."""

    delivery_id: int | None
    duplicate: bool


class DeliveryError(ValueError):
    """The payload cannot be applied; kept with status failed and this message."""


def _header_instant(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def receive_delivery(headers: Any, raw_body: bytes) -> Received:
    """Save a verified delivery and queue its apply job; duplicates are recognised.

    The request path is kept minimal: a cached shop lookup, one autocommitted Core `INSERT …
    ON CONFLICT DO NOTHING RETURNING id` (a duplicate event returns nothing) and the enqueue.
    """
    topic = headers.get("X-Shopify-Topic", "")
    shop = (headers.get("X-Shopify-Shop-Domain") or "").lower()
    webhook_id = headers.get("X-Shopify-Webhook-Id")
    event_id = headers.get("X-Shopify-Event-Id") or webhook_id
    workspace_id = workspace_for_shop(shop) if shop else None
    values = {
        "workspace_id": workspace_id,
        "source": SOURCE,
        "topic": topic[:128],
        "event_id": (event_id or f"missing-{datetime.now(UTC).timestamp()}")[:128],
        "webhook_id": webhook_id,
        "shop_domain": shop or None,
        "triggered_at": _header_instant(headers.get("X-Shopify-Triggered-At")),
        # A delivery no workspace claims is never applied: its body is not kept.
        "body": raw_body if workspace_id is not None else b"",
        "status": "received" if workspace_id is not None else "ignored",
        "error": None if workspace_id is not None else "No workspace is connected to this shop.",
    }
    # One autocommit statement: no BEGIN/COMMIT round trips around the single insert.
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        statement = _insert_new(connection.dialect.name, claimed=workspace_id is not None)
        delivery_id = connection.scalar(statement, values)
    if delivery_id is None:
        logger.info("shopify webhook %s: duplicate event, ignored", event_id)
        return Received(None, True)
    if workspace_id is not None:
        enqueue_apply(delivery_id)
    return Received(delivery_id, False)


@functools.cache
def _insert_new(dialect: str, *, claimed: bool) -> Any:
    """INSERT a delivery unless its event is already stored; returns its id.

    An event id is unique per workspace, so another store's event can never pre-empt this
    one's; a delivery no workspace claims is compared with the other unclaimed ones.
    """
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    if claimed:
        statement = insert(WebhookDelivery).on_conflict_do_nothing(
            index_elements=["workspace_id", "source", "event_id"]
        )
    else:
        statement = insert(WebhookDelivery).on_conflict_do_nothing(
            index_elements=["source", "event_id"],
            index_where=WebhookDelivery.workspace_id.is_(None),
        )
    return statement.returning(WebhookDelivery.id)


def enqueue_apply(delivery_id: int) -> bool:
    """Queue the apply job; when the queue is down the delivery waits for the sweeper."""
    try:
        jobs.enqueue("webhooks", apply_delivery_job, delivery_id)
    except (RedisError, OSError) as error:
        logger.warning(
            "webhook delivery %s saved but not queued (%s); the sweeper will queue it",
            delivery_id,
            type(error).__name__,
        )
        return False
    return True


def _enqueue_by_source(delivery_id: int, source: str) -> bool:
    if source == SOURCE:
        return enqueue_apply(delivery_id)
    if source == "line":
        from lumo.friends.events import apply_line_delivery

        try:
            jobs.enqueue("webhooks", apply_line_delivery, delivery_id)
        except (RedisError, OSError):
            return False
        return True
    return False


@jobs.job
def apply_delivery_job(delivery_id: int) -> None:
    with log_context(delivery=delivery_id):
        apply_delivery(delivery_id)


def apply_delivery(delivery_id: int) -> str:
    """Apply one delivery in one transaction; returns its final status."""
    delivery = db.session.scalar(
        select(WebhookDelivery).where(WebhookDelivery.id == delivery_id).with_for_update()
    )
    if delivery is None:
        return "missing"
    if delivery.status != "received":
        db.session.rollback()
        return delivery.status
    topic = delivery.topic
    workspace_id = delivery.workspace_id

    try:
        payload = json.loads(delivery.body, parse_constant=_not_json_number)
        if not isinstance(payload, dict):
            raise DeliveryError("The payload is not a JSON object.")
        status, counts = _apply(delivery, payload)
    except (DeliveryError, ValueError, KeyError, TypeError, ArithmeticError) as error:
        db.session.rollback()
        return _fail(delivery_id, f"{type(error).__name__}: {error}")
    except ShopifyError as error:
        db.session.rollback()
        return _fail(delivery_id, f"Shopify could not be asked for the record: {error}")
    except Exception as error:
        # Anything else (a payload of an unexpected shape, a value the database refuses): keep
        # the delivery as failed with the reason, so it is inspected rather than retried forever.
        db.session.rollback()
        logger.exception("webhook delivery %s could not be applied", delivery_id)
        return _fail(delivery_id, f"{type(error).__name__}: {error}")

    delivery.status = status
    delivery.attempts = (delivery.attempts or 0) + 1
    delivery.applied_at = datetime.now(UTC)
    # Applied or ignored, the body is of no further use, and it holds whatever the payload
    # carried (emails and phones even while their sync is off): only a failed one keeps it.
    delivery.body = b""
    if counts and workspace_id is not None:
        run = automatic_run(workspace_id)
        add_counts(run, counts)
        delivery.sync_run_id = run.id
    db.session.commit()
    logger.info("webhook delivery %s %s: %s %s", delivery_id, topic, status, counts)
    return status


def _not_json_number(name: str) -> Any:
    """Python's JSON reader accepts NaN and Infinity; Shopify never sends them, so refuse."""
    raise DeliveryError(f"The payload holds {name}, which is not a JSON number.")


def _fail(delivery_id: int, reason: str) -> str:
    db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id)
        .values(
            status="failed",
            error=reason[:2000],
            attempts=WebhookDelivery.attempts + 1,
            applied_at=datetime.now(UTC),
        )
    )
    db.session.commit()
    logger.warning("webhook delivery %s failed: %s", delivery_id, reason[:200])
    return "failed"


def _apply(delivery: WebhookDelivery, payload: dict[str, Any]) -> tuple[str, dict[str, int]]:
    """The changes a delivery makes, uncommitted; returns (status, rows per category)."""
    topic = delivery.topic
    workspace_id = delivery.workspace_id
    if workspace_id is None:
        return "ignored", {}
    connection = db.session.scalar(
        select(ShopifyConnection).where(ShopifyConnection.workspace_id == workspace_id)
    )

    if topic == "shop/redact":
        redact_shop(workspace_id)
        return "applied", {}
    if topic == "customers/redact":
        redact_customer(workspace_id, payload)
        return "applied", {}
    if topic in RECORDED_TOPICS:
        return "applied", {}
    if connection is None or connection.state == "uninstalled":
        delivery.error = "The integration was removed; nothing is synced."
        return "ignored", {}
    if topic == "app/uninstalled":
        remove_integration(workspace_id, notify_shopify=False)
        return "applied", {}
    if _sent_before_a_redaction(delivery, payload):
        delivery.error = "Its customer was redacted after Shopify sent it; nothing was stored."
        return "ignored", {}
    if topic == "customers/merge":
        return "applied", merge_customers(workspace_id, payload)
    if topic in REFETCH_TOPICS:
        return _refetch(workspace_id, REFETCH_TOPICS[topic], payload)

    categories = [c for c in plugin_manager(current_app).categories() if topic in c.webhook_topics]
    if not categories:
        delivery.error = f"Lumo does not use the topic {topic!r}."
        return "ignored", {}

    counts: dict[str, int] = {}
    stale = 0
    for category in categories:
        written, skipped = _apply_category(workspace_id, category, topic, payload)
        counts[category.key] = written
        stale += skipped
    if stale and not any(counts.values()):
        delivery.error = "Older than the stored record; not applied."
        return "ignored", {}
    return "applied", {k: v for k, v in counts.items() if v}


def _apply_category(
    workspace_id: int, category: Category, topic: str, payload: dict[str, Any]
) -> tuple[int, int]:
    context = map_context(workspace_id, category)
    hook = plugin_manager(current_app).hook
    if category.webhook_topics[topic] is WebhookAction.DELETE:
        key = hook.lumo_deleted_key(category=category, payload=payload, context=context)
        if not key:
            raise DeliveryError(f"The {category.key} plugin found no key in the payload.")
        removed = delete_matching(db.session, category.table, key)
        if category.table == "shopify_customers":
            delete_matching(
                db.session,
                "shopify_customer_tags",
                {"workspace_id": workspace_id, "customer_shopify_id": key["shopify_id"]},
            )
        return removed, 0
    rows = map_records(category, [payload], RecordShape.WEBHOOK, context)
    result = write_rows(rows)
    advance_last_order(workspace_id, category.key, payload)
    return result.written.get(category.table, 0), result.stale.get(category.table, 0)


def _refetch(
    workspace_id: int, category_key: str, payload: dict[str, Any]
) -> tuple[str, dict[str, int]]:
    """Re-read the record a thin payload names, through the category's GraphQL query."""
    number = shopify_id(
        payload.get("customerId")
        or payload.get("customer_id")
        or payload.get("admin_graphql_api_id")
        or payload.get("id")
    )
    if number is None:
        raise DeliveryError("The payload names no record.")
    category = plugin_manager(current_app).category(category_key)
    context = map_context(workspace_id, category)
    query = plugin_manager(current_app).hook.lumo_changed_since_query(
        category=category, enabled=context.enabled
    )
    with shopify_client(workspace_id) as client:
        data = client.graphql(query, {"first": 1, "after": None, "query": f"id:{number}"})
    connection = next(iter(data.values()), None) or {}
    nodes = connection.get("nodes") or [e["node"] for e in connection.get("edges") or []]
    nodes = [n for n in nodes if shopify_id(n.get("id")) == number]
    if not nodes:
        return "ignored", {}
    result = write_rows(map_records(category, nodes, RecordShape.GRAPHQL, context))
    return "applied", {category.key: result.written.get(category.table, 0)}


def merge_customers(workspace_id: int, payload: Mapping[str, Any]) -> dict[str, int]:
    """Move the merged-away customer's friend link, orders and checkouts to the survivor."""
    kept = _first_id(payload, ("kept_customer_id", "resulting_customer_id", "customer_id"))
    gone = _first_id(payload, ("deleted_customer_id", "merged_customer_id", "removed_customer_id"))
    if kept is None or gone is None or kept == gone:
        raise DeliveryError("A merge payload must name the kept and the merged-away customer.")

    links = db.session.scalars(
        select(CustomerFriendLink).where(
            CustomerFriendLink.workspace_id == workspace_id,
            CustomerFriendLink.customer_shopify_id.in_((kept, gone)),
        )
    ).all()
    survivor_link = next((x for x in links if x.customer_shopify_id == kept), None)
    for link in links:
        if link.customer_shopify_id != gone:
            continue
        if survivor_link is None:
            link.customer_shopify_id = kept
        else:
            db.session.delete(link)  # the survivor keeps its own friend
    model: Any
    for model in (Order, AbandonedCheckout):
        db.session.execute(
            update(model)
            .where(model.workspace_id == workspace_id, model.customer_shopify_id == gone)
            .values(customer_shopify_id=kept)
        )
    for model, column in (
        (Customer, Customer.shopify_id),
        (CustomerTag, CustomerTag.customer_shopify_id),
    ):
        db.session.execute(delete(model).where(model.workspace_id == workspace_id, column == gone))
    logger.info("workspace %s: customer merge moved %d links", workspace_id, len(links))
    return {"customers": 1}


def _first_id(payload: Mapping[str, Any], names: tuple[str, ...]) -> int | None:
    for name in names:
        value = payload.get(name)
        if isinstance(value, Mapping):
            value = value.get("id")
        if value is not None:
            return shopify_id(value)
    return None


def redact_customer(workspace_id: int, payload: Mapping[str, Any]) -> None:
    """`customers/redact`: erase the customer, their orders, checkouts and friend link."""
    number = shopify_id((payload.get("customer") or {}).get("id"))
    orders = [shopify_id(o) for o in payload.get("orders_to_redact") or []]
    if number is None:
        raise DeliveryError("customers/redact names no customer.")
    where_ws = {"workspace_id": workspace_id}
    for model, column in (
        (Customer, Customer.shopify_id),
        (CustomerTag, CustomerTag.customer_shopify_id),
        (AbandonedCheckout, AbandonedCheckout.customer_shopify_id),
        (CustomerFriendLink, CustomerFriendLink.customer_shopify_id),
    ):
        db.session.execute(delete(model).filter_by(**where_ws).where(column == number))
    owned = select(Order.shopify_id).where(
        Order.workspace_id == workspace_id, Order.customer_shopify_id == number
    )
    order_ids = set(db.session.scalars(owned)) | {o for o in orders if o is not None}
    if order_ids:
        db.session.execute(
            delete(OrderLineItem).where(
                OrderLineItem.workspace_id == workspace_id,
                OrderLineItem.order_shopify_id.in_(order_ids),
            )
        )
        db.session.execute(
            delete(Order).where(
                Order.workspace_id == workspace_id, Order.shopify_id.in_(order_ids)
            )
        )
    _remember_redaction(workspace_id, number)
    customer = payload.get("customer") or {}
    forget_bodies_naming(
        workspace_id,
        [number, *order_ids, customer.get("email"), customer.get("phone")],
    )
    logger.info("workspace %s: customer redacted with %d orders", workspace_id, len(order_ids))


def _remember_redaction(workspace_id: int, number: int) -> None:
    """Note the customer and the moment, so no delivery sent before it is applied later."""
    known = db.session.scalar(
        select(RedactedCustomer).where(
            RedactedCustomer.workspace_id == workspace_id,
            RedactedCustomer.customer_shopify_id == number,
        )
    )
    if known is None:
        db.session.add(RedactedCustomer(workspace_id=workspace_id, customer_shopify_id=number))
    else:
        known.redacted_at = datetime.now(UTC)


def _sent_before_a_redaction(delivery: WebhookDelivery, payload: Mapping[str, Any]) -> bool:
    """Whether the delivery carries a customer `customers/redact` erased after it was sent.

    Shopify's `X-Shopify-Triggered-At` says when it was sent; without it, when it arrived.
    """
    if delivery.workspace_id is None:
        return False
    try:
        if delivery.topic.startswith("customer"):  # customers/… and customer.tags_…
            number = shopify_id(payload.get("customerId") or payload.get("id"))
        else:
            customer = payload.get("customer")
            owner = customer.get("id") if isinstance(customer, Mapping) else None
            number = shopify_id(owner or payload.get("customer_id"))
    except (TypeError, ValueError):
        return False
    if number is None:
        return False
    redacted_at = db.session.scalar(
        select(RedactedCustomer.redacted_at).where(
            RedactedCustomer.workspace_id == delivery.workspace_id,
            RedactedCustomer.customer_shopify_id == number,
        )
    )
    sent_at = delivery.triggered_at or delivery.received_at
    return redacted_at is not None and sent_at is not None and sent_at <= redacted_at


#: How long a failed delivery keeps its body for inspection before it is forgotten.
KEEP_FAILED_BODIES = timedelta(days=30)


def forget_bodies_naming(workspace_id: int, names: list[Any]) -> int:
    """Clear the kept bodies (failed deliveries) that mention any of a redacted customer's
    ids, orders, email or phone.

    A plain search of the raw bytes: it may also clear an unrelated failed body (which only
    loses what there was to inspect), never a delivery still to be applied.
    """
    needles = [str(name).encode() for name in names if name not in (None, "")]
    kept = db.session.execute(
        select(WebhookDelivery.id, WebhookDelivery.body).where(
            WebhookDelivery.workspace_id == workspace_id,
            WebhookDelivery.status == "failed",
            WebhookDelivery.body != b"",
        )
    ).all()
    naming = [
        delivery_id
        for delivery_id, body in kept
        if any(needle in (body or b"") for needle in needles)
    ]
    if naming:
        db.session.execute(
            update(WebhookDelivery).where(WebhookDelivery.id.in_(naming)).values(body=b"")
        )
    return len(naming)


def forget_old_bodies(older_than: timedelta = KEEP_FAILED_BODIES) -> int:
    """Clear the bodies of failed deliveries older than `older_than`; their reasons stay."""
    cutoff = datetime.now(UTC) - older_than
    result = db.session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.status == "failed",
            WebhookDelivery.received_at < cutoff,
            WebhookDelivery.body != b"",
        )
        .values(body=b"")
    )
    db.session.commit()
    forgotten = int(getattr(result, "rowcount", 0) or 0)
    if forgotten:
        logger.info("forgot the bodies of %d old failed deliveries", forgotten)
    return forgotten


def redact_shop(workspace_id: int) -> None:
    """`shop/redact`: erase every synced row and link of the shop's workspace."""
    for model in (OrderLineItem, Order, CustomerTag, Customer, AbandonedCheckout, Cart, Product):
        db.session.execute(delete(model).where(model.workspace_id == workspace_id))
    delete_links(workspace_id)
    logger.info("workspace %s: shop data redacted", workspace_id)


def requeue_received(older_than: timedelta = timedelta(seconds=30), limit: int = 1000) -> int:
    """Queue again the deliveries still `received` (their job was never queued or was lost).

    Shopify and LINE deliveries alike: both are acknowledged once saved, so a lost job must
    never mean a lost event.
    """
    cutoff = datetime.now(UTC) - older_than
    waiting = db.session.execute(
        select(WebhookDelivery.id, WebhookDelivery.source)
        .where(
            WebhookDelivery.status == "received",
            WebhookDelivery.received_at <= cutoff,
        )
        .order_by(WebhookDelivery.id)
        .limit(limit)
    ).all()
    db.session.rollback()
    ids = [delivery_id for delivery_id, _ in waiting]
    queued = sum(1 for delivery_id, source in waiting if _enqueue_by_source(delivery_id, source))
    if ids:
        logger.info("sweeper: %d of %d waiting deliveries queued", queued, len(ids))
    return queued
