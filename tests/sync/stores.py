"""Connected stores without the Shopify stand-in, and Shopify's own sample webhook payloads.

For webhook tests that need no Admin API call: a workspace with a connected store is two rows.
The payloads are the REST shapes from the Shopify reference (shared/reference/shopify.md,
4.1 and 4.2), as sent since API 2025-01 (no order summary on the customer).
"""

from __future__ import annotations

import copy
from typing import Any

from lumo.extensions import db
from lumo.models import ShopifyConnection
from lumo.workspaces import create_workspace

SECRET = "store-webhook-secret"

CUSTOMER: dict[str, Any] = {
    "id": 207119551,
    "email": "bob.norman@mail.example.com",
    "first_name": "Bob",
    "last_name": "Norman",
    "phone": "+16136120707",
    "state": "disabled",
    "verified_email": True,
    "note": None,
    "currency": "USD",
    "created_at": "2022-04-05T13:05:24-04:00",
    "updated_at": "2022-04-05T13:05:24-04:00",
    "tax_exempt": False,
    "tax_exemptions": [],
    "admin_graphql_api_id": "gid://shopify/Customer/207119551",
}

ORDER: dict[str, Any] = {
    "id": 450789469,
    "admin_graphql_api_id": "gid://shopify/Order/450789469",
    "name": "#1001",
    "order_number": 1001,
    "email": "bob.norman@mail.example.com",
    "phone": "+557734881234",
    "created_at": "2008-01-10T11:00:00-05:00",
    "processed_at": "2008-01-10T11:00:00-05:00",
    "updated_at": "2008-01-10T11:00:00-05:00",
    "cancelled_at": None,
    "cancel_reason": None,
    "currency": "USD",
    "presentment_currency": "USD",
    "total_price": "598.94",
    "total_price_set": {
        "shop_money": {"amount": "598.94", "currency_code": "USD"},
        "presentment_money": {"amount": "598.94", "currency_code": "USD"},
    },
    "current_total_price": "199.65",
    "financial_status": "partially_refunded",
    "fulfillment_status": None,
    "tags": "",
    "cart_token": "68778783ad298f1c80c3bafcddeea02f",
    "checkout_token": "bd5a8aa1ecd019dd3520ff791ee3a24c",
    "source_name": "web",
    "test": False,
    "customer": {"id": 207119551, "email": "bob.norman@mail.example.com", "first_name": "Bob"},
    "line_items": [
        {
            "id": 466157049,
            "admin_graphql_api_id": "gid://shopify/LineItem/466157049",
            "title": "IPod Nano - 8gb",
            "name": "IPod Nano - 8gb - green",
            "sku": "IPOD2008GREEN",
            "quantity": 1,
            "price": "199.00",
            "variant_id": 39072856,
            "variant_title": "green",
            "product_id": 632910392,
            "vendor": None,
            "fulfillment_status": None,
        }
    ],
}


def connect_store(shop_domain: str) -> int:
    """A workspace whose store `shop_domain` is connected; returns the workspace id."""
    workspace = create_workspace(shop_domain.split(".")[0])
    db.session.add(
        ShopifyConnection(
            workspace_id=workspace.id,
            shop_domain=shop_domain,
            access_token="shpat_test_token",
            state="connected",
            shop_currency="USD",
        )
    )
    db.session.commit()
    return workspace.id


def order(**changes: Any) -> dict[str, Any]:
    """The sample order with some fields changed (a deep copy)."""
    payload = copy.deepcopy(ORDER)
    payload.update(changes)
    return payload
