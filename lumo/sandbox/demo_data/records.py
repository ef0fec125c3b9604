"""The neutral record shape (Shopify REST JSON) for products, customers, orders and checkouts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from lumo.sandbox.demo_data import ids
from lumo.sandbox.demo_data.catalog import CatalogProduct
from lumo.sandbox.demo_data.customers import COUNTRY_CODES, Identity
from lumo.sandbox.demo_data.money import Money
from lumo.sandbox.demo_data.stock_codes import VariantMap
from lumo.sandbox.demo_data.timeline import Timeline
from lumo.sandbox.demo_data.transactions import Invoice, PurchaseLine, RetailCustomer

CHECKOUT_URL = "https://lumo-demo-store.example/checkouts/{token}/recover?key={key}"
# Orders younger than this when the data ends are not shipped yet.
FULFILMENT_DELAY = timedelta(days=2)


@dataclass
class Context:
    """What every record needs: currency, clock, stock-code mapping and the data's last instant."""

    money: Money
    timeline: Timeline
    variants: VariantMap
    last_time: datetime


def product_record(
    product: CatalogProduct, position: int, ctx: Context, start: datetime
) -> dict[str, Any]:
    """A product created before the first invoice, in catalog order."""
    created = start - timedelta(days=45) + timedelta(hours=position)
    published = created + timedelta(hours=2) if product.published else None
    pid = ids.product_id(product.handle)
    variants = [
        {
            "id": ids.variant_id(product.handle, variant.position),
            "product_id": pid,
            "title": variant.title or "Default Title",
            "sku": variant.sku,
            "price": ctx.money.text(ctx.money.list_price(variant.price_milli)),
            "position": variant.position,
            "inventory_quantity": variant.inventory_quantity,
            "option1": variant.options[0],
            "option2": variant.options[1],
            "option3": variant.options[2],
        }
        for variant in product.variants
    ]
    options = [
        {
            "name": name,
            "values": list(dict.fromkeys(v.options[n] for v in product.variants if v.options[n])),
        }
        for n, name in enumerate(product.option_names)
    ]
    return {
        "id": pid,
        "title": product.title,
        "handle": product.handle,
        "body_html": product.body_html,
        "vendor": product.vendor,
        "product_type": product.product_type,
        "tags": list(product.tags),
        "status": product.status,
        "published_at": ctx.timeline.iso(published) if published else None,
        "created_at": ctx.timeline.iso(created),
        "updated_at": ctx.timeline.iso(published or created),
        "variants": variants,
        "options": options,
    }


class _Basket:
    """Source lines merged per catalog variant, as Shopify shows one line per variant."""

    def __init__(
        self, lines: list[PurchaseLine], ctx: Context, line_id: Callable[[int], int]
    ) -> None:
        # variant id -> [variant, quantity, amount in minor units]
        merged: dict[int, list[Any]] = {}
        self.line_of_source: list[int] = []
        unit_price = ctx.money.unit_price
        for line in lines:
            sold = ctx.variants.choose(line.code)
            entry = merged.get(sold.variant_id)
            if entry is None:
                entry = merged[sold.variant_id] = [sold, 0, 0]
            entry[1] += line.quantity
            entry[2] += unit_price(line.price_milli) * line.quantity
            self.line_of_source.append(sold.variant_id)
        self.items: list[dict[str, Any]] = []
        self.price_of: dict[int, int] = {}
        self.total = 0
        text = ctx.money.text
        for position, (sold, quantity, amount) in enumerate(merged.values(), start=1):
            price = (2 * amount + quantity) // (2 * quantity)
            self.price_of[sold.variant_id] = price
            self.total += price * quantity
            self.items.append(
                {
                    "id": line_id(position),
                    "product_id": sold.product_id,
                    "variant_id": sold.variant_id,
                    "title": sold.title,
                    "variant_title": sold.variant_title,
                    "sku": sold.sku,
                    "quantity": quantity,
                    "price": text(price),
                }
            )


