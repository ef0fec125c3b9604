"""A deterministic fake store of any size, computed record by record from (seed, index).

Nothing is held whole: customer `i`, its orders and checkouts come from `customer_bundle(i)`,
product `j` from `product(j)`, so a million-customer shop can be paged or bulk-exported in
constant memory. `GeneratedShop` serves such a shop to the stand-in; `generate_records` feeds a
small one into a `ShopStore`.

Realistic quirks on purpose: Japanese and English names (and missing ones), JPY (no decimals)
or USD shops, money as strings, instants in the shop's offset, cancelled and refunded orders,
customers without orders, tags with spaces and mixed case, products with many variants,
abandoned checkouts (some later completed into an order), disabled/invited/declined customers.
"""

from __future__ import annotations

import functools
import logging
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from lumo.sandbox.shopify_store import (
    CustomerStats,
    ShopData,
    ShopStore,
    format_money,
    local_instant,
)

logger = logging.getLogger(__name__)

MASK = (1 << 64) - 1
START = datetime(2021, 1, 1, tzinfo=UTC)
END = datetime(2026, 6, 30, tzinfo=UTC)
SPAN = (END - START).total_seconds()

CUSTOMER_BASE = 6_100_000_000_000
PRODUCT_BASE = 7_200_000_000_000
VARIANT_BASE = 4_300_000_000_000
ORDER_BASE = 5_500_000_000_000
LINE_ITEM_BASE = 1_400_000_000_000
CHECKOUT_BASE = 3_300_000_000_000
CHECKOUT_LINE_BASE = 2_200_000_000_000
ORDER_SLOTS = 16  # positions reserved per customer for orders (at most 15 used)
CHECKOUT_SLOTS = 4
VARIANT_SLOTS = 64

JP_FAMILY = ["佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤"]
JP_GIVEN = ["陽菜", "蓮", "結衣", "大翔", "美咲", "悠真", "さくら", "翔太", "葵", "湊"]
EN_GIVEN = ["Emma", "Liam", "Olivia", "Noah", "Ava", "Lucas", "Mia", "Ethan", "Chloé", "Zoë"]
EN_FAMILY = ["Smith", "Johnson", "Brown", "Garcia", "Miller", "O'Neil", "Nguyen", "van Dijk"]
TAGS = [
    "VIP",
    "vip",
    "LINE friend",
    "Wholesale",
    " newsletter",
    "リピーター",
    "セール好き",
    "Loyalty Tier 2",
    "back in stock",
    "Gift Buyer",
]
PRODUCT_WORDS_JP = ["緑茶", "抹茶", "手ぬぐい", "有田焼 マグ", "今治タオル", "和紙ノート"]
PRODUCT_WORDS_EN = [
    "Linen Shirt",
    "Canvas Tote",
    "Ceramic Mug",
    "Wool Socks",
    "Tea Sampler",
    "Leather Wallet",
    "Notebook",
]
TYPES = ["Apparel", "Tea", "Homeware", "Stationery", "Accessories"]
VENDORS = ["Lumo Goods", "Kyoto Craft", "North & Co", "山田商店"]
SIZES = ["XS", "S", "M", "L", "XL", "XXL"]
COLORS = ["Black", "White", "Indigo", "Sakura", "Olive", "Sand", "Charcoal"]
ORDER_COUNT_TABLE = (
    [0] * 20
    + [1] * 20
    + [2] * 15
    + [3] * 12
    + [4] * 10
    + [5] * 8
    + [6] * 4
    + [7] * 3
    + [8] * 3
    + [9] * 2
    + [10] * 1
    + [12] * 1
    + [15] * 1
)


QUANTITIES = ((0.70, 1), (0.90, 2), (0.97, 3), (1.01, 5))
STATES = ((0.72, "enabled"), (0.90, "disabled"), (0.98, "invited"), (1.01, "declined"))
TAG_COUNTS = ((0.40, 0), (0.75, 1), (0.93, 2), (1.01, 3))
FINANCIAL = (
    (0.80, "paid"),
    (0.85, "refunded"),
    (0.90, "partially_refunded"),
    (0.95, "pending"),
    (0.98, "authorized"),
    (1.01, "voided"),
)
FULFILLMENT = ((0.25, None), (0.95, "fulfilled"), (1.01, "partial"))


