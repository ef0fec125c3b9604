"""load_demo_store: the demo Shopify store, assembled from the catalogs and the invoices."""

from __future__ import annotations

import logging
import time
from datetime import datetime
from functools import lru_cache
from typing import Any

from lumo.sandbox.demo_data import checkouts, sources
from lumo.sandbox.demo_data.catalog import Catalog, parse_catalog
from lumo.sandbox.demo_data.customers import customer_tags, identity, vip_numbers
from lumo.sandbox.demo_data.money import JPY_PER_GBP, Money
from lumo.sandbox.demo_data.records import (
    Context,
    checkout_record,
    customer_record,
    order_record,
    product_record,
)
from lumo.sandbox.demo_data.stock_codes import VariantMap
from lumo.sandbox.demo_data.store import SKIP_REASONS, DemoStore, LoadReport
from lumo.sandbox.demo_data.timeline import Timeline
from lumo.sandbox.demo_data.transactions import Transactions, clean_transactions

logger = logging.getLogger(__name__)


def load_demo_store(
    *,
    customers: int | None = None,
    now: datetime | None = None,
    currency: str = "JPY",
    source: str = "compact",
) -> DemoStore:
    """The demo store as Shopify-shaped dicts.

    customers: keep only the first N customers (by first purchase) and their orders/checkouts.
    now: the instant the data's last invoice should land just before (default: the clock;
    a naive datetime is taken as UTC). currency: "JPY" (default, a Japanese LINE merchant's
    store, converted at a fixed JPY_PER_GBP) or "GBP" (the source's own prices).
    source: "compact" (files in this package) or "shared" (../shared/data, only if asked).
    """
    started = time.perf_counter()
    sources.check_source(source)
    money = Money(currency)
    if customers is not None and customers < 0:
        raise ValueError("customers must be 0 or more, or None for every customer.")

    catalog, transactions, variants = _inputs(source, str(_folder(source)))
    timeline = Timeline(transactions.last_time, now, currency)
    ctx = Context(money, timeline, variants, transactions.last_time)
    vips = vip_numbers(transactions.customers)

    products = [
        product_record(product, position, ctx, transactions.first_time)
        for position, product in enumerate(catalog.products)
    ]
    chosen = transactions.customers if customers is None else transactions.customers[:customers]
    customer_rows: list[dict[str, Any]] = []
    orders: list[dict[str, Any]] = []
    checkout_rows: list[dict[str, Any]] = []
    for customer in chosen:
        person = identity(customer.number)
        own_orders = [order_record(invoice, ctx) for invoice in customer.invoices]
        tags = customer_tags(customer, vips)
        customer_rows.append(customer_record(customer, person, tags, own_orders, ctx))
        orders.extend(own_orders)
        if checkouts.abandons(customer):
            created, updated = checkouts.abandoned_at(customer, transactions.last_time)
            basket = checkouts.usual_basket(customer)
            checkout_rows.append(checkout_record(customer, person, basket, created, updated, ctx))
    orders.sort(key=lambda order: (order["created_at"], order["id"]))
    checkout_rows.sort(key=lambda checkout: (checkout["created_at"], checkout["id"]))

    report = _report(source, money, timeline, catalog, transactions)
    report.products = len(products)
    report.variants = sum(len(product["variants"]) for product in products)
    report.customers = len(customer_rows)
    report.orders = len(orders)
    report.orders_cancelled = sum(1 for order in orders if order["cancelled_at"])
    report.orders_partially_refunded = sum(
        1 for order in orders if order["financial_status"] == "partially_refunded"
    )
    report.line_items = sum(len(order["line_items"]) for order in orders)
    report.checkouts = len(checkout_rows)
    logger.info(
        "demo store from %s: %d products, %d customers, %d orders, %d checkouts, "
        "%d of %d rows skipped, in %.2f s",
        source,
        report.products,
        report.customers,
        report.orders,
        report.checkouts,
        report.skipped_total,
        report.rows_read,
        time.perf_counter() - started,
    )
    return DemoStore(products, customer_rows, orders, checkout_rows, report)


def clear_cache() -> None:
    """Forget parsed input, e.g. after the compact files were rebuilt."""
    _inputs.cache_clear()


def _folder(source: str) -> object:
    return sources.SHARED_DATA_DIR if source == "shared" else sources.COMPACT_DIR


@lru_cache(maxsize=4)
def _inputs(source: str, folder: str) -> tuple[Catalog, Transactions, VariantMap]:
    """Parsed once per source and folder; the records built from them are new on every load."""
    catalog = parse_catalog(sources.read_catalog(source))
    transactions = clean_transactions(sources.read_retail(source))
    return catalog, transactions, VariantMap(catalog.products, transactions.descriptions)


def _report(
    source: str, money: Money, timeline: Timeline, catalog: Catalog, data: Transactions
) -> LoadReport:
    skipped = {reason: data.skipped.get(reason, 0) for reason in SKIP_REASONS}
    return LoadReport(
        source=source,
        currency=money.currency,
        jpy_per_gbp=JPY_PER_GBP,
        now=timeline.now.isoformat(),
        shift_days=timeline.shift_days,
        files_read=data.files_read,
        rows_read=data.rows_read,
        purchase_rows=data.purchase_rows,
        cancellation_rows_applied=data.cancellation_rows_applied,
        skipped=skipped,
        invoices_read=data.invoices_read,
        cancellation_invoices=data.cancellation_invoices,
        catalog_rows_read=catalog.rows_read,
        catalog_image_rows=catalog.image_rows,
        customers_available=len(data.customers),
    )
