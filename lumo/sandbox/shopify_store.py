"""The stand-in's shop data: an in-memory store of REST-shaped records and their GraphQL views.

Records use the neutral shape shared with the demo-data loader (REST JSON as webhooks carry it,
numeric ids, money as strings, instants with offsets). `ShopStore` holds a small shop;
`lumo.sandbox.store_generator.GeneratedShop` serves a big one computed on the fly. Both answer
the same questions (`iter_records`, `get_record`, `customer_stats`), so the server does not care
which one it talks to. Node builders below turn a record into the GraphQL object the real
Admin API would return, with every field the stand-in knows.
"""

from __future__ import annotations

import itertools
import logging
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from lumo.sandbox.shopify_graphql import Resolver, build_connection

logger = logging.getLogger(__name__)

KINDS = ("customers", "orders", "products", "checkouts")
TYPENAMES = {
    "customers": "Customer",
    "orders": "Order",
    "products": "Product",
    "checkouts": "AbandonedCheckout",
}
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{2,64}$")


def gid(typename: str, number: int | str) -> str:
    return f"gid://shopify/{typename}/{number}"


def gid_number(value: str) -> int:
    return int(value.rsplit("/", 1)[-1].partition("?")[0])


def to_utc(value: str | None) -> str | None:
    """REST instants carry the shop's offset; GraphQL gives UTC with `Z`."""
    if not value:
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_instant(value: str) -> datetime:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def local_instant(moment: datetime, timezone: str) -> str:
    """Format an instant the REST way, in the shop's offset."""
    return moment.astimezone(ZoneInfo(timezone)).isoformat(timespec="seconds")


def format_money(amount: Decimal, currency: str) -> str:
    """JPY has no minor unit; everything else two decimals."""
    if currency in ("JPY", "KRW", "VND"):
        return str(amount.quantize(Decimal("1")))
    return str(amount.quantize(Decimal("0.01")))


def money(amount: str | None, currency: str) -> dict[str, Any] | None:
    if amount is None:
        return None
    return {"__typename": "MoneyV2", "amount": str(amount), "currencyCode": currency}


def money_bag(amount: str | None, currency: str) -> dict[str, Any] | None:
    if amount is None:
        return None
    shop = money(amount, currency)
    return {"__typename": "MoneyBag", "shopMoney": shop, "presentmentMoney": shop}


def tags_list(value: Any) -> list[str]:
    """Tags as GraphQL gives them: a list, from a list or a REST comma string."""
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return [str(tag).strip() for tag in value if str(tag).strip()]


@dataclass(frozen=True)
class CustomerStats:
    """Aggregates the real API derives from a customer's orders."""

    orders_count: int
    amount_spent: str
    last_order: dict[str, Any] | None


# ---- search syntax (the subset the sync engine sends) -------------------------------------

SEARCH_TERM = re.compile(
    r"""(?P<neg>-)?(?P<field>[a-z_]+):(?P<op><=|>=|<|>|=)?(?P<value>'[^']*'|"[^"]*"|\S+)""",
    re.IGNORECASE,
)
DATE_FIELDS = {"updated_at", "created_at", "processed_at"}


def search_predicate(query: str | None) -> Callable[[Mapping[str, Any]], bool]:
    """A record filter for `query:` (`updated_at:>'…'`, `created_at`, `tag`, `state`, `id`)."""
    if not query or not query.strip():
        return lambda record: True
    terms = []
    for match in SEARCH_TERM.finditer(query):
        value = match.group("value").strip("'\"")
        terms.append(
            (
                bool(match.group("neg")),
                match.group("field").lower(),
                match.group("op") or "=",
                value,
            )
        )

    def compare(left: Any, op: str, right: Any) -> bool:
        if left is None:
            return False
        return {
            "=": left == right,
            ">": left > right,
            ">=": left >= right,
            "<": left < right,
            "<=": left <= right,
        }[op]

    def check(record: Mapping[str, Any]) -> bool:
        for negate, name, op, raw in terms:
            if name in DATE_FIELDS:
                stamp = record.get(name)
                result = compare(parse_instant(stamp) if stamp else None, op, parse_instant(raw))
            elif name == "id":
                result = compare(int(record["id"]), op, int(raw))
            elif name == "tag":
                result = raw.lower() in {t.lower() for t in tags_list(record.get("tags"))}
            elif name in (
                "state",
                "status",
                "financial_status",
                "email",
                "product_type",
                "vendor",
            ):
                result = str(record.get(name) or "").lower() == raw.lower()
            else:
                continue
            if result == negate:
                return False
        return True

    return check


