"""Turns a validated Segment into one SQL statement over `line_friends`.

Semantics (also in docs for marketers):

- A Segment selects friends of one workspace. Every table a condition reads is filtered on
  that workspace; values are always bound parameters.
- A customer condition (tags, orders, carts …) holds when the friend is linked to a Shopify
  customer (`customer_friend_links`) for whom it holds. Unlinked friends fail every customer
  condition, including negative operators: `customer_tags NOT CONTAINS 'staff'` is "linked
  customers without the tag" and `orders_placed NOT MATCHES (…)` is "linked customers for
  whom it does not match".
- `NOT` negates the whole condition: `NOT customer_tags CONTAINS 'staff'` is every friend
  except linked customers with the tag, unlinked friends included.
- Every condition compiles to a strict true/false (never SQL NULL), so AND / OR / NOT follow
  plain logic. A value that is not set fails every comparison; `IS NOT SET` finds it.
- Each condition becomes `line_friends.id IN (uncorrelated subquery)` or a test on the friend
  row; PostgreSQL runs these as hash semi-joins or hashed subplans, SQLite as one-off indexes.

The same conditions can also be evaluated over Shopify customers (`subject="customer"`), which
`reachability` uses: there, friend conditions hold for a customer whose linked friend matches.
"""

from __future__ import annotations

import logging
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    and_,
    func,
    not_,
    or_,
    select,
    true,
)

from lumo.models import Customer, CustomerFriendLink, LineFriend
from lumo.segments.dates import date_bounds, local_today
from lumo.segments.fields import FieldType, SegmentFieldRegistry
from lumo.segments.model import (
    And,
    Condition,
    FunctionCondition,
    Node,
    Not,
    Op,
    Or,
    Segment,
)

logger = logging.getLogger(__name__)

Subject = Literal["friend", "customer"]

_SQL_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}

FRIENDS: Table = LineFriend.__table__  # type: ignore[assignment]
CUSTOMERS: Table = Customer.__table__  # type: ignore[assignment]
LINKS: Table = CustomerFriendLink.__table__  # type: ignore[assignment]


@dataclass
class CompileContext:
    """What a field's `build` function needs: the workspace, its clock and SQL helpers.

    `friends` is the row being selected when `subject` is "friend"; `customers` when it is
    "customer". Field builders should express themselves through `friend_where`,
    `friend_in`, `customer_where`, `customer_in` and `has_customer` so they work for both.
    """

    workspace_id: int
    zone: ZoneInfo
    now: datetime
    registry: SegmentFieldRegistry
    subject: Subject = "friend"
    friends: Table = field(default=FRIENDS)
    customers: Table = field(default=CUSTOMERS)
    links: Table = field(default=LINKS)

    @property
    def today(self) -> date:
        return local_today(self.now, self.zone)

    def in_workspace(self, table: Any) -> ColumnElement[bool]:
        return table.c.workspace_id == self.workspace_id  # type: ignore[no-any-return]

    # -- reaching the subject ---------------------------------------------------------------

    def friend_where(self, *criteria: ColumnElement[bool]) -> ColumnElement[bool]:
        """The friend row (`self.friends`) meets every criterion."""
        if self.subject == "friend":
            return and_(true(), *criteria)
        linked = (
            select(self.links.c.customer_shopify_id)
            .join(self.friends, self.friends.c.id == self.links.c.friend_id)
            .where(self.in_workspace(self.links), *criteria)
        )
        return self.customers.c.shopify_id.in_(linked)

    def friend_in(self, friend_ids: Select[Any]) -> ColumnElement[bool]:
        """The friend's id is among `friend_ids` (a non-NULL column of friend ids)."""
        return self.friend_where(self.friends.c.id.in_(friend_ids))

    def customer_where(self, *criteria: ColumnElement[bool]) -> ColumnElement[bool]:
        """The linked customer row (`self.customers`) meets every criterion."""
        if self.subject == "customer":
            return and_(true(), *criteria)
        matched = (
            select(self.links.c.friend_id)
            .join(
                self.customers,
                and_(
                    self.customers.c.workspace_id == self.links.c.workspace_id,
                    self.customers.c.shopify_id == self.links.c.customer_shopify_id,
                ),
            )
            .where(self.in_workspace(self.links), *criteria)
        )
        return self.friends.c.id.in_(matched)

    def customer_in(self, customer_ids: Select[Any]) -> ColumnElement[bool]:
        """The linked customer's Shopify id is among `customer_ids` (never NULL)."""
        if self.subject == "customer":
            return self.customers.c.shopify_id.in_(customer_ids)
        matched = select(self.links.c.friend_id).where(
            self.in_workspace(self.links), self.links.c.customer_shopify_id.in_(customer_ids)
        )
        return self.friends.c.id.in_(matched)

    def has_customer(self) -> ColumnElement[bool]:
        """The friend is linked to a synced Shopify customer."""
        return self.customer_where(self.in_workspace(self.customers))

    def customer_aggregate(
        self,
        key: Any,
        criteria: Sequence[ColumnElement[bool]],
        having: Callable[[bool], ColumnElement[bool]],
        zero_matches: bool,
        join: Any = None,
        any_row: bool = False,
    ) -> ColumnElement[bool]:
        """Customers whose rows (grouped by `key`) pass `having(True)`.

        When the aggregate test also holds for a customer without any row (`count = 0`,
        `count < 3`), the customers that fail it are excluded instead, so linked customers
        with no rows at all match too. `having(False)` must return the negated test. With
        `any_row` the test is "at least one row" and no grouping is needed.
        """
        base = select(key)
        if join is not None:
            base = base.select_from(join)
        base = base.where(key.is_not(None), *criteria)
        if any_row:
            return self.customer_in(base)
        base = base.group_by(key)
        if not zero_matches:
            return self.customer_in(base.having(having(True)))
        return and_(self.has_customer(), not_(self.customer_in(base.having(having(False)))))

    # -- comparisons ------------------------------------------------------------------------

    def compare(
        self, column: Any, condition: Condition, kind: FieldType, *, nullable: bool = True
    ) -> ColumnElement[bool]:
        """`column op value` for one typed condition, false when the column is NULL.

        Pass `nullable=False` for expressions that are never NULL (counts, coalesced sums)
        to leave the NULL test out of the SQL.
        """
        op, value = condition.op, condition.value
        if op is Op.IS_SET:
            return column.is_not(None)  # type: ignore[no-any-return]
        if op is Op.IS_NOT_SET:
            return column.is_(None)  # type: ignore[no-any-return]
        if kind is FieldType.DATE:
            return self.compare_date(column, op, value)
        test: ColumnElement[bool]
        if op is Op.BETWEEN:
            assert isinstance(value, tuple)
            test = and_(column >= value[0], column <= value[1])
        elif op is Op.IN:
            assert isinstance(value, tuple)
            test = column.in_(list(value))
        elif op is Op.NOT_IN:
            assert isinstance(value, tuple)
            test = column.not_in(list(value))
        else:
            test = _SQL_OPS[op.value](column, value)
        return and_(column.is_not(None), test) if nullable else test

    def compare_date(self, column: Any, op: Op, value: Any) -> ColumnElement[bool]:
        """A date condition as UTC bounds of whole local days (see `lumo.segments.dates`)."""
        bounds, negate = date_bounds(op, value, self.today, self.zone)
        test = and_(*(_SQL_OPS[sql_op](column, instant) for sql_op, instant in bounds))
        return and_(column.is_not(None), not_(test) if negate else test)

    def compare_text(
        self, column: Any, condition: Condition, *, fold: Callable[[Any], Any] = func.lower
    ) -> ColumnElement[bool]:
        """A case-insensitive text condition (`=`, `!=`, IN, NOT IN, CONTAINS as substring)."""
        op, value = condition.op, condition.value
        folded = fold(column)
        if op is Op.CONTAINS:
            assert isinstance(value, str)
            pattern = "%" + escape_like(value.lower()) + "%"
            return and_(column.is_not(None), func.lower(column).like(pattern, escape="\\"))
        return self.compare(folded, _folded(condition), FieldType.STRING)


