"""Abandoned checkouts: a share of customers' usual baskets that never became an order."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from lumo.sandbox.demo_data.ids import stable_hash
from lumo.sandbox.demo_data.transactions import PurchaseLine, RetailCustomer

# About one buying customer in eight left a checkout in the last three weeks of the data.
ABANDON_SHARE_PERCENT = 12
WINDOW = timedelta(days=21)
MIN_AGE = timedelta(hours=2)


def abandons(customer: RetailCustomer) -> bool:
    return (
        bool(customer.invoices)
        and stable_hash("abandon", customer.number) % 100 < ABANDON_SHARE_PERCENT
    )


def usual_basket(customer: RetailCustomer) -> list[PurchaseLine]:
    """One to four of the customer's most bought items, at their latest quantity and price."""
    times_bought: Counter[str] = Counter()
    latest: dict[str, PurchaseLine] = {}
    for invoice in customer.invoices:
        for code in {line.code for line in invoice.lines}:
            times_bought[code] += 1
        for line in invoice.lines:
            latest[line.code] = line
    size = 1 + stable_hash("basket", customer.number) % 4
    ranked = sorted(times_bought, key=lambda code: (-times_bought[code], code))
    return [latest[code] for code in ranked[:size]]


def abandoned_at(customer: RetailCustomer, last_time: datetime) -> tuple[datetime, datetime]:
    """When the checkout was started and last touched: after their last order, before the end."""
    end = last_time - MIN_AGE
    start = max(customer.invoices[-1].time + timedelta(days=1), last_time - WINDOW)
    if start >= end:
        start = end - timedelta(hours=6)
    span = int((end - start).total_seconds() // 60)
    h = stable_hash("abandoned-at", customer.number)
    created = start + timedelta(minutes=h % max(span, 1))
    updated = min(created + timedelta(minutes=(h >> 20) % 40), end)
    return created, updated
