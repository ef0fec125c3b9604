"""A third-party Lumo category: Shopify gift cards, with their balance and expiry.

This is the worked example of docs/plugins.md. It lives outside Lumo and is found through the
`lumo.plugins` entry point declared in this folder's pyproject.toml.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from lumo import hookimpl
from lumo.categories import Category, Property, PropertyType
from lumo.mapping import MapContext, RecordShape, Row

GIFT_CARDS = Category(
    key="gift_cards",
    label="Gift cards",
    table="gift_cards",
    order=60,
    description="Gift cards issued by the store, with what is left on them.",
    properties=(
        Property("id", "Gift card ID", "id", "shopify_id", PropertyType.NUMBER, required=True),
        Property(
            "customer", "Customer", "customer.id", "customer_shopify_id", PropertyType.NUMBER
        ),
        Property("balance", "Balance", "balance.amount", "balance", PropertyType.MONEY),
        Property("expires_on", "Expires on", "expiresOn", "expires_on", PropertyType.DATETIME),
    ),
)


@hookimpl
def lumo_categories() -> list[Category]:
    return [GIFT_CARDS]


@hookimpl
def lumo_bulk_query(category: Category, enabled: frozenset[str]) -> str | None:
    if category.key != GIFT_CARDS.key:
        return None
    return (
        "{ giftCards { edges { node { id customer { id } balance { amount currencyCode } "
        "expiresOn } } } }"
    )


@hookimpl
def lumo_map_record(
    category: Category, record: Mapping[str, Any], shape: RecordShape, context: MapContext
) -> list[Row] | None:
    if category.key != GIFT_CARDS.key:
        return None
    values: dict[str, Any] = {
        "workspace_id": context.workspace_id,
        "shopify_id": int(str(record["id"]).rsplit("/", 1)[-1]),
    }
    if "balance" in context.enabled and record.get("balance"):
        values["balance"] = Decimal(record["balance"]["amount"])
    customer = record.get("customer")
    if customer:
        values["customer_shopify_id"] = int(str(customer["id"]).rsplit("/", 1)[-1])
    return [Row(table=GIFT_CARDS.table, values=values)]
