"""Declares the customers category and the properties it can sync."""

from __future__ import annotations

from lumo import hookimpl
from lumo.categories import Category, Direction, Property, PropertyType, WebhookAction

CUSTOMERS = Category(
    key="customers",
    label="Customers",
    table="shopify_customers",
    order=10,
    description="Shopify customers with their Shopify customer tags and purchase summary.",
    properties=(
        Property("id", "Customer ID", "id", "shopify_id", PropertyType.NUMBER, required=True),
        Property("first_name", "First name", "firstName", "first_name"),
        Property("last_name", "Last name", "lastName", "last_name"),
        Property("display_name", "Display name", "displayName", "display_name"),
        Property(
            "tags", "Shopify customer tags", "tags", "shopify_customer_tags", PropertyType.TAGS
        ),
        Property(
            "number_of_orders",
            "Number of orders",
            "numberOfOrders",
            "number_of_orders",
            PropertyType.NUMBER,
        ),
        Property(
            "amount_spent", "Total spent", "amountSpent.amount", "amount_spent", PropertyType.MONEY
        ),
        Property(
            "last_order_date",
            "Last order date",
            "lastOrder.processedAt",
            "last_order_at",
            PropertyType.DATETIME,
        ),
        Property("state", "Customer state", "state", "state"),
        Property(
            "created_at",
            "Customer since",
            "createdAt",
            "shopify_created_at",
            PropertyType.DATETIME,
        ),
        Property(
            "email",
            "Email address",
            "defaultEmailAddress.emailAddress",
            "email",
            personal=True,
            default_enabled=False,
            description="Personal information: off until the merchant turns it on.",
        ),
        Property(
            "phone",
            "Phone number",
            "defaultPhoneNumber.phoneNumber",
            "phone",
            personal=True,
            default_enabled=False,
            description="Personal information: off until the merchant turns it on.",
        ),
        Property(
            "line_follow_status",
            "LINE follow status",
            "metafields.$app:line.follow_status",
            "line_friends.follow_status",
            required=True,
            direction=Direction.TO_SHOPIFY,
            description="Written to linked customers: following or blocked.",
        ),
        Property(
            "line_friend_added_date",
            "LINE friend added date",
            "metafields.$app:line.friend_added_date",
            "line_friends.friend_added_at",
            PropertyType.DATETIME,
            required=True,
            direction=Direction.TO_SHOPIFY,
            description="Written to linked customers: the day they first followed.",
        ),
        Property("note", "Note", "note", "extra.note", offered=True, default_enabled=False),
        Property(
            "locale", "Language", "locale", "extra.locale", offered=True, default_enabled=False
        ),
        Property(
            "verified_email",
            "Email verified",
            "verifiedEmail",
            "extra.verified_email",
            PropertyType.BOOLEAN,
            offered=True,
            default_enabled=False,
        ),
        Property(
            "tax_exempt",
            "Tax exempt",
            "taxExempt",
            "extra.tax_exempt",
            PropertyType.BOOLEAN,
            offered=True,
            default_enabled=False,
        ),
    ),
    webhook_topics={
        "customers/create": WebhookAction.UPSERT,
        "customers/update": WebhookAction.UPSERT,
        "customers/enable": WebhookAction.UPSERT,
        "customers/disable": WebhookAction.UPSERT,
        "customer.tags_added": WebhookAction.UPSERT,
        "customer.tags_removed": WebhookAction.UPSERT,
        "customers/delete": WebhookAction.DELETE,
    },
)


@hookimpl
def lumo_categories() -> list[Category]:
    return [CUSTOMERS]
