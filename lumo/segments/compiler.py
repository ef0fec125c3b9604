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
- A friend condition becomes a test on the friend row or an EXISTS over its rows. Customer
  conditions joined by AND / OR are compiled together, over the friend's link row: one
  `EXISTS (SELECT * FROM (SELECT friend_id FROM customer_friend_links WHERE … AND EXISTS (…)
  AND …))`. A friend has at most one link per workspace (`ux_links_ws_friend`) and every
  customer condition fails without one, so "some link passes A and B" is "some link passes A
  and some link passes B"; the planner can then start from the most selective condition and
  reach the friend through the link indexes instead of joining friends to links once per
  condition. `NOT` stays outside these groups.
- Set membership is always `EXISTS`, never `IN (subquery)` (see `among`): PostgreSQL turns
  EXISTS and NOT EXISTS into semi- and anti-joins, SQLite into index probes per row.

The same conditions can also be evaluated over Shopify customers (`subject="customer"`), which
`reachability` uses: there, friend conditions hold for a customer whose linked friend matches.
"""

from __future__ import annotations

import logging
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    FromClause,
    Numeric,
    Select,
    Table,
    and_,
    exists,
    func,
    literal,
    not_,
    or_,
    select,
    true,
)

from lumo.models import Customer, CustomerFriendLink, LineFriend
from lumo.segments.dates import date_bounds, local_today
from lumo.segments.fields import CUSTOMER, FieldType, SegmentFieldRegistry
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
#: The row a context's helpers test: a friend, a customer, or the link between them.
Row = Literal["friend", "customer", "link"]

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
    "customer"; `links` when it is "link" (customer conditions compiled together, see
    `seen_from_link`). Field builders should express themselves through `friend_where`,
    `friend_in`, `customer_where`, `customer_in` and `has_customer` so they work for all three.
    """

    workspace_id: int
    zone: ZoneInfo
    now: datetime
    registry: SegmentFieldRegistry
    subject: Row = "friend"
    friends: FromClause = field(default=FRIENDS)
    customers: FromClause = field(default=CUSTOMERS)
    links: FromClause = field(default=LINKS)

    @property
    def today(self) -> date:
        return local_today(self.now, self.zone)

    def in_workspace(self, table: Any) -> ColumnElement[bool]:
        return table.c.workspace_id == self.workspace_id  # type: ignore[no-any-return]

    def seen_from_link(self) -> CompileContext:
        """This context over a friend's link row, for compiling customer conditions together.

        The link and friend tables are fresh aliases so no subquery a field builds (which
        may read `customer_friend_links` or `line_friends` itself) correlates to them.
        """
        return replace(
            self, subject="link", links=self.links.alias(), friends=self.friends.alias()
        )

    # -- reaching the subject ---------------------------------------------------------------

    def friend_where(self, *criteria: ColumnElement[bool]) -> ColumnElement[bool]:
        """The friend row (`self.friends`) meets every criterion."""
        if self.subject == "friend":
            return and_(true(), *criteria)
        if self.subject == "link":
            return exists().where(
                self.friends.c.id == self.links.c.friend_id,
                self.in_workspace(self.friends),
                *criteria,
            )
        linked = (
            select(self.links.c.customer_shopify_id)
            .join(self.friends, self.friends.c.id == self.links.c.friend_id)
            .where(self.in_workspace(self.links), *criteria)
        )
        return among(self.customers.c.shopify_id, linked)

    def friend_in(self, friend_ids: Select[Any]) -> ColumnElement[bool]:
        """The friend's id is among `friend_ids` (a column of friend ids)."""
        return self.friend_where(among(self.friends.c.id, friend_ids))

    def customer_where(self, *criteria: ColumnElement[bool]) -> ColumnElement[bool]:
        """The linked customer row (`self.customers`) meets every criterion."""
        if self.subject == "customer":
            return and_(true(), *criteria)
        if self.subject == "link":
            return exists().where(
                self.customers.c.shopify_id == self.links.c.customer_shopify_id,
                self.in_workspace(self.customers),
                *criteria,
            )
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
        return among(self.friends.c.id, matched)

    def customer_in(self, customer_ids: Select[Any]) -> ColumnElement[bool]:
        """The linked customer's Shopify id is among `customer_ids` (a column of Shopify ids)."""
        if self.subject == "customer":
            return among(self.customers.c.shopify_id, customer_ids)
        if self.subject == "link":
            return among(self.links.c.customer_shopify_id, customer_ids)
        matched = select(self.links.c.friend_id).where(
            self.in_workspace(self.links), among(self.links.c.customer_shopify_id, customer_ids)
        )
        return among(self.friends.c.id, matched)

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
        if kind in (FieldType.INTEGER, FieldType.NUMBER):
            value = (
                tuple(map(wide_number, value)) if isinstance(value, tuple) else wide_number(value)
            )
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


