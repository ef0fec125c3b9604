"""What load_demo_store returns: the records and an account of what was read and skipped."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# Why a source row did not become part of an order, in the order the checks run: a row is
# counted under the first reason that applies.
SKIP_REASONS = (
    "malformed_row",
    "duplicate_row",
    "missing_customer_id",
    "adjustment_invoice",
    "non_product_code",
    "zero_or_negative_price",
    "negative_quantity_outside_cancellation",
    "positive_quantity_in_cancellation",
    "cancellation_unmatched",
)


@dataclass
class LoadReport:
    """Counts of a demo store load: source rows, skips per reason, and records produced."""

    source: str = "compact"
    currency: str = "JPY"
    jpy_per_gbp: int = 0
    now: str = ""
    shift_days: int = 0
    files_read: int = 0
    rows_read: int = 0
    purchase_rows: int = 0
    cancellation_rows_applied: int = 0
    skipped: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SKIP_REASONS, 0))
    invoices_read: int = 0
    cancellation_invoices: int = 0
    catalog_rows_read: int = 0
    catalog_image_rows: int = 0
    products: int = 0
    variants: int = 0
    customers_available: int = 0
    customers: int = 0
    orders: int = 0
    orders_cancelled: int = 0
    orders_partially_refunded: int = 0
    line_items: int = 0
    checkouts: int = 0

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["skipped_total"] = self.skipped_total
        return data


@dataclass
class DemoStore:
    """A whole Shopify store as plain dicts in the neutral record shape."""

    products: list[dict[str, Any]]
    customers: list[dict[str, Any]]
    orders: list[dict[str, Any]]
    checkouts: list[dict[str, Any]]
    report: LoadReport