def _pick(roll: float, table: tuple[tuple[float, Any], ...]) -> Any:
    """The first value whose cumulative share exceeds `roll` (cheaper than `choices`)."""
    for bound, value in table:
        if roll < bound:
            return value
    return table[-1][1]


def _mix(*parts: int) -> int:
    """splitmix64 over the parts: a fast, stable hash for cheap per-record decisions."""
    x = 0x9E3779B97F4A7C15
    for part in parts:
        x = (x + (part & MASK) * 0x9E3779B97F4A7C15) & MASK
        x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK
        x ^= x >> 31
    return x


Bundle = tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]


@dataclass(frozen=True)
class StoreSpec:
    """What to generate."""

    seed: int = 1
    customers: int = 100
    currency: str = "JPY"

    @property
    def timezone(self) -> str:
        return "Asia/Tokyo" if self.currency == "JPY" else "America/New_York"

    @property
    def products(self) -> int:
        return max(12, min(5000, self.customers // 40))


class StoreGenerator:
    """Computes any record of a fake shop from (seed, index)."""

    def __init__(self, spec: StoreSpec) -> None:
        self.spec = spec
        self.seed = spec.seed
        self.currency = spec.currency
        self.timezone = spec.timezone
        self.bundle: Callable[[int], Bundle] = functools.lru_cache(maxsize=4096)(self._bundle)
        self.product: Callable[[int], dict[str, Any]] = functools.lru_cache(maxsize=8192)(
            self._product
        )

    # cheap per-index facts (no record built) ---------------------------------------------

    def orders_count(self, i: int) -> int:
        return ORDER_COUNT_TABLE[_mix(self.seed, 1, i) % len(ORDER_COUNT_TABLE)]

    def checkouts_count(self, i: int) -> int:
        roll = _mix(self.seed, 3, i) % 100
        return 2 if roll < 5 else 1 if roll < 25 else 0

    def order_lines_count(self, position: int) -> int:
        roll = _mix(self.seed, 12, position) % 100
        return 1 if roll < 55 else 2 if roll < 80 else 3 if roll < 92 else 4

    def checkout_lines_count(self, position: int) -> int:
        return 1 + _mix(self.seed, 13, position) % 3

    def variant_count(self, j: int) -> int:
        roll = _mix(self.seed, 4, j) % 100
        if roll < 60:
            return 1 + roll % 3
        if roll < 92:
            return 4 + roll % 5
        return 20 + roll % 21

    def variant_price(self, j: int, k: int) -> Decimal:
        base = _mix(self.seed, 5, j)
        if self.currency == "JPY":
            return Decimal(500 + (base % 300) * 100 + (k % 4) * 200)
        return Decimal(500 + base % 29500 + (k % 4) * 250) / 100

    def _stamp(self, moment: datetime) -> str:
        return local_instant(moment, self.timezone)

    # products -----------------------------------------------------------------------------

    def _product(self, j: int) -> dict[str, Any]:
        rng = random.Random(_mix(self.seed, 6, j))
        japanese = rng.random() < 0.5
        words = PRODUCT_WORDS_JP if japanese else PRODUCT_WORDS_EN
        title = f"{rng.choice(words)} {j + 1}"
        product_type = rng.choice(TYPES)
        created = START + timedelta(seconds=rng.random() * SPAN * 0.5)
        updated = created + timedelta(days=rng.randint(0, 400))
        status = rng.choices(["active", "draft", "archived"], [85, 10, 5])[0]
        count = self.variant_count(j)
        many = count > 8
        options = [{"name": "Size", "values": SIZES[: min(6, count)]}]
        if count > 1:
            options.append({"name": "Color", "values": COLORS})
        variants = []
        for k in range(count):
            size = SIZES[k % 6]
            color = COLORS[(k // 6) % len(COLORS)] if count > 1 else None
            variants.append(
                {
                    "id": VARIANT_BASE + j * VARIANT_SLOTS + k,
                    "product_id": PRODUCT_BASE + j + 1,
                    "title": f"{size} / {color}" if color else size,
                    "sku": f"SKU-{j + 1:05d}-{k:02d}" if rng.random() < 0.95 else "",
                    "price": format_money(self.variant_price(j, k), self.currency),
                    "inventory_quantity": rng.choice([0, 1, 3, 10, 25, 120, -2]),
                    "option1": size,
                    "option2": color,
                    "option3": None,
                }
            )
        return {
            "id": PRODUCT_BASE + j + 1,
            "title": title,
            "handle": f"product-{j + 1}",
            "body_html": f"<p>{title} — {'many options' if many else 'a staff favourite'}</p>",
            "vendor": rng.choice(VENDORS),
            "product_type": product_type,
            "tags": rng.sample(
                ["new", "Sale", "gift idea", "限定", "Summer 2025"], rng.randint(0, 3)
            ),
            "status": status,
            "published_at": None if status == "draft" else self._stamp(created),
            "created_at": self._stamp(created),
            "updated_at": self._stamp(updated),
            "variants": variants,
            "options": options,
        }

    def line_item(self, rng: random.Random, item_id: int) -> dict[str, Any]:
        product = self.product(int(rng.random() * self.spec.products))
        variants = product["variants"]
        variant = variants[int(rng.random() * len(variants))]
        return {
            "id": item_id,
            "product_id": product["id"],
            "variant_id": variant["id"],
            "title": product["title"],
            "variant_title": variant["title"],
            "sku": variant["sku"],
            "vendor": product["vendor"],
            "quantity": _pick(rng.random(), QUANTITIES),
            "price": variant["price"],
        }

    # customers, orders and checkouts --------------------------------------------------------

    def _name(self, rng: random.Random) -> tuple[str | None, str | None]:
        roll = rng.random()
        if roll < 0.08:
            return None, None
        japanese = rng.random() < (0.75 if self.currency == "JPY" else 0.2)
        first = rng.choice(JP_GIVEN if japanese else EN_GIVEN)
        last = rng.choice(JP_FAMILY if japanese else EN_FAMILY)
        if roll < 0.12:
            return first, None
        return first, last

    def _bundle(self, i: int) -> Bundle:
        rng = random.Random(_mix(self.seed, 2, i))
        number = CUSTOMER_BASE + i + 1
        created = START + timedelta(seconds=rng.random() * SPAN * 0.9)
        first, last = self._name(rng)
        has_email = rng.random() < 0.9
        email = f"Customer.{i + 1}@Example.com" if i % 97 == 0 else f"c{i + 1}@example.com"
        if self.currency == "JPY":
            phone = f"+8190{_mix(self.seed, 7, i) % 10**8:08d}"
        else:
            phone = f"+1555{_mix(self.seed, 7, i) % 10**7:07d}"
        state = _pick(rng.random(), STATES)
        tags = rng.sample(TAGS, _pick(rng.random(), TAG_COUNTS))

        orders = []
        moments = sorted(
            created + timedelta(seconds=rng.random() * (END - created).total_seconds())
            for _ in range(self.orders_count(i))
        )
        for k, moment in enumerate(moments):
            position = i * ORDER_SLOTS + k
            items = [
                self.line_item(rng, LINE_ITEM_BASE + position * 32 + m)
                for m in range(self.order_lines_count(position))
            ]
            total = sum((Decimal(x["price"]) * x["quantity"] for x in items), Decimal(0))
            financial = _pick(rng.random(), FINANCIAL)
            cancelled = financial == "voided" or rng.random() < 0.03
            current = {
                "refunded": Decimal(0),
                "voided": Decimal(0),
                "partially_refunded": total / 2,
            }.get(financial, total)
            fulfilled = None if cancelled else _pick(rng.random(), FULFILLMENT)
            stamp = self._stamp(moment)
            changed = moment + timedelta(hours=rng.randint(0, 72))
            orders.append(
                {
                    "id": ORDER_BASE + position,
                    "name": f"#{1001 + position}",
                    "customer_id": number,
                    "email": email if has_email else None,
                    "currency": self.currency,
                    "processed_at": stamp,
                    "created_at": stamp,
                    "updated_at": self._stamp(min(changed, END)),
                    "cancelled_at": self._stamp(moment + timedelta(hours=2))
                    if cancelled
                    else None,
                    "cancel_reason": "customer" if cancelled else None,
                    "financial_status": financial,
                    "fulfillment_status": fulfilled,
                    "total_price": format_money(total, self.currency),
                    "current_total_price": format_money(current, self.currency),
                    "line_items": items,
                }
            )

        checkouts = []
        for k in range(self.checkouts_count(i)):
            position = i * CHECKOUT_SLOTS + k
            token = f"{_mix(self.seed, 8, position):016x}{_mix(self.seed, 9, position):016x}"
            completed_order = orders[-1] if orders and rng.random() < 0.4 and k == 0 else None
            if completed_order:
                begun = datetime.fromisoformat(str(completed_order["processed_at"])) - timedelta(
                    hours=rng.randint(2, 96)
                )
                completed_order["checkout_token"] = token
                completed_at = completed_order["processed_at"]
            else:
                begun = created + timedelta(seconds=rng.random() * (END - created).total_seconds())
                completed_at = None
            items = [
                self.line_item(rng, CHECKOUT_LINE_BASE + position * 32 + m)
                for m in range(self.checkout_lines_count(position))
            ]
            total = sum((Decimal(x["price"]) * x["quantity"] for x in items), Decimal(0))
            checkouts.append(
                {
                    "id": CHECKOUT_BASE + position,
                    "token": token,
                    "cart_token": token[:24],
                    "customer_id": number,
                    "currency": self.currency,
                    "total_price": format_money(total, self.currency),
                    "created_at": self._stamp(begun),
                    "updated_at": completed_at or self._stamp(begun + timedelta(minutes=30)),
                    "completed_at": completed_at,
                    "abandoned_checkout_url": (
                        f"https://{{shop}}/checkouts/{token}/recover?key=k{i}"
                    ),
                    "email": email if has_email else None,
                    "phone": phone,
                    "line_items": items,
                }
            )

        last_change = max(
            [created] + [datetime.fromisoformat(str(o["updated_at"])) for o in orders]
        )
        customer = {
            "id": number,
            "first_name": first,
            "last_name": last,
            "email": email if has_email else None,
            "phone": phone if rng.random() < 0.6 else None,
            "tags": tags,
            "state": state,
            "currency": self.currency,
            "created_at": self._stamp(created),
            "updated_at": self._stamp(last_change + timedelta(minutes=5)),
            "country_code": "JP" if self.currency == "JPY" else "US",
        }
        return customer, orders, checkouts

    def customer(self, i: int) -> dict[str, Any]:
        return self.bundle(i)[0]

    def customer_stats(self, i: int) -> CustomerStats:
        _, orders, _ = self.bundle(i)
        spent = sum(
            (Decimal(o["current_total_price"]) for o in orders if not o["cancelled_at"]),
            Decimal(0),
        )
        last = orders[-1] if orders else None
        return CustomerStats(len(orders), format_money(spent, self.currency), last)

    def cart(self, n: int) -> dict[str, Any]:
        """An online-store cart, as `carts/create` carries it (no customer)."""
        rng = random.Random(_mix(self.seed, 10, n))
        token = f"c1-{_mix(self.seed, 11, n):016x}"
        moment = START + timedelta(seconds=rng.random() * SPAN)
        items = []
        for m in range(rng.randint(1, 3)):
            item = self.line_item(rng, 8_800_000_000_000 + n * 8 + m)
            item["key"] = f"{item['variant_id']}:{token[-8:]}"
            item["line_price"] = format_money(
                Decimal(item["price"]) * item["quantity"], self.currency
            )
            items.append(item)
        return {
            "id": token,
            "token": token,
            "note": None,
            "line_items": items,
            "created_at": self._stamp(moment),
            "updated_at": self._stamp(moment + timedelta(minutes=5)),
        }


class GeneratedShop(ShopData):
    """A generated shop served lazily: pages and bulk JSONL computed as they are read."""

    def __init__(self, domain: str, spec: StoreSpec, *, name: str | None = None) -> None:
        super().__init__()
        self.domain = domain
        self.name = name or domain.split(".")[0]
        self.spec = spec
        self.generator = StoreGenerator(spec)
        self.currency = spec.currency
        self.timezone = spec.timezone
        self._counts: dict[str, int] = {}
        self.deleted: set[tuple[str, int]] = set()

    def iter_records(self, kind: str, after: int | None = None) -> Iterator[tuple[int, dict]]:
        gen = self.generator
        start = -1 if after is None else after
        if kind == "customers":
            for i in range(start + 1, self.spec.customers):
                yield i, gen.customer(i)
        elif kind == "products":
            for j in range(start + 1, self.spec.products):
                yield j, gen.product(j)
        elif kind in ("orders", "checkouts"):
            slots = ORDER_SLOTS if kind == "orders" else CHECKOUT_SLOTS
            counter = gen.orders_count if kind == "orders" else gen.checkouts_count
            first = max(0, (start + 1) // slots)
            for i in range(first, self.spec.customers):
                if counter(i) == 0:
                    continue
                bundle = gen.bundle(i)
                records = bundle[1] if kind == "orders" else bundle[2]
                for k, record in enumerate(records):
                    position = i * slots + k
                    if position > start:
                        yield position, record
        else:
            raise KeyError(kind)

    def get_record(self, kind: str, number: int) -> dict[str, Any] | None:
        gen = self.generator
        if kind == "customers":
            i = number - CUSTOMER_BASE - 1
            return gen.customer(i) if 0 <= i < self.spec.customers else None
        if kind == "products":
            j = number - PRODUCT_BASE - 1
            return gen.product(j) if 0 <= j < self.spec.products else None
        base, slots, index = (
            (ORDER_BASE, ORDER_SLOTS, 1)
            if kind == "orders"
            else (CHECKOUT_BASE, CHECKOUT_SLOTS, 2)
        )
        i, k = divmod(number - base, slots)
        if not 0 <= i < self.spec.customers:
            return None
        bundle = gen.bundle(i)
        records = bundle[1] if index == 1 else bundle[2]
        return records[k] if k < len(records) else None

    def count_records(self, kind: str) -> int:
        if kind not in self._counts:
            gen = self.generator
            n = self.spec.customers
            self._counts[kind] = {
                "customers": lambda: n,
                "products": lambda: self.spec.products,
                "orders": lambda: sum(gen.orders_count(i) for i in range(n)),
                "checkouts": lambda: sum(gen.checkouts_count(i) for i in range(n)),
            }[kind]()
        return self._counts[kind]

    def customer_stats(self, customer_id: int) -> CustomerStats:
        return self.generator.customer_stats(customer_id - CUSTOMER_BASE - 1)

    def count_children(self, kind: str, child: str) -> int | None:
        """Children of every record of a kind, counted without building records."""
        gen = self.generator
        n = self.spec.customers
        if kind == "orders" and child == "lineItems":
            return sum(
                gen.order_lines_count(i * ORDER_SLOTS + k)
                for i in range(n)
                for k in range(gen.orders_count(i))
            )
        if kind == "checkouts" and child == "lineItems":
            return sum(
                gen.checkout_lines_count(i * CHECKOUT_SLOTS + k)
                for i in range(n)
                for k in range(gen.checkouts_count(i))
            )
        if kind == "products" and child == "variants":
            return sum(gen.variant_count(j) for j in range(self.spec.products))
        return None

    def materialize(self) -> ShopStore:
        """Copy a small generated shop into an editable in-memory `ShopStore`."""
        store = ShopStore(
            self.domain, name=self.name, currency=self.currency, timezone=self.timezone
        )
        store.load(**generate_records(self.spec))
        return store


def generate_records(spec: StoreSpec) -> dict[str, Iterator[dict[str, Any]]]:
    """Iterables of neutral-shape records for `ShopStore.load(**...)`."""
    gen = StoreGenerator(spec)

    def each(kind: int) -> Iterator[dict[str, Any]]:
        for i in range(spec.customers):
            bundle = gen.bundle(i)
            yield from bundle[1] if kind == 1 else bundle[2]

    return {
        "products": (gen.product(j) for j in range(spec.products)),
        "customers": (gen.customer(i) for i in range(spec.customers)),
        "orders": each(1),
        "checkouts": each(2),
    }
