"""The demo store loader: quirk handling, catalog parsing, ids, dates and usable segments."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from lumo.sandbox.demo_data import build, compact, ids, load_demo_store, sources
from lumo.sandbox.demo_data.sources import DemoDataMissing

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)

CATALOG_HEADER = [
    "Handle", "Title", "Body (HTML)", "Vendor", "Type", "Tags", "Published", "Option1 Name",
    "Option1 Value", "Option2 Name", "Option2 Value", "Option3 Name", "Option3 Value",
    "Variant SKU", "Variant Inventory Qty", "Variant Price", "Image Src",
]  # fmt: skip
CATALOGS = {
    "apparel": [
        ["canvas-tote", "Canvas Tote Bag", "<p>Tote</p>", "Acme", "Bags", "bag, canvas", "true",
         "Color", "Red", "", "", "", "", "", "3", "20.00", "https://img.test/1.jpg"],
        ["canvas-tote", "", "", "", "", "", "", "", "Blue", "", "", "", "", "", "0", "20.00", ""],
        ["canvas-tote", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "",
         "https://img.test/2.jpg"],
    ],
    "home-and-garden": [
        ["glass-lantern", "Glass Lantern", "", "Acme", "Indoor", "Light", "true", "Title",
         "Default Title", "", "", "", "", "", "5", "12.00", ""],
        ["cake-tin", "Cake Tin", "", "Acme", "Kitchen", "", "false", "Title", "Default Title",
         "", "", "", "", "", "1", "8.00", ""],
    ],
    "jewelery": [
        ["silver-ring", "Silver Ring", "", "Acme", "Ring", "Silver", "true", "Size", "7",
         "Finish", "Matte", "", "", "RING-7M", "2", "30.00", ""],
        ["silver-ring", "", "", "", "", "", "", "", "7", "", "Gloss", "", "", "", "1", "32.00",
         ""],
        ["silver-ring", "", "", "", "", "", "", "", "8", "", "Matte", "", "", "", "0", "30.00",
         ""],
        ["silver-ring", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "",
         "https://img.test/3.jpg"],
    ],
}  # fmt: skip
RETAIL_HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country"
DAY_ONE = """\
536001,85123A,WHITE HEART T-LIGHT HOLDER,6,2011-01-03 09:00:00,2.55,17850.0,United Kingdom
536001,85123A,WHITE HEART T-LIGHT HOLDER,6,2011-01-03 09:00:00,2.55,17850.0,United Kingdom
536001,71053,WHITE METAL LANTERN,4,2011-01-03 09:00:00,3.39,17850.0,United Kingdom
536001,POST,POSTAGE,1,2011-01-03 09:00:00,18.00,17850.0,United Kingdom
536001,BANK CHARGES,Bank Charges,1,2011-01-03 09:00:00,15.00,17850.0,United Kingdom
536002,22423,REGENCY CAKESTAND 3 TIER,2,2011-01-03 10:00:00,12.75,,United Kingdom
536003,22424,ENAMEL BREAD BIN,1,2011-01-03 11:00:00,0.00,12583.0,France
536003,85099B,JUMBO BAG RED RETROSPOT,10,2011-01-03 11:00:00,1.95,12583.0,France
536004,22426,,-20,2011-01-03 12:00:00,0,,United Kingdom
536005,22427,?,-5,2011-01-03 12:30:00,1.00,12583.0,France
A536006,B,Adjust bad debt,1,2011-01-03 13:00:00,-11062.06,,United Kingdom
A536007,B,Adjust bad debt,1,2011-01-03 13:05:00,-100.00,12583.0,France
C536008,85123A,WHITE HEART T-LIGHT HOLDER,-2,2011-01-03 15:00:00,2.55,17850.0,United Kingdom
C536009,99999,MYSTERY ITEM,-3,2011-01-03 15:10:00,1.00,17850.0,United Kingdom
536013,21212,PACK OF 72 RETROSPOT CAKE CASES,3,2011-01-03 16:00:00,0.55,13000.0,Germany
536016,22423,short row
"""
DAY_TWO = """\
536010,85099B,JUMBO BAG RED RETROSPOT,5,2011-01-05 10:00:00,1.95,12583.0,France
C536011,85099B,JUMBO BAG RED RETROSPOT,-5,2011-01-05 11:00:00,1.95,12583.0,France
C536014,21212,PACK OF 72 RETROSPOT CAKE CASES,-3,2011-01-05 12:00:00,0.55,13000.0,Germany
C536015,21212,PACK OF 72 RETROSPOT CAKE CASES,-1,2011-01-05 12:30:00,0.55,14000.0,Germany
536018,85123a,WHITE HEART T-LIGHT HOLDER,2,2011-01-05 17:00:00,2.55,17850.0,United Kingdom
"""


def write_shared(root: Path) -> Path:
    """A miniature ../shared/data with the same layout and formats as the real one."""
    products = root / "shopify-sample-products"
    by_day = root / "online-retail-uci" / "by-day"
    products.mkdir(parents=True)
    by_day.mkdir(parents=True)
    for name, rows in CATALOGS.items():
        with (products / f"{name}.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(CATALOG_HEADER)
            writer.writerows(rows)
    (by_day / "2011-01-03.csv").write_text(f"{RETAIL_HEADER}\n{DAY_ONE}", encoding="utf-8")
    (by_day / "2011-01-05.csv").write_text(f"{RETAIL_HEADER}\n{DAY_TWO}", encoding="utf-8")
    return root


@pytest.fixture
def shared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    root = write_shared(tmp_path / "shared")
    monkeypatch.setattr(sources, "SHARED_DATA_DIR", root)
    build.clear_cache()
    yield root
    build.clear_cache()


@pytest.fixture(scope="module")
def full_store() -> Any:
    """The whole compact demo store, loaded once for the module."""
    return load_demo_store(now=NOW)


def order_named(store: Any, name: str) -> dict[str, Any]:
    return next(order for order in store.orders if order["name"] == name)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


# --- quirks, on a hand-written fixture --------------------------------------------------------


def test_report_counts_every_quirk_under_its_reason(shared: Path) -> None:
    report = load_demo_store(source="shared", now=NOW).report

    assert report.rows_read == 21
    assert report.files_read == 2
    assert report.skipped == {
        "malformed_row": 1,
        "duplicate_row": 1,
        "missing_customer_id": 3,
        "adjustment_invoice": 1,
        "non_product_code": 2,
        "zero_or_negative_price": 1,
        "negative_quantity_outside_cancellation": 1,
        "positive_quantity_in_cancellation": 0,
        "cancellation_unmatched": 2,
    }
    assert report.skipped_total == 12
    assert report.purchase_rows == 6
    assert report.cancellation_rows_applied == 3
    assert report.invoices_read == 15
    assert report.cancellation_invoices == 5
    assert (report.customers, report.orders) == (4, 5)
    assert (report.orders_cancelled, report.orders_partially_refunded) == (2, 1)


def test_skipped_rows_leave_no_trace_in_orders(shared: Path) -> None:
    store = load_demo_store(source="shared", now=NOW, currency="GBP")

    names = {order["name"] for order in store.orders}
    assert names == {"#536001", "#536003", "#536010", "#536013", "#536018"}
    skus = {item["sku"] for order in store.orders for item in order["line_items"]}
    assert not skus & {"POST", "BANK CHARGES", "B"}
    # The duplicate 85123A row is dropped; 85123A and the lantern are both the Glass Lantern.
    lantern = order_named(store, "#536001")["line_items"]
    assert [(item["title"], item["quantity"]) for item in lantern] == [("Glass Lantern", 10)]


def test_cancellations_become_refunds_or_cancelled_orders(shared: Path) -> None:
    store = load_demo_store(source="shared", now=NOW, currency="GBP")

    partial = order_named(store, "#536001")
    assert partial["financial_status"] == "partially_refunded"
    assert partial["cancelled_at"] is None
    # 6 x 2.55 + 4 x 3.39 = 28.86 over 10 units -> 2.89 each; 2 units refunded.
    assert (partial["total_price"], partial["current_total_price"]) == ("28.90", "23.12")
    [refund] = partial["refunds"]
    assert refund["refund_line_items"][0]["quantity"] == 2
    assert refund["refund_line_items"][0]["line_item_id"] == partial["line_items"][0]["id"]

    same_day = order_named(store, "#536010")  # C536011 the same day: the newest purchase
    assert same_day["financial_status"] == "voided"
    assert same_day["cancelled_at"] is not None
    assert same_day["current_total_price"] == "0.00"
    assert order_named(store, "#536003")["financial_status"] == "paid"

    later = order_named(store, "#536013")  # cancelled two days later
    assert later["financial_status"] == "refunded"
    assert at(later["cancelled_at"]) - at(later["created_at"]) == timedelta(hours=44)


def test_customer_with_only_unmatched_cancellations_has_no_orders(shared: Path) -> None:
    store = load_demo_store(source="shared", now=NOW)

    customer = next(c for c in store.customers if c["id"] == ids.customer_id(14000))
    assert (customer["orders_count"], customer["total_spent"]) == (0, "0")
    assert customer["last_order_id"] is None
    assert customer["country_code"] == "DE"


def test_customers_come_in_order_of_first_purchase_with_their_orders(shared: Path) -> None:
    store = load_demo_store(source="shared", now=NOW)
    assert [c["id"] - ids.CUSTOMER_BASE for c in store.customers] == [17850, 12583, 13000, 14000]

    first_two = load_demo_store(source="shared", now=NOW, customers=2)
    assert first_two.customers == store.customers[:2]
    kept = {c["id"] for c in first_two.customers}
    assert first_two.orders == [o for o in store.orders if o["customer_id"] in kept]
    assert first_two.report.customers_available == 4


def test_jpy_converts_at_the_fixed_rate_without_decimals(shared: Path) -> None:
    store = load_demo_store(source="shared", now=NOW)

    order = order_named(store, "#536018")  # 2 x 2.55 GBP -> 2 x 485 JPY (484.5 rounded up)
    assert order["currency"] == "JPY"
    assert order["line_items"][0]["price"] == "485"
    assert order["total_price"] == "970"
    lantern = next(p for p in store.products if p["handle"] == "glass-lantern")
    assert lantern["variants"][0]["price"] == "2280"  # 12.00 x 190
    with pytest.raises(ValueError, match="JPY"):
        load_demo_store(source="shared", now=NOW, currency="USD")


# --- catalog ----------------------------------------------------------------------------------


def test_multi_row_products_collect_their_variants(shared: Path) -> None:
    store = load_demo_store(source="shared", now=NOW)
    products = {p["handle"]: p for p in store.products}

    ring = products["silver-ring"]
    assert [v["title"] for v in ring["variants"]] == ["7 / Matte", "7 / Gloss", "8 / Matte"]
    assert ring["options"] == [
        {"name": "Size", "values": ["7", "8"]},
        {"name": "Finish", "values": ["Matte", "Gloss"]},
    ]
    assert ring["variants"][0]["sku"] == "RING-7M"
    assert ring["variants"][1]["sku"] == "SILVER-RING-7-GLOSS"  # blank SKU filled in
    assert [v["inventory_quantity"] for v in ring["variants"]] == [2, 1, 0]
    assert products["canvas-tote"]["tags"] == ["bag", "canvas"]
    assert len(products["canvas-tote"]["variants"]) == 2
    assert products["cake-tin"]["status"] == "draft"
    assert products["cake-tin"]["published_at"] is None
    assert store.report.catalog_image_rows == 2


def test_draft_products_are_never_sold(shared: Path) -> None:
    store = load_demo_store(source="shared", now=NOW)
    cake_tin = ids.product_id("cake-tin")
    assert all(i["product_id"] != cake_tin for o in store.orders for i in o["line_items"])


def test_sample_catalog_variant_counts(full_store: Any) -> None:
    store = full_store
    products = {p["handle"]: p for p in store.products}

    assert (len(store.products), store.report.variants) == (60, 66)
    assert [v["option1"] for v in products["classic-varsity-top"]["variants"]] == [
        "Small",
        "Medium",
        "Large",
    ]
    assert len(products["leather-anchor"]["variants"]) == 2  # its third row is an image
    assert products["gemstone"]["options"] == [{"name": "Colour", "values": ["Blue", "Purple"]}]


# --- determinism and dates --------------------------------------------------------------------


def test_ids_do_not_depend_on_now_or_currency(shared: Path) -> None:
    one = load_demo_store(source="shared", now=NOW)
    build.clear_cache()
    two = load_demo_store(source="shared", now=NOW + timedelta(days=40), currency="GBP")

    def all_ids(store: Any) -> list[int]:
        found = [p["id"] for p in store.products] + [c["id"] for c in store.customers]
        found += [o["id"] for o in store.orders]
        found += [i["id"] for o in store.orders for i in o["line_items"]]
        return found + [v["id"] for p in store.products for v in p["variants"]]

    assert all_ids(one) == all_ids(two)
    assert len(set(all_ids(one))) == len(all_ids(one))
    assert one.products[0]["id"] == ids.product_id(one.products[0]["handle"])
    assert order_named(one, "#536001")["id"] == ids.ORDER_BASE + 536001


def test_dates_shift_so_the_last_invoice_is_just_before_now(shared: Path) -> None:
    evening = load_demo_store(source="shared", now=NOW)  # 21:00 in Tokyo
    assert evening.orders[-1]["created_at"] == "2026-03-10T17:00:00+09:00"
    assert evening.orders[0]["created_at"] == "2026-03-08T09:00:00+09:00"

    morning = load_demo_store(source="shared", now=datetime(2026, 3, 10, 5, tzinfo=UTC))
    assert morning.orders[-1]["created_at"] == "2026-03-09T17:00:00+09:00"
    assert morning.report.shift_days == evening.report.shift_days - 1

    london = load_demo_store(source="shared", now=NOW, currency="GBP")
    assert london.orders[-1]["created_at"] == "2026-03-09T17:00:00+00:00"

    naive = load_demo_store(source="shared", now=NOW.replace(tzinfo=None))
    assert naive.orders == evening.orders


# --- compact files ----------------------------------------------------------------------------


def test_compact_files_load_without_shared(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sources, "SHARED_DATA_DIR", tmp_path / "no-shared-here")
    build.clear_cache()

    store = load_demo_store(now=NOW, customers=20)
    assert len(store.customers) == 20
    assert store.report.source == "compact"
    with pytest.raises(DemoDataMissing, match="source='compact'"):
        load_demo_store(source="shared", now=NOW)


def test_compact_rebuild_gives_the_same_store(
    shared: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "compact"
    out.mkdir()
    sizes = compact.write_compact(shared, out)
    assert set(sizes) == {
        "catalog-apparel.csv.gz",
        "catalog-home-and-garden.csv.gz",
        "catalog-jewelery.csv.gz",
        "transactions.csv.gz",
        "stock_codes.csv.gz",
    }
    monkeypatch.setattr(sources, "COMPACT_DIR", out)

    from_compact = load_demo_store(now=NOW)
    from_shared = load_demo_store(source="shared", now=NOW)
    assert from_compact.orders == from_shared.orders
    assert from_compact.customers == from_shared.customers
    assert from_compact.products == from_shared.products
    # Malformed rows cannot be kept in the compact columns; the real data has none.
    assert from_compact.report.skipped == {**from_shared.report.skipped, "malformed_row": 0}


def test_compact_files_stay_small() -> None:
    files = list(sources.COMPACT_DIR.glob("*.gz"))
    assert len(files) == 5
    assert sum(path.stat().st_size for path in files) < 3_000_000
    assert (sources.COMPACT_DIR / "SOURCE.md").read_text(encoding="utf-8").count("CC BY 4.0") >= 1


# --- the whole demo store ---------------------------------------------------------------------


def test_full_report_matches_the_source_figures(full_store: Any) -> None:
    report = full_store.report
    assert report.rows_read == 320_705
    assert report.invoices_read == 16_459
    assert report.cancellation_invoices == 2_554
    assert report.skipped["duplicate_row"] == 2_484
    assert report.skipped["missing_customer_id"] == 88_619
    assert report.customers_available == report.customers > 3_000
    assert report.purchase_rows + report.cancellation_rows_applied + report.skipped_total == (
        report.rows_read
    )


def test_full_store_has_frequent_lapsed_and_big_spender_groups(full_store: Any) -> None:
    since = NOW - timedelta(days=90)
    orders_by_customer: dict[int, list[dict[str, Any]]] = {}
    for order in full_store.orders:
        if order["cancelled_at"] is None:
            orders_by_customer.setdefault(order["customer_id"], []).append(order)

    recent = {cid: [o for o in orders if at(o["created_at"]) >= since]
              for cid, orders in orders_by_customer.items()}  # fmt: skip
    frequent = [cid for cid, orders in recent.items() if len(orders) >= 3]
    lapsed = [cid for cid, orders in recent.items() if not orders]
    spent = sorted((float(c["total_spent"]), c["id"]) for c in full_store.customers)
    top = spent[-len(spent) // 10 :]
    vip = {c["id"] for c in full_store.customers if "vip" in {t.lower() for t in c["tags"]}}

    assert len(frequent) > 100
    assert len(lapsed) > 500
    assert top[0][0] > 3 * spent[len(spent) // 2][0]  # big spenders really spend more
    assert len(vip & {cid for _, cid in top}) >= 0.9 * len(vip)
    assert all(at(o["created_at"]) <= NOW for o in full_store.orders)
    assert at(full_store.orders[-1]["created_at"]) > NOW - timedelta(days=1)


def test_full_store_tags_have_casing_quirks(full_store: Any) -> None:
    tags = {tag for customer in full_store.customers for tag in customer["tags"]}
    assert {"VIP", "vip"} <= tags
    assert {"UK", "uk"} <= tags
    assert tags & {"wholesale", "Wholesale", "WHOLESALE"}


def test_full_store_has_abandoned_checkouts_of_known_customers(full_store: Any) -> None:
    customers = {c["id"] for c in full_store.customers}
    checkouts = full_store.checkouts
    assert len(checkouts) > 100
    assert all(c["completed_at"] is None and c["customer_id"] in customers for c in checkouts)
    assert all(at(c["created_at"]) <= NOW - timedelta(hours=1) for c in checkouts)
    assert all(c["line_items"] and int(c["total_price"]) > 0 for c in checkouts)
    assert len({c["token"] for c in checkouts}) == len(checkouts)


def test_every_order_references_catalog_variants(full_store: Any) -> None:
    variants = {(p["id"], v["id"]) for p in full_store.products for v in p["variants"]}
    items = [i for o in full_store.orders for i in o["line_items"]]
    assert {(i["product_id"], i["variant_id"]) for i in items} <= variants
    for order in full_store.orders[:500]:
        total = sum(int(i["price"]) * i["quantity"] for i in order["line_items"])
        assert int(order["total_price"]) == total


@pytest.mark.slow
@pytest.mark.skipif(
    not (sources.SHARED_DATA_DIR / "online-retail-uci" / "by-day").is_dir(),
    reason="../shared/data is not present",
)
def test_shared_source_gives_the_same_store_as_compact(full_store: Any) -> None:
    shared = load_demo_store(source="shared", now=NOW)
    assert shared.report.files_read == 219
    assert shared.report.skipped == full_store.report.skipped
    assert shared.orders == full_store.orders
    assert shared.customers == full_store.customers
    assert shared.checkouts == full_store.checkouts
