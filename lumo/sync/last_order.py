"""A customer's last order date, kept current from webhooks instead of the hourly catch-up.

Since API 2025-01 customer webhooks carry no order summary, so an order webhook is the first
sign of a purchase. After an order is applied its customer's `last_order_at` moves forward to
the order's `processed_at` (Shopify's `lastOrder.processedAt`); after a customer is applied it
catches up with the orders already stored for them, because Shopify may deliver a new
customer's first order before the customer. The date only ever moves forward, and only a
stored customer row is updated: one not stored yet gets its full row from its own webhook or
the next sync. Order counts and totals are left to the catch-up pass, which reads Shopify's
own figures (refunds, edits and orders older than Lumo's window make local arithmetic wrong).

Nothing here commits: the change rides in the delivery's transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import func, or_, select, update

from lumo.app import plugin_manager
from lumo.extensions import db
from lumo.models import Customer, Order
from lumo.sync.fields import instant, shopify_id
from lumo.sync.properties import enabled_properties
from lumo.sync.upsert import rowcount

logger = logging.getLogger(__name__)

ORDERS, CUSTOMERS = "orders", "customers"
#: The customers property whose column (`last_order_at`) this module maintains.
LAST_ORDER_PROPERTY = "last_order_date"


def advance_last_order(workspace_id: int, category_key: str, payload: Mapping[str, Any]) -> bool:
    """After an order or customer webhook is applied, move the customer's last order forward.

    Returns True when a stored customer's `last_order_at` changed.
    """
    if category_key == ORDERS:
        customer = payload.get("customer")
        number = shopify_id(customer.get("id")) if isinstance(customer, Mapping) else None
        placed = instant(payload.get("processed_at") or payload.get("created_at"))
    elif category_key == CUSTOMERS:
        number = shopify_id(payload.get("id"))
        placed = _latest_stored_order(workspace_id, number) if number is not None else None
    else:
        return False
    if number is None or placed is None or not _tracked(workspace_id):
        return False

    result = db.session.execute(
        update(Customer)
        .where(
            Customer.workspace_id == workspace_id,
            Customer.shopify_id == number,
            or_(Customer.last_order_at.is_(None), Customer.last_order_at < placed),
        )
        .values(last_order_at=placed)
        .execution_options(synchronize_session=False)
    )
    moved = rowcount(result) > 0
    if moved:
        logger.debug("workspace %s: customer %s last order moved forward", workspace_id, number)
    return moved


def _latest_stored_order(workspace_id: int, customer_number: int) -> datetime | None:
    return db.session.scalar(
        select(func.max(Order.ordered_at)).where(
            Order.workspace_id == workspace_id, Order.customer_shopify_id == customer_number
        )
    )


def _tracked(workspace_id: int) -> bool:
    """Whether the workspace syncs customers' last order date (a Synced Data switch)."""
    customers = next(
        (c for c in plugin_manager(current_app).categories() if c.key == CUSTOMERS), None
    )
    return customers is not None and LAST_ORDER_PROPERTY in enabled_properties(
        workspace_id, customers
    )