def wide_number(value: Any) -> Any:
    """A number bound as BIGINT or NUMERIC rather than as the column's own type.

    SQLAlchemy binds a value with the type of the column it meets, so PostgreSQL would cast
    `number_of_orders > 10000000000` to INTEGER and fail; validation keeps whole numbers within
    BIGINT and amounts within NUMERIC, which compare with any narrower column.
    """
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        return value
    return literal(value, BigInteger() if isinstance(value, int) else Numeric())


def among(column: Any, ids: Select[Any]) -> ColumnElement[bool]:
    """`column` is one of the values `ids` selects (its first column): a correlated EXISTS.

    Use it instead of `column.in_(ids)`, above all under NOT: PostgreSQL plans NOT EXISTS as an
    anti-join, but NOT IN over more rows than fit in `work_mem` as a subplan rescanned for
    every row (hours at a million friends). `ids` becomes a derived table, so it never
    correlates to the tables around it, and NULLs in it match nothing.
    """
    found = ids.subquery()
    return exists().select_from(found).where(found.c[0] == column)


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
    if context.subject == "friend":
        return _over_friend(node, context)
    if isinstance(node, And):
        return and_(*(compile_predicate(child, context) for child in node.children))
    if isinstance(node, Or):
        return or_(*(compile_predicate(child, context) for child in node.children))
    if isinstance(node, Not):
        if context.subject == "link":
            # "no link passes X" is not "some link fails X": unlinked friends differ.
            raise ValueError("NOT cannot be compiled over a link row; compile it per friend.")
        return not_(compile_predicate(node.child, context))
    return _build(node, context)


def _build(node: Condition | FunctionCondition, context: CompileContext) -> ColumnElement[bool]:
    name = node.function if isinstance(node, FunctionCondition) else node.field
    spec = context.registry.require(name, column=node.column)
    return spec.build(context, node)


def _over_friend(node: Node, context: CompileContext) -> ColumnElement[bool]:
    """A friend-subject tree, with the customer conditions of each AND / OR compiled together."""
    if _customer_only(node, context.registry):
        return _through_link([node], and_, context)
    if isinstance(node, Not):
        return not_(_over_friend(node.child, context))
    if isinstance(node, And | Or):
        join = and_ if isinstance(node, And) else or_
        grouped = [child for child in node.children if _customer_only(child, context.registry)]
        others = [child for child in node.children if all(child is not g for g in grouped)]
        parts = [_over_friend(child, context) for child in others]
        if grouped:
            parts.append(_through_link(grouped, join, context))
        return join(*parts)
    return _build(node, context)


def _customer_only(node: Node, registry: SegmentFieldRegistry) -> bool:
    """Conditions on the linked customer only, joined by AND / OR (NOT would admit unlinked)."""
    if isinstance(node, And | Or):
        return all(_customer_only(child, registry) for child in node.children)
    if isinstance(node, Not):
        return False
    name = node.function if isinstance(node, FunctionCondition) else node.field
    return registry.require(name, column=node.column).subject == CUSTOMER


def _through_link(
    nodes: Sequence[Node],
    join: Callable[..., ColumnElement[bool]],
    context: CompileContext,
) -> ColumnElement[bool]:
    """Friends whose one link row passes every (AND) or some (OR) of `nodes`, in one subquery."""
    link = context.seen_from_link()
    test = join(*(compile_predicate(node, link) for node in nodes))
    friend_ids = select(link.links.c.friend_id).where(link.in_workspace(link.links), test)
    return among(context.friends.c.id, friend_ids)


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
    "among",
    "escape_like",
    "holds_for",
    "make_context",
]