def order_record(invoice: Invoice, ctx: Context) -> dict[str, Any]:
    """An order from an invoice; its matched cancellations become refunds or a cancellation."""
    basket = _Basket(invoice.lines, ctx, partial(ids.line_item_id, invoice.number))
    line_ids = {item["variant_id"]: item["id"] for item in basket.items}
    money, timeline = ctx.money, ctx.timeline

    refunds = []
    refunded = 0
    for refund in invoice.refunds:
        per_variant: dict[int, int] = {}
        for index, quantity in refund.items:
            vid = basket.line_of_source[index]
            per_variant[vid] = per_variant.get(vid, 0) + quantity
        subtotal = sum(basket.price_of[vid] * quantity for vid, quantity in per_variant.items())
        refunded += subtotal
        refunds.append(
            {
                "id": ids.refund_id(invoice.number, refund.cancellation),
                "created_at": timeline.iso(refund.time),
                "note": f"Cancellation {refund.cancellation}",
                "refund_line_items": [
                    {
                        "line_item_id": line_ids[vid],
                        "quantity": quantity,
                        "subtotal": money.text(basket.price_of[vid] * quantity),
                    }
                    for vid, quantity in per_variant.items()
                ],
            }
        )
    refunded = min(refunded, basket.total)

    cancelled_at = None
    financial_status = "paid"
    if invoice.refunds and invoice.fully_refunded:
        last = invoice.refunds[-1].time
        cancelled_at = timeline.iso(last)
        same_day = len(invoice.refunds) == 1 and last.date() == invoice.time.date()
        financial_status = "voided" if same_day else "refunded"
    elif invoice.refunds:
        financial_status = "partially_refunded"
    fresh = ctx.last_time - invoice.time < FULFILMENT_DELAY
    fulfillment_status = None if fresh or financial_status == "voided" else "fulfilled"
    updated = max([invoice.time, *(refund.time for refund in invoice.refunds)])
    created = timeline.iso(invoice.time)
    return {
        "id": ids.order_id(invoice.number),
        "name": f"#{invoice.number}",
        "customer_id": ids.customer_id(invoice.customer),
        "currency": money.currency,
        "processed_at": created,
        "created_at": created,
        "updated_at": timeline.iso(updated),
        "cancelled_at": cancelled_at,
        "cancel_reason": "customer" if cancelled_at else None,
        "financial_status": financial_status,
        "fulfillment_status": fulfillment_status,
        "total_price": money.text(basket.total),
        "current_total_price": money.text(0 if cancelled_at else basket.total - refunded),
        "line_items": basket.items,
        "refunds": refunds,
    }


def customer_record(
    customer: RetailCustomer,
    person: Identity,
    tags: list[str],
    orders: list[dict[str, Any]],
    ctx: Context,
) -> dict[str, Any]:
    """A customer created just before their first purchase, with Shopify's order summary."""
    created = customer.first_seen - timedelta(
        minutes=10 + ids.stable_hash("signup", customer.number) % 180
    )
    changes = [created, *(invoice.time for invoice in customer.invoices)]
    changes += [refund.time for invoice in customer.invoices for refund in invoice.refunds]
    kept = [order for order in orders if order["cancelled_at"] is None]
    spent = sum(_minor(order["current_total_price"], ctx.money) for order in kept)
    last_order = orders[-1] if orders else None
    return {
        "id": ids.customer_id(customer.number),
        "first_name": person.first_name,
        "last_name": person.last_name,
        "email": person.email,
        "phone": person.phone,
        "tags": tags,
        "state": person.state,
        "currency": ctx.money.currency,
        "created_at": ctx.timeline.iso(created),
        "updated_at": ctx.timeline.iso(max(changes)),
        "country_code": COUNTRY_CODES.get(customer.country),
        "orders_count": len(kept),
        "total_spent": ctx.money.text(spent),
        "last_order_id": last_order["id"] if last_order else None,
        "last_order_name": last_order["name"] if last_order else None,
    }


def checkout_record(
    customer: RetailCustomer,
    person: Identity,
    lines: list[PurchaseLine],
    created: datetime,
    updated: datetime,
    ctx: Context,
) -> dict[str, Any]:
    """An abandoned checkout: a basket the customer filled and never paid for."""
    basket = _Basket(lines, ctx, partial(ids.checkout_line_id, customer.number))
    token = ids.stable_token("checkout", customer.number)
    return {
        "id": ids.checkout_id(customer.number),
        "token": token,
        "cart_token": ids.stable_token("cart", customer.number),
        "customer_id": ids.customer_id(customer.number),
        "currency": ctx.money.currency,
        "total_price": ctx.money.text(basket.total),
        "created_at": ctx.timeline.iso(created),
        "updated_at": ctx.timeline.iso(updated),
        "completed_at": None,
        "abandoned_checkout_url": CHECKOUT_URL.format(
            token=token, key=ids.stable_token("recover", customer.number)
        ),
        "email": person.email,
        "phone": person.phone,
        "line_items": basket.items,
    }


def _minor(text: str, money: Money) -> int:
    if money.decimals == 0:
        return int(text)
    whole, _, cents = text.partition(".")
    return int(whole) * 100 + int(cents or 0)