# ---- GraphQL node builders --------------------------------------------------------------------


def _display_name(
    first: str | None, last: str | None, email: str | None, phone: str | None
) -> str:
    name = " ".join(part for part in (first, last) if part)
    return name or email or phone or ""


def customer_node(
    record: Mapping[str, Any],
    stats: CustomerStats,
    currency: str,
    metafields: Callable[[], list[dict[str, Any]]],
    app_client_id: str = "",
) -> dict[str, Any]:
    number = record["id"]
    email, phone = record.get("email"), record.get("phone")
    last = stats.last_order
    consent = record.get("email_marketing_consent") or {}
    marketing_state = str(consent.get("state") or "not_subscribed").upper()

    def metafield(args: dict[str, Any]) -> dict[str, Any] | None:
        wanted = expand_namespace(str(args.get("namespace") or "$app"), app_client_id)
        for item in metafields():
            if item["key"] == args.get("key") and item["namespace"] == wanted:
                return item
        return None

    def metafield_connection(args: dict[str, Any]) -> dict[str, Any]:
        items = [m for m in metafields() if args.get("namespace") in (None, m["namespace"])]
        first = args.get("first")
        shown = items[:first] if first else items
        return build_connection([(m["id"], m) for m in shown], has_next=len(shown) < len(items))

    address = record.get("default_address") or (
        {"country_code": record["country_code"]} if record.get("country_code") else None
    )
    return {
        "__typename": "Customer",
        "id": gid("Customer", number),
        "legacyResourceId": str(number),
        "firstName": record.get("first_name"),
        "lastName": record.get("last_name"),
        "displayName": _display_name(
            record.get("first_name"), record.get("last_name"), email, phone
        ),
        "email": email,
        "phone": phone,
        "defaultEmailAddress": None
        if not email
        else {
            "__typename": "CustomerEmailAddress",
            "emailAddress": email,
            "marketingState": marketing_state,
        },
        "defaultPhoneNumber": None
        if not phone
        else {
            "__typename": "CustomerPhoneNumber",
            "phoneNumber": phone,
            "marketingState": "NOT_SUBSCRIBED",
        },
        "tags": tags_list(record.get("tags")),
        "numberOfOrders": str(stats.orders_count),
        "amountSpent": money(stats.amount_spent, currency),
        "state": str(record.get("state") or "disabled").upper(),
        "createdAt": to_utc(record.get("created_at")),
        "updatedAt": to_utc(record.get("updated_at")),
        "lastOrder": None
        if not last
        else {
            "__typename": "Order",
            "id": gid("Order", last["id"]),
            "name": last.get("name"),
            "processedAt": to_utc(last.get("processed_at")),
            "createdAt": to_utc(last.get("created_at")),
        },
        "note": record.get("note"),
        "locale": record.get("locale") or "en",
        "verifiedEmail": bool(email),
        "taxExempt": False,
        "canDelete": stats.orders_count == 0,
        "dataSaleOptOut": False,
        "emailMarketingConsent": None
        if not email
        else {
            "__typename": "CustomerEmailMarketingConsentState",
            "marketingState": marketing_state,
            "marketingOptInLevel": "SINGLE_OPT_IN" if marketing_state == "SUBSCRIBED" else None,
            "consentUpdatedAt": to_utc(consent.get("consent_updated_at")),
        },
        "smsMarketingConsent": None,
        "defaultAddress": None
        if not address
        else {
            "__typename": "MailingAddress",
            "countryCodeV2": address.get("country_code"),
            "country": address.get("country"),
            "province": address.get("province"),
            "city": address.get("city"),
            "zip": address.get("zip"),
            "address1": address.get("address1"),
            "phone": address.get("phone"),
        },
        "metafield": Resolver(metafield),
        "metafields": Resolver(metafield_connection),
    }


