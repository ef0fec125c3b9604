"""The local Shopify stand-in: Admin GraphQL, OAuth, bulk JSONL and webhook delivery.

Serves every shop at `{url}/{shop_domain}/admin/...`, so Lumo only needs
`SHOPIFY_SHOP_URL_TEMPLATE = url + "/{shop}"`. It speaks the real wire formats (paths,
headers, HMACs, cost throttling, bulk JSONL with `__parentId`) and has fault switches for the
failure modes the client must survive. Bulk JSONL lines carry exactly the selected fields.
An admin API under `/_sandbox/` lets the CLI and demo change shop data, which delivers
correctly signed webhooks to the subscribed callback URLs (loopback addresses only).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from lumo.sandbox import shopify_graphql as gql
from lumo.sandbox.serving import RunningServer, serve_wsgi
from lumo.sandbox.shopify_store import (
    TYPENAMES,
    ShopData,
    ShopStore,
    format_money,
    gid,
    gid_number,
    search_predicate,
)
from lumo.sandbox.store_generator import GeneratedShop, StoreGenerator, StoreSpec

logger = logging.getLogger(__name__)

SUPPORTED_VERSIONS = (
    "2025-01",
    "2025-04",
    "2025-07",
    "2025-10",
    "2026-01",
    "2026-04",
    "2026-07",
    "2026-10",
)
BULK_ROOTS = {
    "customers": "customers",
    "orders": "orders",
    "products": "products",
    "abandonedCheckouts": "checkouts",
}
CHILD_CONNECTIONS = {"lineItems", "variants", "metafields"}
TOPICS = (
    "customers/create",
    "customers/update",
    "customers/delete",
    "customers/enable",
    "customers/disable",
    "customer.tags_added",
    "customer.tags_removed",
    "customers/purchasing_summary",
    "customers/merge",
    "orders/create",
    "orders/updated",
    "orders/paid",
    "orders/cancelled",
    "orders/fulfilled",
    "orders/partially_fulfilled",
    "orders/edited",
    "orders/delete",
    "checkouts/create",
    "checkouts/update",
    "checkouts/delete",
    "carts/create",
    "carts/update",
    "products/create",
    "products/update",
    "products/delete",
    "inventory_levels/update",
    "app/uninstalled",
    "bulk_operations/finish",
)
TOPIC_BY_ENUM = {t.replace("/", "_").replace(".", "_").upper(): t for t in TOPICS}
CUSTOMER_FIELDS_REMOVED_2025_01 = (
    "tags",
    "email_marketing_consent",
    "sms_marketing_consent",
    "last_order_id",
    "last_order_name",
    "total_spent",
    "orders_count",
)
INVALID_TOKEN = {
    "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
}


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Faults:
    """Switches for failure modes; counters (`http_429`, `http_5xx`) count down per request."""

    http_429: int = 0
    retry_after: str = "1.0"
    http_5xx: int = 0
    status_5xx: int = 503
    slow_seconds: float = 0.0
    revoked: bool = False
    bulk_fail: str | None = None
    bulk_expire: bool = False
    truncate_bulk: bool = False
    bulk_order: str = "parents_first"  # or children_first, delayed
    webhook_duplicate: bool = False
    webhook_hold: bool = False
    webhook_bad_signature: bool = False
    narrow_scopes: tuple[str, ...] = ()


class ThrottleBucket:
    """Shopify's leaky bucket of query cost points."""

    def __init__(self, maximum: float, restore_rate: float, clock: Callable[[], float]):
        self.maximum = maximum
        self.restore_rate = restore_rate
        self.clock = clock
        self.available = maximum
        self.updated = clock()
        self.lock = threading.Lock()

    def _refill(self) -> None:
        now = self.clock()
        self.available = min(
            self.maximum, self.available + (now - self.updated) * self.restore_rate
        )
        self.updated = now

    def try_spend(self, cost: float) -> bool:
        with self.lock:
            self._refill()
            if self.available + 1e-9 < cost:
                return False
            self.available -= cost
            return True

    def refund(self, points: float) -> None:
        with self.lock:
            self.available = min(self.maximum, self.available + max(0.0, points))

    def status(self) -> dict[str, Any]:
        with self.lock:
            self._refill()
            return {
                "maximumAvailable": float(self.maximum),
                "currentlyAvailable": int(self.available),
                "restoreRate": float(self.restore_rate),
            }


@dataclass
class BulkOp:
    id: str
    kind: str
    root: gql.Field
    query_text: str
    created_at: str
    status: str = "CREATED"
    error_code: str | None = None
    completed_at: str | None = None
    object_count: int = 0
    root_object_count: int = 0
    file_size: int | None = None
    snapshot: list[bytes] | None = None

    def node(self, base_url: str, shop: str) -> dict[str, Any]:
        done = self.status == "COMPLETED"
        has_data = done and self.object_count > 0
        number = gid_number(self.id)
        return {
            "__typename": "BulkOperation",
            "id": self.id,
            "status": self.status,
            "errorCode": self.error_code,
            "createdAt": self.created_at,
            "completedAt": self.completed_at,
            "objectCount": str(self.object_count),
            "rootObjectCount": str(self.root_object_count),
            "fileSize": None if self.file_size is None else str(self.file_size),
            "url": f"{base_url}/_sandbox/bulk/{shop}/{number}.jsonl" if has_data else None,
            "partialDataUrl": None,
            "query": self.query_text,
            "type": "QUERY",
        }


@dataclass
class Delivery:
    """One webhook POST the stand-in made (or held)."""

    topic: str
    url: str
    webhook_id: str
    event_id: str
    body: bytes
    headers: dict[str, str]
    status: int | None = None
    error: str | None = None


