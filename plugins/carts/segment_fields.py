"""The `has_active_cart` Segment field: a recent cart with items that did not become an order."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists, func, not_, select

from lumo import hookimpl
from lumo.models import Cart, Order
from lumo.segments.compiler import CompileContext
from lumo.segments.fields import FieldType, SegmentField
from lumo.segments.model import Condition, DateOffset, Op

CARTS = Cart.__table__
ORDERS = Order.__table__
#: A cart counts as active when it was updated since the start of the day this long ago.
ACTIVE_FOR = DateOffset(7, "d")


def _active_cart(context: CompileContext, condition: Condition) -> ColumnElement[bool]:
    ordered_since = exists().where(
        context.in_workspace(ORDERS),
        ORDERS.c.customer_shopify_id == CARTS.c.customer_shopify_id,
        ORDERS.c.ordered_at >= CARTS.c.shopify_updated_at,
    )
    carts = select(CARTS.c.customer_shopify_id).where(
        context.in_workspace(CARTS),
        CARTS.c.customer_shopify_id.is_not(None),
        func.coalesce(CARTS.c.item_count, 0) > 0,
        context.compare_date(CARTS.c.shopify_updated_at, Op.GE, ACTIVE_FOR),
        not_(ordered_since),
    )
    wanted = condition.value if condition.op is Op.EQ else not condition.value
    if wanted:
        return context.customer_in(carts)
    return and_(context.has_customer(), not_(context.customer_in(carts)))


HAS_ACTIVE_CART = SegmentField(
    name="has_active_cart",
    type=FieldType.BOOLEAN,
    description=(
        "The linked customer has a cart with items, updated in the last 7 days, and has not "
        "ordered since."
    ),
    build=_active_cart,
    synonyms=("in cart", "cart", "カート", "カートに入れた", "カート内"),
    example="has_active_cart = true",
)


@hookimpl
def lumo_segment_fields() -> list[SegmentField]:
    return [HAS_ACTIVE_CART]
