"""Declares the abandoned checkouts category and the properties it can sync."""

from __future__ import annotations

from lumo import hookimpl
from lumo.categories import Category, Property, PropertyType, WebhookAction

ABANDONED_CHECKOUTS = Category(
    key="abandoned_checkouts",
    label="Abandoned checkouts",
    table="shopify_abandoned_checkouts",
    order=30,
    description="Checkouts customers started and did not complete (and whether they later did).",
    properties=(
        Property("id", "Checkout ID", "id", "shopify_id", PropertyType.NUMBER, required=True),
        Property(
            "customer",
            "Customer",
            "customer.id",
            "customer_shopify_id",
            PropertyType.NUMBER,
            required=True,
        ),
        Property("token", "Checkout token", "token", "token"),
        Property(
            "total_price",
            "Total",
            "totalPriceSet.shopMoney.amount",
            "total_price",
            PropertyType.MONEY,
        ),
        Property("currency", "Currency", "totalPriceSet.shopMoney.currencyCode", "currency"),
        Property("item_count", "Item count", "lineItems", "item_count", PropertyType.NUMBER),
        Property(
            "recovery_url",
            "Recovery URL",
            "abandonedCheckoutUrl",
            "recovery_url",
            PropertyType.URL,
        ),
        Property("created_at", "Abandoned at", "createdAt", "created_at", PropertyType.DATETIME),
        Property(
            "completed_at", "Completed at", "completedAt", "completed_at", PropertyType.DATETIME
        ),
        Property(
            "email",
            "Email address",
            "customer.email",
            "email",
            personal=True,
            default_enabled=False,
            description="Personal information: off until the merchant turns it on.",
        ),
        Property(
            "phone",
            "Phone number",
            "shippingAddress.phone",
            "phone",
            personal=True,
            default_enabled=False,
            description="Personal information: off until the merchant turns it on.",
        ),
        Property("note", "Note", "note", "extra.note", offered=True, default_enabled=False),
    ),
    webhook_topics={
        "checkouts/create": WebhookAction.UPSERT,
        "checkouts/update": WebhookAction.UPSERT,
        "checkouts/delete": WebhookAction.DELETE,
    },
)


@hookimpl
def lumo_categories() -> list[Category]:
    return [ABANDONED_CHECKOUTS]
