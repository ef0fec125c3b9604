"""Ready-made `build` functions for the common shapes of Segment fields.

Plugins combine these with their own tables: a column of the friend or of the linked customer,
a list of labels (tags), or a function over rows that belong to a customer (orders, checkouts).
Each returns a strict true/false expression and keeps the workspace filter.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, not_, select

from lumo.segments.compiler import CompileContext, among, holds_for
from lumo.segments.fields import CUSTOMER, FRIEND, Builder, FieldType
from lumo.segments.model import Condition, FunctionCondition, Op


def friend_column(name: str, kind: FieldType) -> Builder:
    """A condition on one column of `line_friends`; enum values are stored as declared."""

    def build(context: CompileContext, condition: Condition) -> ColumnElement[bool]:
        column = context.friends.c[name]
        if kind is FieldType.STRING:
            return context.friend_where(context.compare_text(column, condition))
        return context.friend_where(context.compare(column, condition, kind))

    return build


def customer_column(
    column_of: Callable[[CompileContext], Any],
    kind: FieldType,
    *,
    fold: Callable[[Any], Any] = func.lower,
) -> Builder:
    """A condition on an expression over the linked customer's row (`shopify_customers`)."""

    def build(context: CompileContext, condition: Condition) -> ColumnElement[bool]:
        column = column_of(context)
        if kind in (FieldType.ENUM, FieldType.STRING):
            test = context.compare_text(column, condition, fold=fold)
        else:
            test = context.compare(column, condition, kind)
        return context.customer_where(context.in_workspace(context.customers), test)

    return build


def label_list(
    ids_with: Callable[[CompileContext, str | None], Select[Any]], subject: str
) -> Builder:
    """A list field (`CONTAINS`, `NOT CONTAINS`, `IS SET`, `IS NOT SET`) over labels.

    `ids_with(context, key)` selects the friend ids (subject "friend") or customer Shopify
    ids (subject "customer") carrying the lowercased label `key`, or any label when None.
    """

    def build(context: CompileContext, condition: Condition) -> ColumnElement[bool]:
        value = condition.value
        key = value.lower() if isinstance(value, str) else None
        ids = ids_with(context, key)
        positive = condition.op in (Op.CONTAINS, Op.IS_SET)
        if subject == FRIEND:
            if positive:
                return context.friend_in(ids)
            return context.friend_where(not_(among(context.friends.c.id, ids)))
        if positive:
            return context.customer_in(ids)
        return and_(context.has_customer(), not_(context.customer_in(ids)))

    return build


@dataclass(frozen=True)
class Aggregate:
    """A function parameter tested on a group of rows, like `count` or `sum_amount`."""

    expression: Callable[[], Any]
    empty_value: int | Decimal = 0


#: The test of a function called without an aggregate parameter.
AT_LEAST_ONE = Condition("count", Op.GE, 1)


def customer_rows_function(
    key: Callable[[CompileContext], Any],
    source: Callable[[CompileContext, FunctionCondition], Any],
    base_criteria: Callable[[CompileContext], Sequence[ColumnElement[bool]]],
    row_params: Mapping[str, Callable[[CompileContext, Condition], ColumnElement[bool]]],
    aggregates: Mapping[str, Callable[[CompileContext], Aggregate]],
    default: Condition = AT_LEAST_ONE,
) -> Builder:
    """A `MATCHES (…)` function over rows belonging to a customer (orders, checkouts …).

    Row parameters (`date`, `amount` …) filter the rows; aggregate parameters (`count`,
    `sum_amount`) test each customer's group; without any aggregate, `default` applies
    (`count >= 1`). A test that holds for a customer with no rows at all (`count = 0`) also
    matches linked customers without rows. `NOT MATCHES` is a linked customer for whom the
    function does not match.
    """

    def build(context: CompileContext, function: FunctionCondition) -> ColumnElement[bool]:
        criteria = list(base_criteria(context))
        tests: list[tuple[Aggregate, Condition]] = []
        for param in function.params:
            if param.field in row_params:
                criteria.append(row_params[param.field](context, param))
            else:
                tests.append((aggregates[param.field](context), param))
        if not tests:
            tests.append((aggregates[default.field](context), default))

        def having(positive: bool) -> ColumnElement[bool]:
            combined = and_(
                *(
                    context.compare(
                        aggregate.expression(), param, FieldType.NUMBER, nullable=False
                    )
                    for aggregate, param in tests
                )
            )
            return combined if positive else not_(combined)

        zero = all(holds_for(p.op, p.value, a.empty_value) for a, p in tests)
        any_row = len(tests) == 1 and _at_least_one(tests[0][1])
        matched = context.customer_aggregate(
            key(context), criteria, having, zero, join=source(context, function), any_row=any_row
        )
        if function.matches:
            return matched
        return and_(context.has_customer(), not_(matched))

    return build


def _at_least_one(param: Condition) -> bool:
    """`count >= 1` / `count > 0`: the same as "some row matches", which needs no grouping."""
    return param.field == "count" and (
        (param.op is Op.GE and param.value == 1) or (param.op is Op.GT and param.value == 0)
    )


def count_rows() -> Aggregate:
    return Aggregate(lambda: func.count())


__all__ = [
    "CUSTOMER",
    "FRIEND",
    "Aggregate",
    "count_rows",
    "customer_display",
    "customer_column",
    "customer_rows_function",
    "friend_column",
    "label_list",
]


def customer_display(column_of: Callable[[CompileContext], Any]) -> Callable[..., Any]:
    """A preview value read from the friend's linked customer row."""

    def display(context: CompileContext, _: Any) -> Any:
        return (
            select(column_of(context))
            .select_from(context.links.join(context.customers, _customer_join(context)))
            .where(
                context.in_workspace(context.links),
                context.links.c.friend_id == context.friends.c.id,
            )
            .scalar_subquery()
        )

    return display


def _customer_join(context: CompileContext) -> ColumnElement[bool]:
    return and_(
        context.customers.c.workspace_id == context.links.c.workspace_id,
        context.customers.c.shopify_id == context.links.c.customer_shopify_id,
    )