def _line_item_node(item: Mapping[str, Any], currency: str, typename: str) -> dict[str, Any]:
    price = item.get("price")
    quantity = int(item.get("quantity") or 0)
    total = None if price is None else format_money(Decimal(price) * quantity, currency)
    name = item.get("title") or ""
    if item.get("variant_title"):
        name = f"{name} - {item['variant_title']}"
    return {
        "__typename": typename,
        "id": gid(typename, item["id"]),
        "title": item.get("title"),
        "name": name,
        "variantTitle": item.get("variant_title"),
        "sku": item.get("sku"),
        "vendor": item.get("vendor"),
        "quantity": quantity,
        "variant": None
        if not item.get("variant_id")
        else {"__typename": "ProductVariant", "id": gid("ProductVariant", item["variant_id"])},
        "product": None
        if not item.get("product_id")
        else {"__typename": "Product", "id": gid("Product", item["product_id"])},
        "originalUnitPriceSet": money_bag(price, currency),
        "discountedUnitPriceSet": money_bag(price, currency),
        "originalTotalSet": money_bag(total, currency),
        "discountedTotalSet": money_bag(total, currency),
        "discountedTotalPriceSet": money_bag(total, currency),
        "requiresShipping": True,
        "customAttributes": [],
    }


def _children(items: list[dict[str, Any]]) -> Resolver:
    def connection(args: dict[str, Any]) -> dict[str, Any]:
        first = args.get("first")
        shown = items[:first] if first else items
        return build_connection([(n["id"], n) for n in shown], has_next=len(shown) < len(items))

    return Resolver(connection)


def order_node(record: Mapping[str, Any], currency: str) -> dict[str, Any]:
    number = record["id"]
    currency = record.get("currency") or currency
    fulfillment = {
        None: "UNFULFILLED",
        "fulfilled": "FULFILLED",
        "partial": "PARTIALLY_FULFILLED",
    }.get(record.get("fulfillment_status"), "UNFULFILLED")
    financial = record.get("financial_status")
    items = [_line_item_node(i, currency, "LineItem") for i in record.get("line_items") or []]
    customer_id = record.get("customer_id")
    subtotal = record.get("subtotal_price") or record.get("total_price")
    return {
        "__typename": "Order",
        "id": gid("Order", number),
        "legacyResourceId": str(number),
        "name": record.get("name"),
        "email": record.get("email"),
        "phone": record.get("phone"),
        "customer": None
        if customer_id is None
        else {
            "__typename": "Customer",
            "id": gid("Customer", customer_id),
            "legacyResourceId": str(customer_id),
        },
        "currencyCode": currency,
        "presentmentCurrencyCode": currency,
        "totalPriceSet": money_bag(record.get("total_price"), currency),
        "currentTotalPriceSet": money_bag(
            record.get("current_total_price") or record.get("total_price"), currency
        ),
        "subtotalPriceSet": money_bag(subtotal, currency),
        "totalTaxSet": money_bag(record.get("total_tax") or "0", currency),
        "totalDiscountsSet": money_bag(record.get("total_discounts") or "0", currency),
        "displayFinancialStatus": financial.upper() if financial else None,
        "displayFulfillmentStatus": fulfillment,
        "processedAt": to_utc(record.get("processed_at")),
        "createdAt": to_utc(record.get("created_at")),
        "updatedAt": to_utc(record.get("updated_at")),
        "cancelledAt": to_utc(record.get("cancelled_at")),
        "cancelReason": (record.get("cancel_reason") or "").upper() or None,
        "closedAt": to_utc(record.get("closed_at")),
        "tags": tags_list(record.get("tags")),
        "note": record.get("note"),
        "test": False,
        "sourceName": record.get("source_name") or "web",
        "lineItems": _children(items),
    }