def _folded(condition: Condition) -> Condition:
    value = condition.value
    if isinstance(value, tuple):
        value = tuple(v.lower() if isinstance(v, str) else v for v in value)
    elif isinstance(value, str):
        value = value.lower()
    return Condition(condition.field, condition.op, value)


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def holds_for(op: Op, value: Any, actual: int | Decimal) -> bool:
    """Whether a numeric condition holds for `actual` (used for "no rows at all" = 0)."""
    if op is Op.BETWEEN:
        return bool(value[0] <= actual <= value[1])
    if op is Op.IN:
        return actual in value
    if op is Op.NOT_IN:
        return actual not in value
    return bool(_SQL_OPS[op.value](actual, value))


# -- compiling the tree -----------------------------------------------------------------------


def compile_predicate(node: Node | None, context: CompileContext) -> ColumnElement[bool]:
    """The boolean SQL expression of a (validated) Segment tree over the subject row."""
    if node is None:
        return true()
    if isinstance(node, And):
        return and_(*(compile_predicate(child, context) for child in node.children))
    if isinstance(node, Or):
        return or_(*(compile_predicate(child, context) for child in node.children))
    if isinstance(node, Not):
        return not_(compile_predicate(node.child, context))
    name = node.function if isinstance(node, FunctionCondition) else node.field
    spec = context.registry.require(name, column=node.column)
    return spec.build(context, node)


def compile_segment(segment: Segment, context: CompileContext) -> Select[Any]:
    """`SELECT line_friends.id` for the Segment's members (or customer ids for customers)."""
    predicate = compile_predicate(segment.where, context)
    if context.subject == "customer":
        table = context.customers
        return select(table.c.shopify_id).where(context.in_workspace(table), predicate)
    table = context.friends
    return select(table.c.id).where(context.in_workspace(table), predicate)


def count_statement(segment: Segment, context: CompileContext) -> Select[Any]:
    """`SELECT count(*)` of the Segment's members, one statement."""
    predicate = compile_predicate(segment.where, context)
    table = context.customers if context.subject == "customer" else context.friends
    return select(func.count()).select_from(table).where(context.in_workspace(table), predicate)


def make_context(
    workspace_id: int,
    registry: SegmentFieldRegistry,
    *,
    timezone: str = "Asia/Tokyo",
    now: datetime | None = None,
    subject: Subject = "friend",
) -> CompileContext:
    """A context for one use of a Segment; `now` defaults to the current instant."""
    moment = now or datetime.now(UTC)
    if moment.tzinfo is None:
        raise ValueError("`now` must be an aware datetime")
    return CompileContext(workspace_id, ZoneInfo(timezone), moment, registry, subject)


__all__ = [
    "CompileContext",
    "compile_predicate",
    "compile_segment",
    "count_statement",
    "escape_like",
    "holds_for",
    "make_context",
]
