"""The retailer's rows into invoices per customer, with its quirks counted and set aside.

Rules, applied to each row in file order (a row is counted under the first that applies):

1. duplicate_row: same invoice, stock code, quantity, time, price, customer and country as an
   earlier row (double-scanned lines); the first copy is kept.
2. missing_customer_id: no CustomerID, so no customer to attach the order to.
3. adjustment_invoice: invoice numbers starting with A (bad-debt adjustments).
4. non_product_code: a stock code that is not five digits plus an optional letter suffix
   (POST, DOT, M, C2, D, S, AMAZONFEE, BANK CHARGES, CRUK, PADS, DCGS..., gift_0001_...).
5. zero_or_negative_price.
6. negative_quantity_outside_cancellation: warehouse write-offs on ordinary invoices.
7. positive_quantity_in_cancellation.

Cancellation invoices (C...) do not name the order they cancel. Each of their lines is matched
to the same customer's most recent earlier purchases of the same stock code, newest first, until
its quantity is used up; a line that matches nothing is skipped as cancellation_unmatched. The
matched quantities become refunds on those orders (refunded at the order's own price).
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from lumo.sandbox.demo_data.money import parse_milli
from lumo.sandbox.demo_data.sources import RetailInput, RetailRow, stock_key

logger = logging.getLogger(__name__)

PRODUCT_CODE = re.compile(r"\d{5}[A-Z]{0,3}")


@dataclass(slots=True)
class PurchaseLine:
    code: str
    quantity: int
    price_milli: int


@dataclass(slots=True)
class Refund:
    cancellation: str
    time: datetime
    items: list[tuple[int, int]]


@dataclass(slots=True)
class Invoice:
    number: str
    customer: int
    time: datetime
    lines: list[PurchaseLine] = field(default_factory=list)
    refunds: list[Refund] = field(default_factory=list)

    @property
    def amount_milli(self) -> int:
        return sum(line.quantity * line.price_milli for line in self.lines)

    @property
    def refunded_milli(self) -> int:
        return sum(
            quantity * self.lines[index].price_milli
            for refund in self.refunds
            for index, quantity in refund.items
        )

    @property
    def fully_refunded(self) -> bool:
        refunded = sum(quantity for refund in self.refunds for _, quantity in refund.items)
        return refunded >= sum(line.quantity for line in self.lines)


@dataclass
class RetailCustomer:
    number: int
    first_seen: datetime
    countries: Counter[str] = field(default_factory=Counter)
    invoices: list[Invoice] = field(default_factory=list)
    refunded_any: bool = False

    @property
    def country(self) -> str:
        return self.countries.most_common(1)[0][0] if self.countries else ""

    @property
    def net_spend_milli(self) -> int:
        return sum(invoice.amount_milli - invoice.refunded_milli for invoice in self.invoices)


@dataclass
class Transactions:
    """Cleaned invoices and customers, plus the figures for the load report."""

    customers: list[RetailCustomer]
    invoices: list[Invoice]
    descriptions: dict[str, str]
    skipped: Counter[str]
    rows_read: int
    files_read: int
    invoices_read: int
    cancellation_invoices: int
    purchase_rows: int
    cancellation_rows_applied: int
    first_time: datetime
    last_time: datetime


@dataclass(slots=True)
class _CancelLine:
    code: str
    quantity: int


@dataclass(slots=True)
class _Cancellation:
    number: str
    customer: int
    time: datetime
    lines: list[_CancelLine] = field(default_factory=list)


def clean_transactions(data: RetailInput) -> Transactions:
    """Applies the rules in this module's docstring to every row."""
    if not data.rows:
        raise ValueError("The retail input has no rows; the demo store needs some invoices.")
    skipped: Counter[str] = Counter()
    skipped["malformed_row"] += data.malformed
    seen: set[RetailRow] = set()
    times: dict[str, datetime] = {}
    invoices: dict[str, Invoice] = {}
    cancellations: dict[str, _Cancellation] = {}
    customers: dict[int, RetailCustomer] = {}
    numbers_read: set[str] = set()
    purchase_rows = 0

    # Few distinct codes, prices and customers: parse each once.
    codes: dict[str, str | None] = {}
    prices: dict[str, int] = {}
    for row in data.rows:
        invoice_no, code_text, quantity_text, when, price_text, customer_text, country = row
        numbers_read.add(invoice_no)
        if row in seen:
            skipped["duplicate_row"] += 1
            continue
        seen.add(row)
        if not customer_text:
            skipped["missing_customer_id"] += 1
            continue
        if invoice_no[0] == "A":
            skipped["adjustment_invoice"] += 1
            continue
        if code_text in codes:
            code = codes[code_text]
        else:
            key = stock_key(code_text)
            code = codes[code_text] = key if PRODUCT_CODE.fullmatch(key) else None
        if code is None:
            skipped["non_product_code"] += 1
            continue
        try:
            quantity = int(quantity_text)
            price = prices.get(price_text)
            if price is None:
                price = prices[price_text] = parse_milli(price_text)
            time = times.get(when)
            if time is None:
                time = times[when] = datetime.fromisoformat(when)
            customer_no = int(customer_text)
            int(invoice_no.lstrip("C"))
        except ValueError:
            skipped["malformed_row"] += 1
            continue
        if price <= 0:
            skipped["zero_or_negative_price"] += 1
            continue
        is_cancellation = invoice_no[0] == "C"
        if is_cancellation and quantity >= 0:
            skipped["positive_quantity_in_cancellation"] += 1
            continue
        if not is_cancellation and quantity <= 0:
            skipped["negative_quantity_outside_cancellation"] += 1
            continue

        customer = customers.get(customer_no)
        if customer is None:
            customer = customers[customer_no] = RetailCustomer(customer_no, time)
        customer.countries[country] += 1
        if time < customer.first_seen:
            customer.first_seen = time
        if is_cancellation:
            cancellation = cancellations.get(invoice_no)
            if cancellation is None:
                cancellation = _Cancellation(invoice_no, customer_no, time)
                cancellations[invoice_no] = cancellation
            elif time < cancellation.time:
                cancellation.time = time
            cancellation.lines.append(_CancelLine(code, -quantity))
            continue
        invoice = invoices.get(invoice_no)
        if invoice is None:
            invoice = invoices[invoice_no] = Invoice(invoice_no, customer_no, time)
            customer.invoices.append(invoice)
        elif time < invoice.time:
            invoice.time = time
        invoice.lines.append(PurchaseLine(code, quantity, price))
        purchase_rows += 1

    applied = _apply_cancellations(customers, cancellations.values(), skipped)
    for customer in customers.values():
        customer.invoices.sort(key=lambda invoice: (invoice.time, invoice.number))
        customer.refunded_any = any(invoice.refunds for invoice in customer.invoices)

    all_times = list(times.values())
    ordered = sorted(
        customers.values(), key=lambda customer: (customer.first_seen, customer.number)
    )
    result = Transactions(
        customers=ordered,
        invoices=sorted(invoices.values(), key=lambda invoice: (invoice.time, invoice.number)),
        descriptions=data.descriptions,
        skipped=skipped,
        rows_read=len(data.rows) + data.malformed,
        files_read=data.files,
        invoices_read=len(numbers_read),
        cancellation_invoices=sum(1 for number in numbers_read if number.startswith("C")),
        purchase_rows=purchase_rows,
        cancellation_rows_applied=applied,
        first_time=min(all_times) if all_times else datetime(2011, 1, 1),
        last_time=max(all_times) if all_times else datetime(2011, 1, 1),
    )
    logger.info(
        "retail rows: %d read, %d purchase rows, %d cancellation rows applied, %d skipped",
        result.rows_read,
        purchase_rows,
        applied,
        sum(skipped.values()),
    )
    return result


