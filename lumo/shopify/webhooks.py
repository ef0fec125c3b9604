"""Shopify webhook and app-proxy signatures, and shop-specific webhook subscriptions."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl

from lumo.shopify.client import ShopifyClient

logger = logging.getLogger(__name__)

LIST_QUERY = """
query($after: String) {
  webhookSubscriptions(first: 250, after: $after) {
    edges { node { id topic uri } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
CREATE_MUTATION = """
mutation($topic: WebhookSubscriptionTopic!, $sub: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $sub) {
    webhookSubscription { id topic uri }
    userErrors { field message }
  }
}
"""
DELETE_MUTATION = """
mutation($id: ID!) {
  webhookSubscriptionDelete(id: $id) { deletedWebhookSubscriptionId userErrors { field message } }
}
"""


def webhook_signature(raw_body: bytes, secret: str) -> str:
    """Base64 HMAC-SHA256 of the raw body, as in `X-Shopify-Hmac-Sha256`."""
    digest = hmac.new(secret.encode(), raw_body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify_webhook(raw_body: bytes, hmac_header: str | None, secret: str) -> bool:
    """True when the header signs exactly these bytes (never a re-serialised body)."""
    if not hmac_header:
        return False
    return hmac.compare_digest(webhook_signature(raw_body, secret), hmac_header.strip())


def app_proxy_message(query: str | Mapping[str, Sequence[str] | str]) -> str:
    """The string an app-proxy `signature` signs: sorted `key=value`, no separator."""
    grouped: dict[str, list[str]] = {}
    if isinstance(query, str):
        for key, value in parse_qsl(query.lstrip("?"), keep_blank_values=True):
            grouped.setdefault(key, []).append(value)
    else:
        for name, values in query.items():
            grouped.setdefault(name, []).extend([values] if isinstance(values, str) else values)
    grouped.pop("signature", None)
    return "".join(f"{key}={','.join(grouped[key])}" for key in sorted(grouped))


def verify_app_proxy(query: str | Mapping[str, Sequence[str] | str], secret: str) -> bool:
    """True when an app-proxy request's `signature` (hex HMAC-SHA256) is right."""
    if isinstance(query, str):
        received = [
            v for k, v in parse_qsl(query.lstrip("?"), keep_blank_values=True) if k == "signature"
        ]
    else:
        raw = query.get("signature")
        received = [raw] if isinstance(raw, str) else list(raw or [])
    if len(received) != 1:
        return False
    message = app_proxy_message(query).encode()
    expected = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, received[0])


def topic_enum(topic: str) -> str:
    """`orders/create` → `ORDERS_CREATE`; `customer.tags_added` → `CUSTOMER_TAGS_ADDED`."""
    return topic.replace("/", "_").replace(".", "_").upper()


def list_webhooks(client: ShopifyClient) -> list[dict[str, Any]]:
    """Every shop-specific subscription of this app."""
    return list(client.paginate(LIST_QUERY, {}, "webhookSubscriptions"))


def register_webhooks(
    client: ShopifyClient, topics: Iterable[str], callback_url: str
) -> list[dict[str, Any]]:
    """Subscribe `callback_url` to each topic not already subscribed there; return all of them."""
    existing = list_webhooks(client)
    have = {(sub["topic"], sub.get("uri")) for sub in existing}
    result = [sub for sub in existing if sub.get("uri") == callback_url]
    created = 0
    for topic in topics:
        enum = topic_enum(topic)
        if (enum, callback_url) in have:
            continue
        payload = client.mutate(
            CREATE_MUTATION,
            {"topic": enum, "sub": {"uri": callback_url, "format": "JSON"}},
            "webhookSubscriptionCreate",
        )
        result.append(payload["webhookSubscription"])
        have.add((enum, callback_url))
        created += 1
    logger.info("shop %s: %d webhook subscriptions created", client.shop_domain, created)
    return result


def remove_webhooks(client: ShopifyClient, callback_url: str | None = None) -> int:
    """Delete this app's subscriptions (only those to `callback_url` when given)."""
    removed = 0
    for sub in list_webhooks(client):
        if callback_url is not None and sub.get("uri") != callback_url:
            continue
        client.mutate(DELETE_MUTATION, {"id": sub["id"]}, "webhookSubscriptionDelete")
        removed += 1
    logger.info("shop %s: %d webhook subscriptions removed", client.shop_domain, removed)
    return removed
