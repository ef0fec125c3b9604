"""The `orders_placed` Segment function: orders of the linked customer, filtered and counted."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, func, select

from lumo import hookimpl
from lumo.models import Order
from lumo.segments.builders import Aggregate, count_rows, customer_rows_function
from lumo.segments.compiler import CompileContext
from lumo.segments.fields import FieldType, FunctionParam, SegmentField
from lumo.segments.model import Condition, FunctionCondition

ORDERS = Order.__table__


def _date(context: CompileContext, param: Condition) -> ColumnElement[bool]:
    return context.compare(ORDERS.c.ordered_at, param, FieldType.DATE)


def _amount(context: CompileContext, param: Condition) -> ColumnElement[bool]:
    return context.compare(ORDERS.c.total_price, param, FieldType.NUMBER)


def _sum_amount(context: CompileContext) -> Aggregate:
    return Aggregate(lambda: func.coalesce(func.sum(ORDERS.c.total_price), 0))


def _matching_orders(context: CompileContext, function: FunctionCondition) -> Any:
    """Preview: how many of the linked customer's orders pass the row parameters."""
    links = context.links
    criteria = [
        _ROW_PARAMS[param.field](context, param)
        for param in function.params
        if param.field in _ROW_PARAMS
    ]
    return (
        select(func.count())
        .select_from(
            ORDERS.join(links, links.c.customer_shopify_id == ORDERS.c.customer_shopify_id)
        )
        .where(
            context.in_workspace(ORDERS),
            context.in_workspace(links),
            links.c.friend_id == context.friends.c.id,
            *criteria,
        )
        .scalar_subquery()
    )


_ROW_PARAMS = {"date": _date, "amount": _amount}

ORDERS_PLACED = SegmentField(
    name="orders_placed",
    type=FieldType.FUNCTION,
    description=(
        "Orders the linked customer placed, filtered by date and order total and then counted "
        "(count) or summed (sum_amount); with neither, at least one order must match."
    ),
    build=customer_rows_function(
        key=lambda context: ORDERS.c.customer_shopify_id,
        source=lambda context, function: ORDERS,
        base_criteria=lambda context: [context.in_workspace(ORDERS)],
        row_params=_ROW_PARAMS,
        aggregates={"count": lambda context: count_rows(), "sum_amount": _sum_amount},
    ),
    synonyms=("orders", "purchased", "bought", "frequent buyer", "購入", "注文", "常連"),
    params=(
        FunctionParam("date", FieldType.DATE, "When the order was placed."),
        FunctionParam("amount", FieldType.NUMBER, "The order's total."),
        FunctionParam("count", FieldType.INTEGER, "How many orders match (default >= 1)."),
        FunctionParam("sum_amount", FieldType.NUMBER, "The sum of the matching orders' totals."),
    ),
    display=_matching_orders,
    example="orders_placed MATCHES (count >= 3, date > -90d)",
)


@hookimpl
def lumo_segment_fields() -> list[SegmentField]:
    return [ORDERS_PLACED]
