"""Segment fields about abandoned checkouts (カゴ落ち) of the linked customer.

A checkout counts as abandoned once it is at least an hour old; it is recovered when it was
completed later. `abandoned_checkout_date` looks at the latest checkout not recovered.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import ColumnElement, and_, func, not_, select

from lumo import hookimpl
from lumo.models import AbandonedCheckout
from lumo.segments.builders import Aggregate, count_rows, customer_rows_function
from lumo.segments.compiler import CompileContext
from lumo.segments.fields import FieldType, FunctionParam, SegmentField
from lumo.segments.model import Condition, FunctionCondition, Op

CHECKOUTS = AbandonedCheckout.__table__
#: How old an unfinished checkout must be before it counts as abandoned.
ABANDONED_AFTER = timedelta(hours=1)


def abandoned(context: CompileContext) -> list[ColumnElement[bool]]:
    return [
        context.in_workspace(CHECKOUTS),
        CHECKOUTS.c.customer_shopify_id.is_not(None),
        CHECKOUTS.c.created_at <= context.now - ABANDONED_AFTER,
    ]


def _latest_date(context: CompileContext, condition: Condition) -> ColumnElement[bool]:
    key = CHECKOUTS.c.customer_shopify_id
    rows = select(key).where(*abandoned(context), CHECKOUTS.c.completed_at.is_(None))
    if condition.op is Op.IS_SET:
        return context.customer_in(rows)
    if condition.op is Op.IS_NOT_SET:
        return and_(context.has_customer(), not_(context.customer_in(rows)))
    if condition.op in (Op.GT, Op.GE):
        # The latest is after a moment exactly when any one is: no grouping needed.
        return context.customer_in(
            rows.where(context.compare(CHECKOUTS.c.created_at, condition, FieldType.DATE))
        )
    latest = context.compare(func.max(CHECKOUTS.c.created_at), condition, FieldType.DATE)
    return context.customer_in(rows.group_by(key).having(latest))


def _recovered(context: CompileContext, param: Condition) -> ColumnElement[bool]:
    wanted = param.value if param.op is Op.EQ else not param.value
    column = CHECKOUTS.c.completed_at
    return column.is_not(None) if wanted else column.is_(None)


_checkouts_matching = customer_rows_function(
    key=lambda context: CHECKOUTS.c.customer_shopify_id,
    source=lambda context, function: CHECKOUTS,
    base_criteria=abandoned,
    row_params={
        "date": lambda context, p: context.compare(CHECKOUTS.c.created_at, p, FieldType.DATE),
        "amount": lambda context, p: context.compare(CHECKOUTS.c.total_price, p, FieldType.NUMBER),
        "recovered": _recovered,
    },
    aggregates={
        "count": lambda context: count_rows(),
        "sum_amount": lambda context: Aggregate(
            lambda: func.coalesce(func.sum(CHECKOUTS.c.total_price), 0)
        ),
    },
)


def _abandoned_checkouts(
    context: CompileContext, function: FunctionCondition
) -> ColumnElement[bool]:
    if not any(param.field == "recovered" for param in function.params):
        params = (*function.params, Condition("recovered", Op.EQ, False))
        function = FunctionCondition(function.function, params, function.matches)
    return _checkouts_matching(context, function)


FIELDS = [
    SegmentField(
        name="abandoned_checkout_date",
        type=FieldType.DATE,
        description="When the linked customer last abandoned a checkout that is not recovered.",
        build=_latest_date,
        synonyms=("abandoned cart", "cart abandonment", "カゴ落ち", "カート放棄", "購入途中離脱"),
        example="abandoned_checkout_date > -7d",
    ),
    SegmentField(
        name="abandoned_checkouts",
        type=FieldType.FUNCTION,
        description=(
            "Abandoned checkouts of the linked customer, by date, value and whether they were "
            "recovered (default: not recovered); count defaults to >= 1."
        ),
        build=_abandoned_checkouts,
        synonyms=("abandoned checkout", "カゴ落ち", "かご落ち", "カート放棄"),
        params=(
            FunctionParam("date", FieldType.DATE, "When the checkout was started."),
            FunctionParam("amount", FieldType.NUMBER, "The checkout's total."),
            FunctionParam(
                "recovered",
                FieldType.BOOLEAN,
                "Whether it was completed later (default false).",
            ),
            FunctionParam("count", FieldType.INTEGER, "How many match (default >= 1)."),
            FunctionParam("sum_amount", FieldType.NUMBER, "Sum of the matching totals."),
        ),
        example="abandoned_checkouts MATCHES (date > -7d, amount >= 5000)",
    ),
]


@hookimpl
def lumo_segment_fields() -> list[SegmentField]:
    return list(FIELDS)
