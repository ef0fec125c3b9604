"""Declares the orders category and the properties it can sync."""

from __future__ import annotations

from lumo import hookimpl
from lumo.categories import Category, Property, PropertyType, WebhookAction

ORDERS = Category(
    key="orders",
    label="Orders",
    table="shopify_orders",
    order=20,
    description="Orders placed in the store, including cancelled ones.",
    properties=(
        Property("id", "Order ID", "id", "shopify_id", PropertyType.NUMBER, required=True),
        Property(
            "customer",
            "Customer",
            "customer.id",
            "customer_shopify_id",
            PropertyType.NUMBER,
            required=True,
        ),
        Property("name", "Order number", "name", "name"),
        Property(
            "total_price",
            "Total",
            "totalPriceSet.shopMoney.amount",
            "total_price",
            PropertyType.MONEY,
        ),
        Property("currency", "Currency", "totalPriceSet.shopMoney.currencyCode", "currency"),
        Property(
            "financial_status", "Financial status", "displayFinancialStatus", "financial_status"
        ),
        Property(
            "fulfillment_status",
            "Fulfillment status",
            "displayFulfillmentStatus",
            "fulfillment_status",
        ),
        Property("ordered_at", "Ordered at", "processedAt", "ordered_at", PropertyType.DATETIME),
        Property(
            "cancelled_at", "Cancelled at", "cancelledAt", "cancelled_at", PropertyType.DATETIME
        ),
        Property(
            "tags",
            "Order tags",
            "tags",
            "extra.tags",
            PropertyType.TAGS,
            offered=True,
            default_enabled=False,
        ),
        Property("note", "Note", "note", "extra.note", offered=True, default_enabled=False),
        Property(
            "source_name",
            "Sales channel",
            "sourceName",
            "extra.source_name",
            offered=True,
            default_enabled=False,
        ),
    ),
    webhook_topics={
        "orders/create": WebhookAction.UPSERT,
        "orders/updated": WebhookAction.UPSERT,
        "orders/paid": WebhookAction.UPSERT,
        "orders/cancelled": WebhookAction.UPSERT,
        "orders/fulfilled": WebhookAction.UPSERT,
        "orders/partially_fulfilled": WebhookAction.UPSERT,
        "orders/delete": WebhookAction.DELETE,
    },
)


@hookimpl
def lumo_categories() -> list[Category]:
    return [ORDERS]