class SandboxShop:
    """One shop in the stand-in: its data, tokens, throttle bucket, bulk jobs and webhooks."""

    def __init__(self, sandbox: ShopifySandbox, data: ShopData) -> None:
        self.sandbox = sandbox
        self.data = data
        self.domain = data.domain
        self.faults = Faults()
        self.bucket = ThrottleBucket(sandbox.bucket_size, sandbox.restore_rate, sandbox.clock)
        self.tokens: dict[str, frozenset[str]] = {}
        self.bulk_ops: dict[str, BulkOp] = {}
        self.current_bulk: str | None = None
        self.deliveries: list[Delivery] = []
        self.held: list[Delivery] = []
        self.lock = threading.RLock()
        self._ids = 9_300_000_000_000

    # admin helpers ---------------------------------------------------------------------------

    def issue_token(
        self, scopes: str = "read_customers,write_customers,read_orders,read_products"
    ) -> str:
        """Create an access token for this shop (what OAuth would hand out)."""
        token = "shpat_" + secrets.token_hex(16)
        self.tokens[token] = frozenset(s for s in scopes.split(",") if s)
        return token

    def revoke_tokens(self) -> int:
        count = len(self.tokens)
        self.tokens.clear()
        return count

    def set_faults(self, **changes: Any) -> dict[str, Any]:
        """Change fault switches by name (unknown names are an error)."""
        known = {f.name for f in fields(Faults)}
        for name, value in changes.items():
            if name not in known:
                raise ValueError(f"unknown fault {name!r}; known: {sorted(known)}")
            setattr(self.faults, name, tuple(value) if name == "narrow_scopes" else value)
        return asdict(self.faults)

    def set_throttle(self, maximum: float, restore_rate: float) -> None:
        """Resize the cost bucket (a tiny one is the strict mode)."""
        self.bucket = ThrottleBucket(maximum, restore_rate, self.sandbox.clock)

    def subscribe(self, topic: str, uri: str) -> dict[str, Any]:
        """Add a webhook subscription directly (as `webhookSubscriptionCreate` does)."""
        enum = topic.replace("/", "_").replace(".", "_").upper()
        sub = {
            "id": gid("WebhookSubscription", self._next_id()),
            "topic": enum,
            "uri": uri,
            "format": "JSON",
            "apiVersion": self.sandbox.api_version,
            "createdAt": _iso(_utc_now()),
        }
        self.data.subscriptions.append(sub)
        return sub

    def _next_id(self) -> int:
        with self.lock:
            self._ids += 1
            return self._ids

    @property
    def store(self) -> ShopStore:
        if not isinstance(self.data, ShopStore):
            raise TypeError(
                f"shop {self.domain} is generated and read-only; materialise it to change data"
            )
        return self.data

    # storefront / admin actions that fire webhooks --------------------------------------------

    def _now_local(self) -> str:
        return self.store.now_local()

    def create_customer(self, **fields_: Any) -> dict[str, Any]:
        now = self._now_local()
        record: dict[str, Any] = {
            "id": self._next_id(),
            "first_name": None,
            "last_name": None,
            "email": None,
            "phone": None,
            "tags": [],
            "state": "disabled",
            "currency": self.data.currency,
            "created_at": now,
            "updated_at": now,
            "country_code": None,
        }
        record.update(fields_)
        self.store.put("customers", record)
        self.deliver("customers/create", self._customer_payload(record))
        return record

    def update_customer(self, customer_id: int, **changes: Any) -> dict[str, Any]:
        record = self._require("customers", customer_id)
        tags_before = list(record.get("tags") or [])
        record.update(changes)
        record["updated_at"] = self._now_local()
        self.deliver("customers/update", self._customer_payload(record))
        if "tags" in changes:
            self._tag_events(record, tags_before)
        return record

    def update_customer_tags(
        self, customer_id: int, add: list[str] | None = None, remove: list[str] | None = None
    ) -> dict[str, Any]:
        record = self._require("customers", customer_id)
        tags = [t for t in record.get("tags") or [] if t not in set(remove or [])]
        tags += [t for t in add or [] if t not in tags]
        return self.update_customer(customer_id, tags=tags)

    def _tag_events(self, record: dict[str, Any], before: list[str]) -> None:
        after = list(record.get("tags") or [])
        added = [t for t in after if t not in before]
        removed = [t for t in before if t not in after]
        stamp = _iso(_utc_now())
        owner = gid("Customer", record["id"])
        if added:
            self.deliver(
                "customer.tags_added", {"customerId": owner, "tags": added, "occurredAt": stamp}
            )
        if removed:
            self.deliver(
                "customer.tags_removed",
                {"customerId": owner, "tags": removed, "occurredAt": stamp},
            )

    def delete_customer(self, customer_id: int) -> None:
        self._require("customers", customer_id)
        self.store.delete("customers", customer_id)
        self.deliver(
            "customers/delete",
            {
                "id": customer_id,
                "phone": None,
                "addresses": [],
                "tax_exemptions": [],
                "email_marketing_consent": None,
                "sms_marketing_consent": None,
                "admin_graphql_api_id": gid("Customer", customer_id),
            },
        )

    def _line_items(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Line items from `{variant_id, quantity}` using the shop's products."""
        variants = {}
        for _, product in self.data.iter_records("products"):
            for variant in product.get("variants") or []:
                variants[int(variant["id"])] = (product, variant)
        lines = []
        for item in items:
            product, variant = variants[int(item["variant_id"])]
            lines.append(
                {
                    "id": self._next_id(),
                    "product_id": product["id"],
                    "variant_id": variant["id"],
                    "title": product["title"],
                    "variant_title": variant.get("title"),
                    "sku": variant.get("sku"),
                    "vendor": product.get("vendor"),
                    "quantity": int(item.get("quantity", 1)),
                    "price": variant["price"],
                }
            )
        return lines

    def _total(self, lines: list[dict[str, Any]]) -> str:
        total = sum((Decimal(x["price"]) * x["quantity"] for x in lines), Decimal(0))
        return format_money(total, self.data.currency)

    def create_order(
        self,
        customer_id: int | None,
        items: list[dict[str, Any]],
        *,
        financial_status: str = "paid",
        checkout_token: str | None = None,
        cart_token: str | None = None,
    ) -> dict[str, Any]:
        """An order as if bought in the store: `orders/create` (and `orders/paid`)."""
        now = self._now_local()
        lines = self._line_items(items) if items and "title" not in items[0] else items
        number = self._next_id()
        count = self.data.count_records("orders")
        record = {
            "id": number,
            "name": f"#{1001 + count}",
            "customer_id": customer_id,
            "currency": self.data.currency,
            "processed_at": now,
            "created_at": now,
            "updated_at": now,
            "cancelled_at": None,
            "financial_status": financial_status,
            "fulfillment_status": None,
            "total_price": self._total(lines),
            "line_items": lines,
            "checkout_token": checkout_token,
            "cart_token": cart_token,
        }
        self.store.put("orders", record)
        payload = self._order_payload(record)
        self.deliver("orders/create", payload)
        if financial_status == "paid":
            self.deliver("orders/paid", payload)
        return record

    def cancel_order(self, order_id: int) -> dict[str, Any]:
        record = self._require("orders", order_id)
        record.update(
            cancelled_at=self._now_local(),
            updated_at=self._now_local(),
            financial_status="voided",
            cancel_reason="customer",
        )
        payload = self._order_payload(record)
        self.deliver("orders/cancelled", payload)
        self.deliver("orders/updated", payload)
        return record

    def create_cart(self, items: list[dict[str, Any]], note: str | None = None) -> dict:
        """Carts exist only as webhooks (`carts/create`), as on Shopify."""
        token = secrets.token_hex(16)
        now = self._now_local()
        lines = self._line_items(items)
        for line in lines:
            line["key"] = f"{line['variant_id']}:{token[:8]}"
            line["line_price"] = format_money(
                Decimal(line["price"]) * line["quantity"], self.data.currency
            )
        cart = {
            "id": token,
            "token": token,
            "note": note,
            "line_items": lines,
            "created_at": now,
            "updated_at": now,
        }
        self.store.carts[token] = cart
        self.deliver("carts/create", cart)
        return cart

    def update_cart(
        self, token: str, items: list[dict[str, Any]] | None = None, note: str | None = None
    ) -> dict[str, Any]:
        cart = self.store.carts[token]
        if items is not None:
            cart["line_items"] = self._line_items(items)
        if note is not None:
            cart["note"] = note
        cart["updated_at"] = self._now_local()
        self.deliver("carts/update", cart)
        return cart

    def start_checkout(
        self,
        customer_id: int | None,
        items: list[dict[str, Any]] | None = None,
        *,
        cart_token: str | None = None,
        email: str | None = None,
    ) -> dict:
        """A checkout begun from a cart (or items): `checkouts/create`."""
        if cart_token and items is None:
            lines = [dict(x) for x in self.store.carts[cart_token]["line_items"]]
        else:
            lines = self._line_items(items or [])
        customer = self.data.get_record("customers", customer_id) if customer_id else None
        token = secrets.token_hex(16)
        now = self._now_local()
        record = {
            "id": self._next_id(),
            "token": token,
            "cart_token": cart_token,
            "customer_id": customer_id,
            "currency": self.data.currency,
            "total_price": self._total(lines),
            "created_at": now,
            "updated_at": now,
            "completed_at": None,
            "abandoned_checkout_url": (
                f"https://{self.domain}/checkouts/{token}/recover?key={token[:12]}"
            ),
            "email": email or (customer or {}).get("email"),
            "phone": (customer or {}).get("phone"),
            "line_items": lines,
        }
        self.store.put("checkouts", record)
        self.deliver("checkouts/create", self._checkout_payload(record))
        return record

    def _checkout(self, token: str) -> dict[str, Any]:
        for _, record in self.data.iter_records("checkouts"):
            if record.get("token") == token:
                return record
        raise KeyError(f"no checkout with token {token}")

    def abandon_checkout(self, token: str) -> dict[str, Any]:
        """The buyer walks away: the checkout stays incomplete (`checkouts/update`)."""
        record = self._checkout(token)
        record["updated_at"] = self._now_local()
        self.deliver("checkouts/update", self._checkout_payload(record))
        return record

    def complete_checkout(self, token: str) -> dict[str, Any]:
        """The buyer pays: the checkout completes into an order with the same token."""
        record = self._checkout(token)
        order = self.create_order(
            record.get("customer_id"),
            record["line_items"],
            checkout_token=token,
            cart_token=record.get("cart_token"),
        )
        record["completed_at"] = order["processed_at"]
        record["updated_at"] = order["processed_at"]
        self.deliver("checkouts/update", self._checkout_payload(record))
        return order

    def _require(self, kind: str, number: int) -> dict[str, Any]:
        record = self.data.get_record(kind, int(number))
        if record is None:
            raise KeyError(f"shop {self.domain} has no {kind[:-1]} {number}")
        return record

    # REST-shaped payloads ---------------------------------------------------------------------

    def _customer_payload(self, record: dict[str, Any], version: str | None = None) -> dict:
        payload = dict(record)
        payload["admin_graphql_api_id"] = gid("Customer", record["id"])
        payload["tags"] = ", ".join(record.get("tags") or [])
        stats = self.data.customer_stats(record["id"])
        payload.update(
            orders_count=stats.orders_count,
            total_spent=stats.amount_spent,
            last_order_id=stats.last_order["id"] if stats.last_order else None,
            last_order_name=stats.last_order["name"] if stats.last_order else None,
            verified_email=bool(record.get("email")),
            tax_exempt=False,
            tax_exemptions=[],
            note=record.get("note"),
        )
        payload.pop("country_code", None)
        if (version or self.sandbox.api_version) >= "2025-01":
            for name in CUSTOMER_FIELDS_REMOVED_2025_01:
                payload.pop(name, None)
        return payload

    def _embedded_customer(self, customer_id: int | None) -> dict[str, Any] | None:
        record = self.data.get_record("customers", customer_id) if customer_id else None
        return self._customer_payload(record) if record else None

    def _lines_payload(self, lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            dict(x, admin_graphql_api_id=gid("LineItem", x["id"]), name=x.get("title"))
            for x in lines
        ]

    def _order_payload(self, record: dict[str, Any]) -> dict[str, Any]:
        currency = record.get("currency") or self.data.currency
        money_set = {
            "shop_money": {"amount": record["total_price"], "currency_code": currency},
            "presentment_money": {"amount": record["total_price"], "currency_code": currency},
        }
        payload = dict(record)
        payload.pop("customer_id", None)
        name = str(record.get("name") or "#0")
        payload.update(
            admin_graphql_api_id=gid("Order", record["id"]),
            order_number=int(name.lstrip("#") or 0),
            presentment_currency=currency,
            total_price_set=money_set,
            tags="",
            source_name="web",
            test=False,
            customer=self._embedded_customer(record.get("customer_id")),
            line_items=self._lines_payload(record.get("line_items") or []),
        )
        return payload

    def _checkout_payload(self, record: dict[str, Any]) -> dict[str, Any]:
        payload = dict(record)
        payload.pop("customer_id", None)
        payload.update(
            presentment_currency=record.get("currency"),
            name=f"#{record['id']}",
            customer=self._embedded_customer(record.get("customer_id")),
            line_items=self._lines_payload(record.get("line_items") or []),
        )
        return payload

    # webhook delivery ---------------------------------------------------------------------------

    def deliver(self, topic: str, payload: dict[str, Any]) -> list[Delivery]:
        """Send `payload` to every subscription of `topic` (synchronously unless configured)."""
        enum = topic.replace("/", "_").replace(".", "_").upper()
        subs = [s for s in self.data.subscriptions if s["topic"] == enum]
        if not subs:
            return []
        event_id = str(uuid.uuid4())
        triggered = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        body = shopify_json(payload)
        made = []
        for sub in subs:
            secret = self.sandbox.api_secret
            if self.faults.webhook_bad_signature:
                secret = "not-" + secret
            signature = base64.b64encode(
                hmac.new(secret.encode(), body, hashlib.sha256).digest()
            ).decode()
            headers = {
                "Content-Type": "application/json",
                "X-Shopify-Topic": topic,
                "X-Shopify-Hmac-Sha256": signature,
                "X-Shopify-Shop-Domain": self.domain,
                "X-Shopify-API-Version": sub.get("apiVersion") or self.sandbox.api_version,
                "X-Shopify-Webhook-Id": str(uuid.uuid4()),
                "X-Shopify-Event-Id": event_id,
                "X-Shopify-Triggered-At": triggered,
            }
            delivery = Delivery(
                topic, sub["uri"], headers["X-Shopify-Webhook-Id"], event_id, body, headers
            )
            made.append(delivery)
            if self.faults.webhook_hold:
                self.held.append(delivery)
                continue
            copies = 2 if self.faults.webhook_duplicate else 1
            for _ in range(copies):
                self.sandbox.send(self, delivery)
        return made

    def release_webhooks(self, order: str = "reverse") -> int:
        """Send held deliveries, newest first by default (out of order on purpose)."""
        held, self.held = self.held, []
        if order == "reverse":
            held.reverse()
        for delivery in held:
            self.sandbox.send(self, delivery)
        return len(held)


def shopify_json(payload: Any) -> bytes:
    """Serialise like Shopify: UTF-8 as is, `/` as `\\/`, `&` as `\\u0026`."""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return text.replace("/", "\\/").replace("&", "\\u0026").encode()


def _is_loopback_url(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def sign_query(params: dict[str, str], secret: str) -> str:
    """Shopify's hex HMAC over sorted `key=value&…` (the stand-in's own implementation)."""
    pairs = []
    for key in sorted(k for k in params if k not in ("hmac", "signature")):
        value = params[key].replace("%", "%25").replace("&", "%26")
        pairs.append(f"{key.replace('%', '%25').replace('&', '%26').replace('=', '%3D')}={value}")
    message = "&".join(pairs).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


class ShopifySandbox:
    """The stand-in: a WSGI app holding shops; `start()` serves it on loopback."""

    def __init__(
        self,
        *,
        api_key: str = "lumo-dev-app",
        api_secret: str = "lumo-dev-secret",
        api_version: str = "2026-10",
        bucket_size: float = 2000.0,
        restore_rate: float = 100.0,
        clock: Callable[[], float] = time.monotonic,
        background_webhooks: bool = False,
        webhook_transport: Callable[[Delivery], int] | None = None,
    ) -> None:
        self.api_key = api_key
        self.api_secret = api_secret
        self.api_version = api_version
        self.bucket_size = bucket_size
        self.restore_rate = restore_rate
        self.clock = clock
        self.shops: dict[str, SandboxShop] = {}
        self.codes: dict[str, tuple[str, str]] = {}
        self.url = ""
        self._server: RunningServer | None = None
        self._executor = ThreadPoolExecutor(1, "shopify-webhooks") if background_webhooks else None
        self._http = httpx.Client(timeout=httpx.Timeout(5.0, connect=1.0))
        self.webhook_transport = webhook_transport
        self._bulk_ids = 4_470_000_000_000
        self.lock = threading.RLock()
        self.routes = Map(
            [
                Rule("/<shop>/admin/oauth/authorize", endpoint="authorize", methods=["GET"]),
                Rule(
                    "/<shop>/admin/oauth/access_token", endpoint="access_token", methods=["POST"]
                ),
                Rule(
                    "/<shop>/admin/api/<version>/graphql.json",
                    endpoint="graphql",
                    methods=["POST"],
                ),
                Rule(
                    "/_sandbox/bulk/<shop>/<int:op>.jsonl", endpoint="bulk_file", methods=["GET"]
                ),
                Rule("/_sandbox/shops", endpoint="shops", methods=["GET", "POST"]),
                Rule(
                    "/_sandbox/shops/<shop>/actions/<action>", endpoint="action", methods=["POST"]
                ),
                Rule("/_sandbox/shops/<shop>/deliveries", endpoint="deliveries", methods=["GET"]),
            ]
        )

    # shops --------------------------------------------------------------------------------------

    def add_shop(
        self,
        domain: str,
        *,
        currency: str = "JPY",
        timezone: str | None = None,
        data: ShopData | None = None,
    ) -> SandboxShop:
        """Add an empty in-memory shop (or wrap the given data)."""
        zone = timezone or ("Asia/Tokyo" if currency == "JPY" else "America/New_York")
        shop = SandboxShop(self, data or ShopStore(domain, currency=currency, timezone=zone))
        shop.data.app_client_id = self.api_key
        self.shops[domain] = shop
        return shop

    def add_generated_shop(
        self,
        domain: str,
        *,
        customers: int,
        seed: int = 1,
        currency: str = "JPY",
        materialize: bool | None = None,
    ) -> SandboxShop:
        """A generated shop: materialised in memory when small, served lazily when big."""
        spec = StoreSpec(seed=seed, customers=customers, currency=currency)
        generated = GeneratedShop(domain, spec)
        small = customers <= 5000 if materialize is None else materialize
        return self.add_shop(
            domain, currency=currency, data=generated.materialize() if small else generated
        )

    def shop(self, domain: str) -> SandboxShop:
        try:
            return self.shops[domain]
        except KeyError:
            raise KeyError(f"the stand-in has no shop {domain}") from None

    def cart_generator(self, domain: str) -> StoreGenerator | None:
        data = self.shop(domain).data
        return data.generator if isinstance(data, GeneratedShop) else None

    # serving ------------------------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0) -> ShopifySandbox:
        self._server = serve_wsgi(self, host, port, name="shopify-sandbox")
        self.url = self._server.url
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        self._http.close()

    @property
    def shop_url_template(self) -> str:
        return self.url + "/{shop}"

    def send(self, shop: SandboxShop, delivery: Delivery) -> None:
        if self._executor is not None:
            self._executor.submit(self._post, shop, delivery)
        else:
            self._post(shop, delivery)

    def drain(self) -> None:
        """Wait until background deliveries queued so far have been sent."""
        if self._executor is not None:
            self._executor.submit(lambda: None).result(timeout=30)

    def _post(self, shop: SandboxShop, delivery: Delivery) -> None:
        record = Delivery(**{f.name: getattr(delivery, f.name) for f in fields(Delivery)})
        try:
            if self.webhook_transport is not None:
                record.status = self.webhook_transport(record)
            elif not _is_loopback_url(record.url):
                record.error = "refused: the stand-in only delivers to loopback addresses"
            else:
                response = self._http.post(record.url, content=record.body, headers=record.headers)
                record.status = response.status_code
        except httpx.HTTPError as error:
            record.error = type(error).__name__
        shop.deliveries.append(record)
        logger.info(
            "webhook %s %s → %s", record.webhook_id, record.topic, record.status or record.error
        )

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        try:
            endpoint, values = self.routes.bind_to_environ(environ).match()
            response = getattr(self, f"_on_{endpoint}")(request, **values)
        except HTTPException as error:
            response = error.get_response()
        except (KeyError, ValueError, TypeError) as error:
            response = _json({"errors": str(error)}, 400)
        return response(environ, start_response)

    def _shop_or_404(self, domain: str) -> SandboxShop:
        if domain not in self.shops:
            raise NotFound()
        return self.shops[domain]

    # OAuth --------------------------------------------------------------------------------------

    def _on_authorize(self, request: Request, shop: str) -> Response:
        self._shop_or_404(shop)
        args = request.args
        if args.get("client_id") != self.api_key:
            return Response("Oauth error invalid_request: The client_id is invalid", 400)
        redirect_uri = args.get("redirect_uri") or ""
        if not redirect_uri.startswith(("http://", "https://")):
            return Response("Oauth error invalid_request: redirect_uri is missing", 400)
        code = secrets.token_hex(16)
        self.codes[code] = (shop, args.get("scope", ""))
        handle = shop.split(".")[0]
        params = {
            "code": code,
            "shop": shop,
            "state": args.get("state", ""),
            "timestamp": str(int(time.time())),
            "host": base64.b64encode(f"admin.shopify.com/store/{handle}".encode())
            .decode()
            .rstrip("="),
        }
        params["hmac"] = sign_query(params, self.api_secret)
        separator = "&" if "?" in redirect_uri else "?"
        return Response(
            status=302, headers={"Location": redirect_uri + separator + urlencode(params)}
        )

    def _on_access_token(self, request: Request, shop: str) -> Response:
        sandbox_shop = self._shop_or_404(shop)
        if request.is_json:
            body = request.get_json(silent=True) or {}
        else:
            body = dict(parse_qsl(request.get_data(as_text=True)))
        if body.get("client_id") != self.api_key or body.get("client_secret") != self.api_secret:
            return _json(
                {"error": "invalid_client", "error_description": "Client credentials are invalid"},
                400,
            )
        grant = self.codes.pop(str(body.get("code")), None)
        if grant is None or grant[0] != shop:
            return _json(
                {
                    "error": "invalid_request",
                    "error_description": "The authorization code was not found or was "
                    "already used",
                },
                400,
            )
        scopes = [
            s for s in grant[1].split(",") if s and s not in sandbox_shop.faults.narrow_scopes
        ]
        token = sandbox_shop.issue_token(",".join(scopes))
        answer: dict[str, Any] = {"access_token": token, "scope": ",".join(scopes)}
        if str(body.get("expiring")) == "1":
            answer.update(
                expires_in=3600,
                refresh_token="shprt_" + secrets.token_hex(16),
                refresh_token_expires_in=2592000,
            )
        return _json(answer)

    # sandbox admin API ------------------------------------------------------------------------

    ACTIONS = (
        "create_customer",
        "update_customer",
        "update_customer_tags",
        "delete_customer",
        "create_order",
        "cancel_order",
        "create_cart",
        "update_cart",
        "start_checkout",
        "abandon_checkout",
        "complete_checkout",
        "set_faults",
        "set_throttle",
        "release_webhooks",
        "issue_token",
        "revoke_tokens",
        "subscribe",
    )

    def _on_shops(self, request: Request) -> Response:
        if request.method == "POST":
            body = request.get_json(force=True) or {}
            if body.get("customers"):
                shop = self.add_generated_shop(
                    body["domain"],
                    customers=int(body["customers"]),
                    seed=int(body.get("seed", 1)),
                    currency=body.get("currency", "JPY"),
                )
            else:
                shop = self.add_shop(body["domain"], currency=body.get("currency", "JPY"))
            return _json({"domain": shop.domain, "token": shop.issue_token()}, 201)
        return _json(
            {
                "shops": [
                    {
                        "domain": d,
                        "currency": s.data.currency,
                        "customers": s.data.count_records("customers"),
                    }
                    for d, s in self.shops.items()
                ]
            }
        )

    def _on_action(self, request: Request, shop: str, action: str) -> Response:
        sandbox_shop = self._shop_or_404(shop)
        if action not in self.ACTIONS:
            raise NotFound()
        body = request.get_json(silent=True) or {}
        result = getattr(sandbox_shop, action)(**body)
        return _json({"result": result})

    def _on_deliveries(self, request: Request, shop: str) -> Response:
        sandbox_shop = self._shop_or_404(shop)
        return _json(
            {
                "deliveries": [
                    {
                        "topic": d.topic,
                        "url": d.url,
                        "webhook_id": d.webhook_id,
                        "status": d.status,
                        "error": d.error,
                    }
                    for d in sandbox_shop.deliveries
                ]
            }
        )

    # bulk files -------------------------------------------------------------------------------

    def _on_bulk_file(self, request: Request, shop: str, op: int) -> Response:
        sandbox_shop = self._shop_or_404(shop)
        operation = sandbox_shop.bulk_ops.get(gid("BulkOperation", op))
        if operation is None or operation.status != "COMPLETED":
            raise NotFound()
        lines: Iterator[bytes] = (
            iter(operation.snapshot)
            if operation.snapshot is not None
            else bulk_lines(sandbox_shop, operation)
        )
        if sandbox_shop.faults.truncate_bulk:
            keep = operation.object_count // 2
            lines = (line for n, line in enumerate(lines) if n < keep)
        return Response(_chunked(lines), mimetype="application/jsonl", direct_passthrough=True)

    # GraphQL ----------------------------------------------------------------------------------

    def _on_graphql(self, request: Request, shop: str, version: str) -> Response:
        sandbox_shop = self._shop_or_404(shop)
        faults = sandbox_shop.faults
        served = (
            version
            if version in SUPPORTED_VERSIONS or version == "unstable"
            else SUPPORTED_VERSIONS[0]
        )
        headers = {"X-Shopify-API-Version": served}
        if faults.slow_seconds:
            time.sleep(faults.slow_seconds)
        token = request.headers.get("X-Shopify-Access-Token", "")
        if faults.revoked or token not in sandbox_shop.tokens:
            return _json(INVALID_TOKEN, 401, headers)
        with sandbox_shop.lock:
            if faults.http_429 > 0:
                faults.http_429 -= 1
                return _json(
                    {
                        "errors": "Exceeded 2 calls per second for api client. "
                        "Reduce request rates to resume uninterrupted service."
                    },
                    429,
                    {**headers, "Retry-After": faults.retry_after},
                )
            if faults.http_5xx > 0:
                faults.http_5xx -= 1
                return _json({"errors": "Internal Server Error"}, faults.status_5xx, headers)

        body = request.get_json(silent=True) or {}
        try:
            operation = gql.parse(str(body.get("query") or ""))
        except gql.GraphQLSyntaxError as error:
            return _json(
                {"errors": [{"message": str(error), "extensions": {"code": "PARSE_ERROR"}}]},
                200,
                headers,
            )
        variables = {**operation.variable_defaults, **(body.get("variables") or {})}
        roots = [s for s in operation.selections if isinstance(s, gql.Field)]
        if operation.kind == "mutation":
            requested = 10 * len(roots)
        else:
            requested = max(1, gql.selection_cost(operation.selections, variables))
        if requested > 1000:
            return _json(
                {
                    "errors": [
                        {
                            "message": f"Query cost is {requested}, which exceeds the "
                            "single query max cost limit (1000).",
                            "extensions": {
                                "code": "MAX_COST_EXCEEDED",
                                "cost": requested,
                                "maxCost": 1000,
                            },
                        }
                    ]
                },
                200,
                headers,
            )
        bucket = sandbox_shop.bucket
        if not bucket.try_spend(requested):
            return _json(
                {
                    "errors": [
                        {
                            "message": "Throttled",
                            "extensions": {
                                "code": "THROTTLED",
                                "documentation": "https://shopify.dev/api/usage/rate-limits",
                            },
                        }
                    ],
                    "extensions": {
                        "cost": {
                            "requestedQueryCost": requested,
                            "actualQueryCost": None,
                            "throttleStatus": bucket.status(),
                        }
                    },
                },
                200,
                headers,
            )

        resolver = _Resolver(sandbox_shop, variables, request.host_url.rstrip("/"))
        data: dict[str, Any] = {}
        actual = 0
        try:
            for root in roots:
                value = resolver.root(operation.kind, root)
                data[root.key] = (
                    gql.project(value, root.selections or [], variables)
                    if root.selections is not None
                    else value
                )
                actual += resolver.actual_cost(operation.kind, root, data[root.key])
        except (gql.GraphQLFieldError, _QueryError) as error:
            bucket.refund(requested)
            code = getattr(error, "code", "undefinedField")
            return _json(
                {"errors": [{"message": str(error), "extensions": {"code": code}}]}, 200, headers
            )
        actual = min(requested, max(1, actual))
        bucket.refund(requested - actual)
        return _json(
            {
                "data": data,
                "extensions": {
                    "cost": {
                        "requestedQueryCost": requested,
                        "actualQueryCost": actual,
                        "throttleStatus": bucket.status(),
                    }
                },
            },
            200,
            headers,
        )


class _QueryError(ValueError):
    def __init__(self, message: str, code: str = "BAD_REQUEST") -> None:
        super().__init__(message)
        self.code = code


def _encode_cursor(position: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"last_id": position}).encode()).decode()


