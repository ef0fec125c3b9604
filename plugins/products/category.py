"""Declares the products category and the properties it can sync."""

from __future__ import annotations

from lumo import hookimpl
from lumo.categories import Category, Property, PropertyType, WebhookAction

PRODUCTS = Category(
    key="products",
    label="Products",
    table="shopify_products",
    order=5,
    description="The store's catalog, with stock and price summarised over variants.",
    properties=(
        Property("id", "Product ID", "id", "shopify_id", PropertyType.NUMBER, required=True),
        Property("title", "Title", "title", "title"),
        Property("handle", "Handle", "handle", "handle"),
        Property("description", "Description", "description", "description"),
        Property("vendor", "Vendor", "vendor", "vendor"),
        Property("product_type", "Product type", "productType", "product_type"),
        Property("tags", "Product tags", "tags", "tags", PropertyType.TAGS),
        Property("status", "Status", "status", "status"),
        Property(
            "inventory_quantity",
            "Inventory quantity",
            "totalInventory",
            "inventory_quantity",
            PropertyType.NUMBER,
        ),
        Property("price", "Price", "variants.price", "price", PropertyType.MONEY),
        Property(
            "published_at", "Published at", "publishedAt", "published_at", PropertyType.DATETIME
        ),
        Property(
            "online_store_url",
            "Online store URL",
            "onlineStoreUrl",
            "extra.online_store_url",
            PropertyType.URL,
            offered=True,
            default_enabled=False,
        ),
    ),
    webhook_topics={
        "products/create": WebhookAction.UPSERT,
        "products/update": WebhookAction.UPSERT,
        "products/delete": WebhookAction.DELETE,
    },
)


@hookimpl
def lumo_categories() -> list[Category]:
    return [PRODUCTS]
