"""Declares the order line items category.

Line items have no webhook topics of their own: they arrive inside order payloads, and this
category's rows are refreshed whenever their order is.
"""

from __future__ import annotations

from lumo import hookimpl
from lumo.categories import Category, Property, PropertyType, WebhookAction

LINE_ITEMS = Category(
    key="line_items",
    label="Order line items",
    table="shopify_order_line_items",
    order=25,
    description="The products, variants and quantities of each order.",
    properties=(
        Property("id", "Line item ID", "id", "shopify_id", PropertyType.NUMBER, required=True),
        Property(
            "order", "Order", "__parentId", "order_shopify_id", PropertyType.NUMBER, required=True
        ),
        Property("product", "Product", "product.id", "product_shopify_id", PropertyType.NUMBER),
        Property("variant", "Variant", "variant.id", "variant_shopify_id", PropertyType.NUMBER),
        Property("product_title", "Product title", "title", "product_title"),
        Property("sku", "Variant SKU", "sku", "sku"),
        Property("quantity", "Quantity", "quantity", "quantity", PropertyType.NUMBER),
        Property(
            "price", "Price", "originalUnitPriceSet.shopMoney.amount", "price", PropertyType.MONEY
        ),
        Property("variant_title", "Variant title", "variantTitle", "variant_title"),
        Property(
            "vendor", "Vendor", "vendor", "extra.vendor", offered=True, default_enabled=False
        ),
    ),
    webhook_topics={
        "orders/create": WebhookAction.UPSERT,
        "orders/updated": WebhookAction.UPSERT,
        "orders/edited": WebhookAction.UPSERT,
        "orders/delete": WebhookAction.DELETE,
    },
)


@hookimpl
def lumo_categories() -> list[Category]:
    return [LINE_ITEMS]