def _apply_cancellations(
    customers: dict[int, RetailCustomer],
    pending: Iterable[_Cancellation],
    skipped: Counter[str],
) -> int:
    """Turns cancellation lines into refunds on the customer's latest earlier purchases."""
    cancellations = sorted(pending, key=lambda item: (item.time, item.number))
    wanted = {(item.customer, line.code) for item in cancellations for line in item.lines}
    # (customer, stock code) -> [(invoice, line index)], oldest first, for cancelled codes only
    bought: dict[tuple[int, str], list[tuple[Invoice, int]]] = {}
    for number in {customer for customer, _ in wanted}:
        customer = customers[number]
        for invoice in sorted(customer.invoices, key=lambda item: (item.time, item.number)):
            for index, line in enumerate(invoice.lines):
                key = (number, line.code)
                if key in wanted:
                    bought.setdefault(key, []).append((invoice, index))
    left: dict[tuple[str, int], int] = {}

    applied = 0
    for cancellation in cancellations:
        refunds: dict[str, Refund] = {}
        for cancel_line in cancellation.lines:
            need = cancel_line.quantity
            for invoice, index in reversed(
                bought.get((cancellation.customer, cancel_line.code), [])
            ):
                if need == 0:
                    break
                if invoice.time > cancellation.time:
                    continue
                line_key = (invoice.number, index)
                remaining = left.get(line_key, invoice.lines[index].quantity)
                if remaining <= 0:
                    continue
                taken = min(remaining, need)
                left[line_key] = remaining - taken
                need -= taken
                refund = refunds.get(invoice.number)
                if refund is None:
                    refund = Refund(cancellation.number, cancellation.time, [])
                    refunds[invoice.number] = refund
                    invoice.refunds.append(refund)
                refund.items.append((index, taken))
            if need == cancel_line.quantity:
                skipped["cancellation_unmatched"] += 1
            else:
                applied += 1
    return applied