def _decode_cursor(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        return int(json.loads(base64.urlsafe_b64decode(cursor.encode()))["last_id"])
    except (ValueError, KeyError) as error:
        raise _QueryError("Invalid cursor for current pagination sort.") from error


class _Resolver:
    """Answers the root fields of one request."""

    def __init__(self, shop: SandboxShop, variables: dict[str, Any], base_url: str) -> None:
        self.shop = shop
        self.data = shop.data
        self.variables = variables
        self.base_url = base_url

    def root(self, kind: str, selection: gql.Field) -> Any:
        args = gql.resolve_args(selection, self.variables)
        name = selection.name
        handler = getattr(self, f"{'m' if kind == 'mutation' else 'q'}_{name}", None)
        if handler is None:
            root_type = "Mutation" if kind == "mutation" else "QueryRoot"
            raise gql.GraphQLFieldError(f"Field '{name}' doesn't exist on type '{root_type}'")
        return handler(args, selection)

    def actual_cost(self, kind: str, selection: gql.Field, value: Any) -> int:
        if kind == "mutation":
            return 10
        args = gql.resolve_args(selection, self.variables)
        first = args.get("first") or args.get("last")
        if first is None or not isinstance(value, dict):
            return gql.selection_cost([selection], self.variables) or 1
        returned = len(value.get("edges") or value.get("nodes") or [])
        return 2 + returned * gql.connection_node_cost(selection.selections or [], self.variables)

    # queries ------------------------------------------------------------------------------------

    def q_shop(self, args: dict, selection: gql.Field) -> dict[str, Any]:
        data = self.data
        return {
            "__typename": "Shop",
            "id": gid("Shop", 1),
            "name": data.name,
            "myshopifyDomain": data.domain,
            "email": f"owner@{data.domain}",
            "ianaTimezone": data.timezone,
            "currencyCode": data.currency,
            "primaryDomain": {
                "__typename": "Domain",
                "host": data.domain,
                "url": f"https://{data.domain}",
            },
            "plan": {
                "__typename": "ShopPlan",
                "displayName": "Basic",
                "partnerDevelopment": True,
                "shopifyPlus": False,
            },
        }

    def _page(self, kind: str, args: dict[str, Any]) -> dict[str, Any]:
        first = args.get("first") or args.get("last")
        if first is None:
            raise _QueryError("you must provide one of first or last")
        if int(first) > 250:
            raise _QueryError("The maximum number of records per page is 250.")
        matches = search_predicate(args.get("query"))
        items: list[tuple[str, dict[str, Any]]] = []
        has_next = False
        for position, record in self.data.iter_records(kind, _decode_cursor(args.get("after"))):
            if not matches(record):
                continue
            if len(items) == int(first):
                has_next = True
                break
            items.append((_encode_cursor(position), self.data.node(kind, record)))
        return gql.build_connection(items, has_next=has_next, has_previous=bool(args.get("after")))

    def q_customers(self, args: dict, selection: gql.Field) -> dict[str, Any]:
        return self._page("customers", args)

    def q_orders(self, args: dict, selection: gql.Field) -> dict[str, Any]:
        return self._page("orders", args)

    def q_products(self, args: dict, selection: gql.Field) -> dict[str, Any]:
        return self._page("products", args)

    def q_abandonedCheckouts(  # noqa: N802
        self, args: dict, selection: gql.Field
    ) -> dict[str, Any]:
        return self._page("checkouts", args)

    def _one(self, kind: str, value: str | None) -> dict[str, Any] | None:
        if not value:
            return None
        record = self.data.get_record(kind, gid_number(value))
        return self.data.node(kind, record) if record else None

    def q_customer(self, args: dict, selection: gql.Field) -> dict[str, Any] | None:
        return self._one("customers", args.get("id"))

    def q_order(self, args: dict, selection: gql.Field) -> dict[str, Any] | None:
        return self._one("orders", args.get("id"))

    def q_product(self, args: dict, selection: gql.Field) -> dict[str, Any] | None:
        return self._one("products", args.get("id"))

    def _count(self, kind: str, args: dict[str, Any]) -> dict[str, Any]:
        limit = args.get("limit", 10000)
        if not args.get("query"):
            total = self.data.count_records(kind)
        else:
            matches = search_predicate(args["query"])
            total = sum(1 for _, r in self.data.iter_records(kind) if matches(r))
        if limit is not None and total > int(limit):
            return {"__typename": "Count", "count": int(limit), "precision": "AT_LEAST"}
        return {"__typename": "Count", "count": total, "precision": "EXACT"}

    def q_customersCount(self, args: dict, selection: gql.Field) -> dict:  # noqa: N802
        return self._count("customers", args)

    def q_ordersCount(self, args: dict, selection: gql.Field) -> dict:  # noqa: N802
        return self._count("orders", args)

    def q_productsCount(self, args: dict, selection: gql.Field) -> dict:  # noqa: N802
        return self._count("products", args)

    def q_abandonedCheckoutsCount(self, args: dict, selection: gql.Field) -> dict:  # noqa: N802
        return self._count("checkouts", args)

    def _bulk_node(self, operation_id: str | None) -> dict[str, Any] | None:
        operation = self.shop.bulk_ops.get(operation_id or "")
        if operation is None:
            return None
        advance_bulk(self.shop, operation)
        return operation.node(self.base_url, self.shop.domain)

    def q_node(self, args: dict, selection: gql.Field) -> dict[str, Any] | None:
        value = str(args.get("id") or "")
        if "/BulkOperation/" in value:
            return self._bulk_node(value)
        for kind, typename in TYPENAMES.items():
            if f"/{typename}/" in value:
                return self._one(kind, value)
        return None

    def q_nodes(self, args: dict, selection: gql.Field) -> list[dict[str, Any] | None]:
        return [self.q_node({"id": v}, selection) for v in args.get("ids") or []]

    def q_bulkOperation(self, args: dict, selection: gql.Field) -> dict | None:  # noqa: N802
        return self._bulk_node(args.get("id"))

    def q_currentBulkOperation(  # noqa: N802
        self, args: dict, selection: gql.Field
    ) -> dict | None:
        return self._bulk_node(self.shop.current_bulk)

    def q_webhookSubscriptions(self, args: dict, selection: gql.Field) -> dict:  # noqa: N802
        first = int(args.get("first") or 50)
        after = args.get("after")
        subs = self.data.subscriptions
        start = 0
        if after:
            ids = [s["id"] for s in subs]
            start = ids.index(base64.b64decode(after).decode()) + 1
        shown = subs[start : start + first]
        nodes = [
            (base64.b64encode(s["id"].encode()).decode(), _subscription_node(s)) for s in shown
        ]
        return gql.build_connection(nodes, has_next=start + first < len(subs))

    # mutations ----------------------------------------------------------------------------------

    def m_bulkOperationRunQuery(self, args: dict, selection: gql.Field) -> dict:  # noqa: N802
        shop = self.shop
        text = str(args.get("query") or "")
        try:
            inner = gql.parse(text)
            root = _bulk_root(inner)
            _validate_bulk(shop, root)
        except (gql.GraphQLSyntaxError, gql.GraphQLFieldError, _QueryError) as error:
            return {
                "bulkOperation": None,
                "userErrors": [
                    {"__typename": "UserError", "field": ["query"], "message": str(error)}
                ],
            }
        with shop.lock:
            current = shop.bulk_ops.get(shop.current_bulk or "")
            if current is not None and current.status in ("CREATED", "RUNNING"):
                return {
                    "bulkOperation": None,
                    "userErrors": [
                        {
                            "__typename": "UserError",
                            "field": None,
                            "message": "A bulk query operation for this app and shop is "
                            f"already in progress: {current.id}.",
                        }
                    ],
                }
            with shop.sandbox.lock:
                shop.sandbox._bulk_ids += 1
                number = shop.sandbox._bulk_ids
            operation = BulkOp(
                id=gid("BulkOperation", number),
                kind=BULK_ROOTS[root.name],
                root=root,
                query_text=text,
                created_at=_iso(_utc_now()),
            )
            shop.bulk_ops[operation.id] = operation
            shop.current_bulk = operation.id
        logger.info("shop %s: bulk %s created", shop.domain, operation.id)
        return {"bulkOperation": operation.node(self.base_url, shop.domain), "userErrors": []}

    def m_bulkOperationCancel(self, args: dict, selection: gql.Field) -> dict:  # noqa: N802
        operation = self.shop.bulk_ops.get(str(args.get("id")))
        if operation is None:
            return {
                "bulkOperation": None,
                "userErrors": [
                    {
                        "__typename": "UserError",
                        "field": ["id"],
                        "message": "Bulk operation does not exist",
                    }
                ],
            }
        if operation.status in ("CREATED", "RUNNING"):
            operation.status = "CANCELED"
            operation.completed_at = _iso(_utc_now())
        return {"bulkOperation": operation.node(self.base_url, self.shop.domain), "userErrors": []}

    def m_metafieldsSet(self, args: dict, selection: gql.Field) -> dict:  # noqa: N802
        inputs = list(args.get("metafields") or [])
        stored, errors = self.data.set_metafields(inputs, self.shop.sandbox.api_key, _utc_now())
        return {
            "metafields": stored if not errors else None,
            "userErrors": [dict(e, __typename="MetafieldsSetUserError") for e in errors],
        }

    def m_webhookSubscriptionCreate(self, args: dict, selection: gql.Field) -> dict:  # noqa: N802
        topic = str(args.get("topic") or "")
        spec = args.get("webhookSubscription") or {}
        uri = spec.get("uri") or spec.get("callbackUrl") or ""

        def refuse(field_name: list[str], message: str) -> dict[str, Any]:
            return {
                "webhookSubscription": None,
                "userErrors": [
                    {"__typename": "UserError", "field": field_name, "message": message}
                ],
            }

        if topic not in TOPIC_BY_ENUM:
            return refuse(["topic"], f"Topic {topic} is not supported by the stand-in")
        if not uri.startswith(("http://", "https://")):
            return refuse(["webhookSubscription", "uri"], "Address is invalid")
        if any(s["topic"] == topic and s["uri"] == uri for s in self.data.subscriptions):
            return refuse(
                ["webhookSubscription", "callbackUrl"],
                "Address for this topic has already been taken",
            )
        sub = self.shop.subscribe(TOPIC_BY_ENUM[topic], uri)
        return {"webhookSubscription": _subscription_node(sub), "userErrors": []}

    def m_webhookSubscriptionDelete(self, args: dict, selection: gql.Field) -> dict:  # noqa: N802
        wanted = str(args.get("id"))
        before = len(self.data.subscriptions)
        self.data.subscriptions[:] = [s for s in self.data.subscriptions if s["id"] != wanted]
        if len(self.data.subscriptions) == before:
            return {
                "deletedWebhookSubscriptionId": None,
                "userErrors": [
                    {
                        "__typename": "UserError",
                        "field": ["id"],
                        "message": "Webhook subscription does not exist",
                    }
                ],
            }
        return {"deletedWebhookSubscriptionId": wanted, "userErrors": []}

    def _tags(self, args: dict, add: bool) -> dict[str, Any]:
        target = str(args.get("id") or "")
        tags = args.get("tags") or []
        tags = [t.strip() for t in (tags.split(",") if isinstance(tags, str) else tags)]
        if (
            "/Customer/" not in target
            or self.data.get_record("customers", gid_number(target)) is None
        ):
            return {
                "node": None,
                "userErrors": [
                    {"__typename": "UserError", "field": ["id"], "message": "Resource not found"}
                ],
            }
        number = gid_number(target)
        if add:
            self.shop.update_customer_tags(number, add=tags)
        else:
            self.shop.update_customer_tags(number, remove=tags)
        return {"node": {"__typename": "Customer", "id": target}, "userErrors": []}

    def m_tagsAdd(self, args: dict, selection: gql.Field) -> dict:  # noqa: N802
        return self._tags(args, add=True)

    def m_tagsRemove(self, args: dict, selection: gql.Field) -> dict:  # noqa: N802
        return self._tags(args, add=False)


def _subscription_node(sub: dict[str, Any]) -> dict[str, Any]:
    return {
        "__typename": "WebhookSubscription",
        "id": sub["id"],
        "topic": sub["topic"],
        "uri": sub["uri"],
        "callbackUrl": sub["uri"],
        "format": sub["format"],
        "includeFields": [],
        "metafieldNamespaces": [],
        "createdAt": sub["createdAt"],
        "updatedAt": sub["createdAt"],
        "apiVersion": {"__typename": "ApiVersion", "handle": sub["apiVersion"]},
        "endpoint": {"__typename": "WebhookHttpEndpoint", "callbackUrl": sub["uri"]},
    }


def _bulk_root(operation: gql.Operation) -> gql.Field:
    roots = [s for s in operation.selections if isinstance(s, gql.Field)]
    if operation.kind != "query" or len(roots) != 1 or roots[0].name not in BULK_ROOTS:
        raise _QueryError(
            "Bulk queries in the stand-in need exactly one top-level connection: "
            f"one of {', '.join(BULK_ROOTS)}"
        )
    if roots[0].selections is None:
        raise _QueryError("Bulk query must select fields of the connection")
    return roots[0]


def _sample_data(kind: str) -> dict[str, Any]:
    sample = ShopStore("sample.myshopify.com")
    spec = StoreSpec(seed=0, customers=40)
    gen = StoreGenerator(spec)
    for i in range(40):
        customer, orders, checkouts = gen.bundle(i)
        if orders and checkouts:
            sample.load(
                customers=[customer], orders=orders, checkouts=checkouts, products=[gen.product(0)]
            )
            break
    record = next(iter(sample.records[kind].values()))
    return sample.node(kind, record)


def _validate_bulk(shop: SandboxShop, root: gql.Field) -> None:
    """Check the selection against a sample object (unknown fields become userErrors)."""
    node_selections = gql.connection_node_selections(root.selections or [])
    if not node_selections:
        raise _QueryError("Bulk query must select `edges { node { … } }` or `nodes { … }`")
    gql.project(_sample_data(BULK_ROOTS[root.name]), node_selections, {})


def advance_bulk(shop: SandboxShop, operation: BulkOp) -> None:
    """Each look at a running operation moves it one step: CREATED → RUNNING → finished."""
    with shop.lock:
        if operation.status == "CREATED":
            operation.status = "RUNNING"
            return
        if operation.status != "RUNNING":
            return
        faults = shop.faults
        operation.completed_at = _iso(_utc_now())
        if faults.bulk_fail:
            operation.status = "FAILED"
            operation.error_code = faults.bulk_fail
        elif faults.bulk_expire:
            operation.status = "EXPIRED"
        else:
            _count_bulk(shop, operation)
            operation.status = "COMPLETED"
    logger.info(
        "shop %s: bulk %s %s, %d objects",
        shop.domain,
        operation.id,
        operation.status,
        operation.object_count,
    )
    finished = {
        "admin_graphql_api_id": operation.id,
        "completed_at": operation.completed_at,
        "created_at": operation.created_at,
        "error_code": operation.error_code.lower() if operation.error_code else None,
        "status": operation.status.lower(),
        "type": "query",
    }
    shop.deliver("bulk_operations/finish", finished)


def _count_bulk(shop: SandboxShop, operation: BulkOp) -> None:
    data = shop.data
    node_selections = gql.connection_node_selections(operation.root.selections or [])
    children = [
        s.name for s in node_selections if isinstance(s, gql.Field) and s.name in CHILD_CONNECTIONS
    ]
    has_query = bool(gql.resolve_args(operation.root, {}).get("query"))
    if isinstance(data, GeneratedShop) and not has_query and "metafields" not in children:
        roots = data.count_records(operation.kind)
        extra = [data.count_children(operation.kind, child) for child in children]
        if all(count is not None for count in extra):
            operation.root_object_count = roots
            operation.object_count = roots + sum(c or 0 for c in extra)
            return
    if isinstance(data, GeneratedShop):
        roots = total = 0
        for line in bulk_lines(shop, operation):
            total += 1
            roots += b'"__parentId"' not in line
        operation.object_count, operation.root_object_count = total, roots
        return
    operation.snapshot = list(bulk_lines(shop, operation))
    operation.object_count = len(operation.snapshot)
    operation.root_object_count = sum(1 for x in operation.snapshot if b'"__parentId"' not in x)
    operation.file_size = sum(len(x) for x in operation.snapshot)


def bulk_lines(shop: SandboxShop, operation: BulkOp) -> Iterator[bytes]:
    """The JSONL result, one encoded line at a time, in the fault-selected order."""
    data = shop.data
    node_selections = gql.connection_node_selections(operation.root.selections or [])
    own = [
        s
        for s in node_selections
        if not (isinstance(s, gql.Field) and s.name in CHILD_CONNECTIONS)
    ]
    children = [
        s for s in node_selections if isinstance(s, gql.Field) and s.name in CHILD_CONNECTIONS
    ]
    args = gql.resolve_args(operation.root, {})
    matches = search_predicate(args.get("query"))
    order = shop.faults.bulk_order
    delayed: list[bytes] = []

    def encode(obj: dict[str, Any]) -> bytes:
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"

    for _, record in data.iter_records(operation.kind):
        if not matches(record):
            continue
        node = data.node(operation.kind, record)
        parent = encode(gql.project(node, own, {}))
        kids = []
        for child in children:
            connection = node[child.name]({})
            child_selections = gql.connection_node_selections(child.selections or [])
            for item in connection["nodes"]:
                line = gql.project(item, child_selections, {})
                line["__parentId"] = node["id"]
                kids.append(encode(line))
        if order == "children_first":
            yield from kids
            yield parent
        elif order == "delayed":
            yield parent
            yield from delayed
            delayed = kids
        else:
            yield parent
            yield from kids
    yield from delayed


def _chunked(lines: Iterator[bytes], size: int = 1 << 16) -> Iterator[bytes]:
    buffer: list[bytes] = []
    length = 0
    for line in lines:
        buffer.append(line)
        length += len(line)
        if length >= size:
            yield b"".join(buffer)
            buffer, length = [], 0
    if buffer:
        yield b"".join(buffer)


def _json(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(payload, ensure_ascii=False),
        status=status,
        mimetype="application/json",
        headers=headers,
    )


def start_shopify_sandbox(
    host: str = "127.0.0.1",
    port: int = 0,
    **options: Any,
) -> ShopifySandbox:
    """Start the stand-in on loopback; options go to `ShopifySandbox` (keys, bucket, clock)."""
    return ShopifySandbox(**options).start(host, port)
