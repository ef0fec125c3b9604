"""Deterministic numeric ids and tokens, so every load of the demo store names things alike."""

from __future__ import annotations

import hashlib

# Bases keep each kind of record in its own range of 13-14 digit ids, like Shopify's.
PRODUCT_BASE = 8_100_000_000_000
VARIANT_BASE = 44_100_000_000_000
CUSTOMER_BASE = 6_200_000_000_000
ORDER_BASE = 5_100_000_000_000
LINE_ITEM_BASE = 14_000_000_000_000
REFUND_BASE = 9_300_000_000_000
CHECKOUT_BASE = 3_400_000_000_000
CHECKOUT_LINE_BASE = 15_000_000_000_000


def stable_hash(*parts: object) -> int:
    """A 64-bit hash of the parts that, unlike hash(), is the same in every process."""
    data = "\x1f".join(str(part) for part in parts).encode()
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")


def stable_token(*parts: object) -> str:
    """A 32-character hex token derived from the parts."""
    data = "\x1f".join(str(part) for part in parts).encode()
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def product_id(handle: str) -> int:
    return PRODUCT_BASE + stable_hash("product", handle) % 10**9


def variant_id(handle: str, position: int) -> int:
    return VARIANT_BASE + stable_hash("variant", handle, position) % 10**10


def customer_id(retail_customer: int) -> int:
    return CUSTOMER_BASE + retail_customer


def order_id(invoice_number: str) -> int:
    return ORDER_BASE + int(invoice_number)


def line_item_id(invoice_number: str, position: int) -> int:
    return LINE_ITEM_BASE + int(invoice_number) * 1000 + position


def refund_id(invoice_number: str, cancellation_number: str) -> int:
    # One refund per (order, cancellation invoice); a cancellation can touch several orders.
    return REFUND_BASE + stable_hash("refund", invoice_number, cancellation_number) % 10**11


def checkout_id(retail_customer: int) -> int:
    return CHECKOUT_BASE + retail_customer


def checkout_line_id(retail_customer: int, position: int) -> int:
    return CHECKOUT_LINE_BASE + retail_customer * 1000 + position