def product_node(
    record: Mapping[str, Any],
    currency: str,
    metafields: Callable[[], list[dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    number = record["id"]
    options = record.get("options") or []
    variants = []
    for variant in record.get("variants") or []:
        selected = [
            {
                "__typename": "SelectedOption",
                "name": option.get("name"),
                "value": variant.get(f"option{index}"),
            }
            for index, option in enumerate(options[:3], start=1)
            if variant.get(f"option{index}") is not None
        ]
        variants.append(
            {
                "__typename": "ProductVariant",
                "id": gid("ProductVariant", variant["id"]),
                "legacyResourceId": str(variant["id"]),
                "title": variant.get("title"),
                "sku": variant.get("sku"),
                "price": variant.get("price"),
                "compareAtPrice": variant.get("compare_at_price"),
                "inventoryQuantity": variant.get("inventory_quantity"),
                "inventoryPolicy": str(variant.get("inventory_policy") or "deny").upper(),
                "barcode": variant.get("barcode"),
                "selectedOptions": selected,
                "product": {"__typename": "Product", "id": gid("Product", number)},
            }
        )
    stock = sum(int(v.get("inventory_quantity") or 0) for v in record.get("variants") or [])
    body = record.get("body_html") or ""
    return {
        "__typename": "Product",
        "id": gid("Product", number),
        "legacyResourceId": str(number),
        "title": record.get("title"),
        "handle": record.get("handle"),
        "descriptionHtml": body,
        "description": re.sub(r"<[^>]+>", "", body),
        "vendor": record.get("vendor"),
        "productType": record.get("product_type"),
        "tags": tags_list(record.get("tags")),
        "status": str(record.get("status") or "active").upper(),
        "totalInventory": stock,
        "tracksInventory": True,
        "hasOutOfStockVariants": any(
            int(v.get("inventory_quantity") or 0) <= 0 for v in record.get("variants") or []
        ),
        "publishedAt": to_utc(record.get("published_at")),
        "createdAt": to_utc(record.get("created_at")),
        "updatedAt": to_utc(record.get("updated_at")),
        "onlineStoreUrl": None,
        "options": [
            {"__typename": "ProductOption", "name": o.get("name"), "values": o.get("values")}
            for o in options
        ],
        "variants": _children(variants),
        "metafields": _children(metafields() if metafields else []),
    }


def checkout_node(record: Mapping[str, Any], currency: str) -> dict[str, Any]:
    number = record["id"]
    currency = record.get("currency") or currency
    items = [
        _line_item_node(i, currency, "AbandonedCheckoutLineItem")
        for i in record.get("line_items") or []
    ]
    customer_id = record.get("customer_id")
    subtotal = record.get("subtotal_price") or record.get("total_price")
    return {
        "__typename": "AbandonedCheckout",
        "id": gid("AbandonedCheckout", number),
        "name": f"#{number}",
        "abandonedCheckoutUrl": record.get("abandoned_checkout_url"),
        "completedAt": to_utc(record.get("completed_at")),
        "createdAt": to_utc(record.get("created_at")),
        "updatedAt": to_utc(record.get("updated_at")),
        "note": record.get("note"),
        "taxesIncluded": currency == "JPY",
        "totalPriceSet": money_bag(record.get("total_price"), currency),
        "subtotalPriceSet": money_bag(subtotal, currency),
        "totalLineItemsPriceSet": money_bag(subtotal, currency),
        "totalTaxSet": money_bag(record.get("total_tax") or "0", currency),
        "totalDiscountSet": money_bag(record.get("total_discounts") or "0", currency),
        "customer": None
        if customer_id is None
        else {
            "__typename": "Customer",
            "id": gid("Customer", customer_id),
            "legacyResourceId": str(customer_id),
            "email": record.get("email"),
            "phone": record.get("phone"),
        },
        "billingAddress": None,
        "shippingAddress": None,
        "discountCodes": [],
        "customAttributes": [],
        "lineItems": _children(items),
    }


def metafield_node(owner_gid: str, owner_type: str, item: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "__typename": "Metafield",
        "id": item["id"],
        "namespace": item["namespace"],
        "key": item["key"],
        "value": item["value"],
        "type": item["type"],
        "compareDigest": item["compareDigest"],
        "createdAt": item["createdAt"],
        "updatedAt": item["updatedAt"],
        "ownerType": owner_type.upper(),
        "owner": {"__typename": owner_type, "id": owner_gid},
    }


# ---- shared behaviour of every stand-in shop --------------------------------------------------


class ShopData:
    """What every stand-in shop holds besides its records: metafields and subscriptions."""

    domain: str
    name: str
    currency: str
    timezone: str

    def __init__(self) -> None:
        self.metafields: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}
        self.subscriptions: list[dict[str, Any]] = []
        self._ids = itertools.count(9_100_000_000_000)
        self.lock = threading.RLock()
        self.app_client_id = ""

    def next_id(self) -> int:
        return next(self._ids)

    # record access, implemented by subclasses
    def iter_records(self, kind: str, after: int | None = None) -> Iterator[tuple[int, dict]]:
        raise NotImplementedError

    def get_record(self, kind: str, number: int) -> dict[str, Any] | None:
        raise NotImplementedError

    def count_records(self, kind: str) -> int:
        raise NotImplementedError

    def customer_stats(self, customer_id: int) -> CustomerStats:
        raise NotImplementedError

    def metafields_of(self, owner_gid: str) -> list[dict[str, Any]]:
        owner_type = owner_gid.split("/")[3]
        return [
            metafield_node(owner_gid, owner_type, item)
            for item in self.metafields.get(owner_gid, {}).values()
        ]

    def node(self, kind: str, record: Mapping[str, Any]) -> dict[str, Any]:
        """The GraphQL object for a record."""
        if kind == "customers":
            owner = gid("Customer", record["id"])
            return customer_node(
                record,
                self.customer_stats(record["id"]),
                self.currency,
                lambda: self.metafields_of(owner),
                self.app_client_id,
            )
        if kind == "orders":
            return order_node(record, self.currency)
        if kind == "products":
            owner = gid("Product", record["id"])
            return product_node(record, self.currency, lambda: self.metafields_of(owner))
        return checkout_node(record, self.currency)

    def set_metafields(
        self, inputs: list[dict[str, Any]], app_client_id: str, now: datetime
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Validate all, then write all (atomic, like `metafieldsSet`); return (stored, errors)."""
        errors = []
        if len(inputs) > 25:
            return [], [
                {
                    "field": ["metafields"],
                    "code": "LESS_THAN_OR_EQUAL_TO",
                    "message": "Exceeded the maximum metafields input limit of 25.",
                    "elementIndex": None,
                }
            ]
        prepared = []
        for index, item in enumerate(inputs):
            problem = self._check_metafield(item)
            if problem:
                field_name, code, message = problem
                errors.append(
                    {
                        "field": ["metafields", str(index), field_name],
                        "code": code,
                        "message": message,
                        "elementIndex": index,
                    }
                )
                continue
            namespace = expand_namespace(item.get("namespace") or "$app", app_client_id)
            prepared.append((item["ownerId"], namespace, item))
        if errors:
            return [], errors

        stored = []
        stamp = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        with self.lock:
            for owner, namespace, item in prepared:
                bucket = self.metafields.setdefault(owner, {})
                existing = bucket.get((namespace, item["key"]))
                value = {
                    "id": existing["id"] if existing else gid("Metafield", self.next_id()),
                    "namespace": namespace,
                    "key": item["key"],
                    "value": item["value"],
                    "type": item["type"],
                    "compareDigest": f"{abs(hash((namespace, item['key'], item['value']))):x}",
                    "createdAt": existing["createdAt"] if existing else stamp,
                    "updatedAt": stamp,
                }
                bucket[(namespace, item["key"])] = value
                stored.append(metafield_node(owner, owner.split("/")[3], value))
        return stored, []

    def _check_metafield(self, item: Mapping[str, Any]) -> tuple[str, str, str] | None:
        owner = str(item.get("ownerId") or "")
        if not owner.startswith("gid://shopify/Customer/") and not owner.startswith(
            "gid://shopify/Product/"
        ):
            return "ownerId", "INVALID", "Owner type is not supported by the stand-in."
        kind = "customers" if "/Customer/" in owner else "products"
        if self.get_record(kind, gid_number(owner)) is None:
            return "ownerId", "INVALID", "Owner does not exist."
        if not KEY_PATTERN.match(str(item.get("key") or "")):
            return "key", "INVALID", "Key must be 2-64 characters of letters, digits, _ or -."
        if not item.get("type"):
            return "type", "BLANK", "Type can't be blank."
        value = item.get("value")
        if not isinstance(value, str):
            return "value", "INVALID", "Value must be a string."
        if not _value_fits(str(item["type"]), value):
            return "value", "INVALID_VALUE", f"Value is invalid for type {item['type']}."
        return None


def expand_namespace(namespace: str, app_client_id: str) -> str:
    """`$app` → `app--{id}`, `$app:line` → `app--{id}--line` (reference §6.2)."""
    if namespace == "$app":
        return f"app--{app_client_id}"
    if namespace.startswith("$app:"):
        return f"app--{app_client_id}--{namespace[5:]}"
    return namespace


def _value_fits(kind: str, value: str) -> bool:
    try:
        if kind == "boolean":
            return value in ("true", "false")
        if kind == "number_integer":
            int(value)
        elif kind == "date":
            datetime.strptime(value, "%Y-%m-%d")
        elif kind == "date_time":
            parse_instant(value)
        elif kind == "single_line_text_field":
            return "\n" not in value
    except ValueError:
        return False
    return True


# ---- the in-memory shop -----------------------------------------------------------------------


class ShopStore(ShopData):
    """A small shop held in memory; the stand-in's Python API changes it."""

    def __init__(
        self,
        domain: str,
        *,
        name: str | None = None,
        currency: str = "JPY",
        timezone: str = "Asia/Tokyo",
    ) -> None:
        super().__init__()
        self.domain = domain
        self.name = name or domain.split(".")[0]
        self.currency = currency
        self.timezone = timezone
        self.records: dict[str, dict[int, dict[str, Any]]] = {kind: {} for kind in KINDS}
        self.carts: dict[str, dict[str, Any]] = {}
        self._orders_by_customer: dict[int, list[int]] = {}

    def load(
        self,
        *,
        products: Iterable[Mapping[str, Any]] = (),
        customers: Iterable[Mapping[str, Any]] = (),
        orders: Iterable[Mapping[str, Any]] = (),
        checkouts: Iterable[Mapping[str, Any]] = (),
    ) -> dict[str, int]:
        """Add neutral-shape records (no webhooks are sent); return counts per kind."""
        counts = {}
        with self.lock:
            for kind, records in (
                ("products", products),
                ("customers", customers),
                ("orders", orders),
                ("checkouts", checkouts),
            ):
                count = 0
                for record in records:
                    self.put(kind, dict(record))
                    count += 1
                counts[kind] = count
        logger.info("shop %s loaded: %s", self.domain, counts)
        return counts

    def put(self, kind: str, record: dict[str, Any]) -> dict[str, Any]:
        """Insert or replace one record."""
        with self.lock:
            number = int(record["id"])
            self.records[kind][number] = record
            if kind == "orders" and record.get("customer_id") is not None:
                owned = self._orders_by_customer.setdefault(int(record["customer_id"]), [])
                if number not in owned:
                    owned.append(number)
        return record

    def delete(self, kind: str, number: int) -> dict[str, Any] | None:
        with self.lock:
            record = self.records[kind].pop(number, None)
            if kind == "customers":
                self.metafields.pop(gid("Customer", number), None)
            return record

    def iter_records(self, kind: str, after: int | None = None) -> Iterator[tuple[int, dict]]:
        with self.lock:
            numbers = sorted(self.records[kind])
        for number in numbers:
            if after is not None and number <= after:
                continue
            record = self.records[kind].get(number)
            if record is not None:
                yield number, record

    def get_record(self, kind: str, number: int) -> dict[str, Any] | None:
        return self.records[kind].get(number)

    def count_records(self, kind: str) -> int:
        return len(self.records[kind])

    def customer_stats(self, customer_id: int) -> CustomerStats:
        orders = [
            self.records["orders"][n]
            for n in self._orders_by_customer.get(customer_id, [])
            if n in self.records["orders"]
        ]
        spent = Decimal(0)
        for order in orders:
            if order.get("cancelled_at") or order.get("financial_status") in (
                "voided",
                "refunded",
            ):
                continue
            spent += Decimal(order.get("current_total_price") or order.get("total_price") or 0)
        last = max(orders, key=lambda o: o.get("processed_at") or "", default=None)
        return CustomerStats(len(orders), format_money(spent, self.currency), last)

    def now_local(self, now: datetime | None = None) -> str:
        return local_instant(now or datetime.now(UTC), self.timezone)
