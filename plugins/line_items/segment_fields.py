"""The `products_purchased` Segment function: what the linked customer bought, line by line."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import ColumnElement, Text, and_, cast, func, not_, or_

from lumo import hookimpl
from lumo.models import Order, OrderLineItem, Product
from lumo.segments.builders import Aggregate, customer_rows_function
from lumo.segments.compiler import CompileContext, escape_like
from lumo.segments.fields import FieldType, FunctionParam, SegmentField
from lumo.segments.model import Condition, Op

LINE_ITEMS = OrderLineItem.__table__
ORDERS = Order.__table__
PRODUCTS = Product.__table__
TEXT_OPS = frozenset({Op.EQ, Op.NE, Op.IN, Op.NOT_IN})


def purchases(with_products: bool = True) -> Any:
    """Line items joined to their order (for the customer and date) and to their product."""
    joined = LINE_ITEMS.join(
        ORDERS,
        and_(
            ORDERS.c.workspace_id == LINE_ITEMS.c.workspace_id,
            ORDERS.c.shopify_id == LINE_ITEMS.c.order_shopify_id,
        ),
    )
    if not with_products:
        return joined
    return joined.outerjoin(
        PRODUCTS,
        and_(
            PRODUCTS.c.workspace_id == LINE_ITEMS.c.workspace_id,
            PRODUCTS.c.shopify_id == LINE_ITEMS.c.product_shopify_id,
        ),
    )


def purchase_criteria(context: CompileContext) -> list[ColumnElement[bool]]:
    return [context.in_workspace(LINE_ITEMS), context.in_workspace(ORDERS)]


def json_list_has(column: Any, value: str) -> ColumnElement[bool]:
    """A JSON list of labels holds `value`, ignoring case, on SQLite and PostgreSQL alike.

    Matches the quoted element inside the stored JSON text, written either with or without
    escaped non-ASCII characters.
    """
    text = func.lower(cast(column, Text))
    lowered = value.lower()
    patterns = {json.dumps(lowered), json.dumps(lowered, ensure_ascii=False)}
    return and_(
        column.is_not(None),
        or_(*(text.like("%" + escape_like(p) + "%", escape="\\") for p in sorted(patterns))),
    )


def _tag(context: CompileContext, param: Condition) -> ColumnElement[bool]:
    assert isinstance(param.value, str)
    has = json_list_has(PRODUCTS.c.tags, param.value)
    return has if param.op is Op.EQ else and_(PRODUCTS.c.id.is_not(None), not_(has))


def _text(column: Any) -> Any:
    return lambda context, param: context.compare_text(column, param)


def _id(context: CompileContext, param: Condition) -> ColumnElement[bool]:
    return context.compare(LINE_ITEMS.c.product_shopify_id, param, FieldType.INTEGER)


def _date(context: CompileContext, param: Condition) -> ColumnElement[bool]:
    return context.compare(ORDERS.c.ordered_at, param, FieldType.DATE)


ROW_PARAMS = {
    "id": _id,
    "tag": _tag,
    "product_title": _text(LINE_ITEMS.c.product_title),
    "product_type": _text(PRODUCTS.c.product_type),
    "vendor": _text(PRODUCTS.c.vendor),
    "date": _date,
}

PRODUCTS_PURCHASED = SegmentField(
    name="products_purchased",
    type=FieldType.FUNCTION,
    description=(
        "Products the linked customer bought: filter the order lines by product id, product "
        "tag, title, type, vendor or order date; count is the number of orders with such a "
        "line (default >= 1), sum_quantity the units bought."
    ),
    build=customer_rows_function(
        key=lambda context: ORDERS.c.customer_shopify_id,
        source=lambda context, function: purchases(),
        base_criteria=purchase_criteria,
        row_params=ROW_PARAMS,
        aggregates={
            "count": lambda context: Aggregate(lambda: func.count(ORDERS.c.id.distinct())),
            "sum_quantity": lambda context: Aggregate(
                lambda: func.coalesce(func.sum(LINE_ITEMS.c.quantity), 0)
            ),
        },
    ),
    synonyms=("bought", "purchased product", "product", "商品", "購入商品", "買った"),
    params=(
        FunctionParam(
            "id", FieldType.INTEGER, "The product's Shopify id.", frozenset({Op.EQ, Op.IN})
        ),
        FunctionParam("tag", FieldType.STRING, "A product tag.", frozenset({Op.EQ, Op.NE})),
        FunctionParam(
            "product_title",
            FieldType.STRING,
            "The product title (CONTAINS for part of it).",
            TEXT_OPS | {Op.CONTAINS},
        ),
        FunctionParam("product_type", FieldType.STRING, "The product type.", TEXT_OPS),
        FunctionParam("vendor", FieldType.STRING, "The product vendor.", TEXT_OPS),
        FunctionParam("date", FieldType.DATE, "When the order was placed."),
        FunctionParam("count", FieldType.INTEGER, "Orders with a matching line (default >= 1)."),
        FunctionParam("sum_quantity", FieldType.INTEGER, "Units bought on matching lines."),
    ),
    example="products_purchased MATCHES (tag = 'summer', date > -90d)",
)


@hookimpl
def lumo_segment_fields() -> list[SegmentField]:
    return [PRODUCTS_PURCHASED]
