"""Declares the carts category."""

from __future__ import annotations

from lumo import hookimpl
from lumo.categories import Category, Property, PropertyType, WebhookAction

CARTS = Category(
    key="carts",
    label="Carts",
    table="shopify_carts",
    order=40,
    bulk=False,
    description="Online-store carts, received from Shopify webhooks as they change.",
    properties=(
        Property("token", "Cart token", "token", "token", required=True),
        Property("item_count", "Item count", "line_items", "item_count", PropertyType.NUMBER),
        Property(
            "total_price", "Total", "line_items.line_price", "total_price", PropertyType.MONEY
        ),
        Property("note", "Note", "note", "note"),
        Property(
            "updated_at", "Updated at", "updated_at", "shopify_updated_at", PropertyType.DATETIME
        ),
    ),
    webhook_topics={
        "carts/create": WebhookAction.UPSERT,
        "carts/update": WebhookAction.UPSERT,
    },
)


@hookimpl
def lumo_categories() -> list[Category]:
    return [CARTS]
