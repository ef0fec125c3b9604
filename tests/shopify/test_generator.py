"""The store generator: deterministic, lazy, and full of the quirks real stores have."""

from __future__ import annotations

from decimal import Decimal

from lumo.sandbox.shopify_store import ShopStore
from lumo.sandbox.store_generator import GeneratedShop, StoreGenerator, StoreSpec


def test_same_seed_same_store():
    a = StoreGenerator(StoreSpec(seed=5, customers=500))
    b = StoreGenerator(StoreSpec(seed=5, customers=500))
    for i in (0, 17, 499):
        assert a.bundle(i) == b.bundle(i)
    assert a.product(3) == b.product(3)
    assert a.cart(2) == b.cart(2)
    assert StoreGenerator(StoreSpec(seed=6, customers=500)).bundle(17) != a.bundle(17)


def test_records_do_not_depend_on_what_was_generated_before():
    spec = StoreSpec(seed=9, customers=1_000_000)
    forward = StoreGenerator(spec)
    [forward.bundle(i) for i in range(5)]
    assert StoreGenerator(spec).bundle(4) == forward.bundle(4)
    assert StoreGenerator(spec).bundle(999_999)[0]["id"] == 6_100_000_000_000 + 1_000_000


def test_quirks_are_present():
    shop = GeneratedShop("q.myshopify.com", StoreSpec(seed=2, customers=2000))
    customers = [r for _, r in shop.iter_records("customers")]
    orders = [r for _, r in shop.iter_records("orders")]
    products = [r for _, r in shop.iter_records("products")]
    checkouts = [r for _, r in shop.iter_records("checkouts")]

    assert any(c["first_name"] is None and c["last_name"] is None for c in customers)
    assert any(c["last_name"] and not c["last_name"].isascii() for c in customers)
    assert any(c["last_name"] and c["last_name"].isascii() for c in customers)
    assert {c["state"] for c in customers} >= {"enabled", "disabled", "invited"}
    assert any(" " in t for c in customers for t in c["tags"])
    assert any(t != t.lower() for c in customers for t in c["tags"])
    assert any(shop.customer_stats(c["id"]).orders_count == 0 for c in customers)
    assert any(o["cancelled_at"] for o in orders)
    assert {o["financial_status"] for o in orders} >= {"refunded", "partially_refunded"}
    assert any(len(p["variants"]) >= 20 for p in products)
    assert any(c["completed_at"] for c in checkouts)
    assert any(not c["completed_at"] for c in checkouts)
    assert all("." not in o["total_price"] for o in orders)  # JPY has no decimals
    assert all(o["processed_at"].endswith("+09:00") for o in orders)
    assert 2.5 < len(orders) / len(customers) < 3.5


def test_usd_shop_uses_cents_and_new_york_time():
    gen = StoreGenerator(StoreSpec(seed=1, customers=50, currency="USD"))
    order = next(o for i in range(50) for o in gen.bundle(i)[1])
    assert Decimal(order["total_price"]).as_tuple().exponent == -2
    assert order["processed_at"][-6:] in ("-05:00", "-04:00")


def test_materialised_shop_matches_the_lazy_one():
    lazy = GeneratedShop("m.myshopify.com", StoreSpec(seed=4, customers=60))
    store = lazy.materialize()
    assert isinstance(store, ShopStore)
    for kind in ("customers", "orders", "products", "checkouts"):
        assert [r for _, r in store.iter_records(kind)] == sorted(
            (r for _, r in lazy.iter_records(kind)), key=lambda r: r["id"]
        )
        assert store.count_records(kind) == lazy.count_records(kind)


def test_lazy_paging_resumes_from_any_position():
    shop = GeneratedShop("p.myshopify.com", StoreSpec(seed=4, customers=80))
    everything = list(shop.iter_records("orders"))
    middle = everything[len(everything) // 2][0]
    assert list(shop.iter_records("orders", after=middle)) == [
        pair for pair in everything if pair[0] > middle
    ]
