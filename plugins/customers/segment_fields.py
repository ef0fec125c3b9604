"""Segment fields about the linked Shopify customer: tags, order totals, dates, state."""

from __future__ import annotations

import operator
from typing import Any

from sqlalchemy import ColumnElement, Numeric, Select, and_, func, literal, select

from lumo import hookimpl
from lumo.models import CustomerTag
from lumo.segments.builders import CUSTOMER, customer_column, customer_display, label_list
from lumo.segments.compiler import CompileContext
from lumo.segments.fields import FieldType, SegmentField
from lumo.segments.model import Condition, Op

TAGS = CustomerTag.__table__
ORDERED = frozenset({Op.EQ, Op.NE, Op.GT, Op.GE, Op.LT, Op.LE, Op.BETWEEN})
EMAIL_STATES = ("subscribed", "not_subscribed", "unsubscribed", "pending", "invalid", "redacted")


def _tagged_customers(context: CompileContext, key: str | None) -> Select[Any]:
    query = select(TAGS.c.customer_shopify_id).where(context.in_workspace(TAGS))
    return query if key is None else query.where(TAGS.c.tag_key == key)


def _tag_names(context: CompileContext, _: Any) -> Any:
    links = context.links
    return (
        select(func.aggregate_strings(TAGS.c.tag, ", "))
        .select_from(links.join(TAGS, TAGS.c.customer_shopify_id == links.c.customer_shopify_id))
        .where(
            context.in_workspace(links),
            context.in_workspace(TAGS),
            links.c.friend_id == context.friends.c.id,
        )
        .scalar_subquery()
    )


def _column(name: str) -> Any:
    return lambda context: context.customers.c[name]


def _zero_if_unset(name: str) -> Any:
    return lambda context: func.coalesce(context.customers.c[name], 0)


def _extra(key: str) -> Any:
    return lambda context: context.customers.c.extra[key].as_string()


def _numeric(value: Any) -> Any:
    """A bound NUMERIC: `number_of_orders * value` in INTEGER would overflow on PostgreSQL."""
    return literal(value, Numeric())


_COMPARE = {
    Op.EQ: operator.eq,
    Op.NE: operator.ne,
    Op.GT: operator.gt,
    Op.GE: operator.ge,
    Op.LT: operator.lt,
    Op.LE: operator.le,
}


def _average_order_value(context: CompileContext, condition: Condition) -> ColumnElement[bool]:
    """amount_spent / number_of_orders, compared by multiplying so no database divides."""
    spent = func.coalesce(context.customers.c.amount_spent, 0)
    orders = context.customers.c.number_of_orders
    value = condition.value
    if condition.op is Op.BETWEEN:
        assert isinstance(value, tuple)
        test = and_(spent >= orders * _numeric(value[0]), spent <= orders * _numeric(value[1]))
    else:
        test = _COMPARE[condition.op](spent, orders * _numeric(value))
    return context.customer_where(
        context.in_workspace(context.customers), orders.is_not(None), orders > 0, test
    )


FIELDS = [
    SegmentField(
        name="customer_tags",
        type=FieldType.LIST,
        description="Shopify customer tags of the linked customer (set in Shopify; any case).",
        build=label_list(_tagged_customers, CUSTOMER),
        synonyms=("customer tag", "shopify tag", "顧客タグ", "Shopifyタグ"),
        display=_tag_names,
        example="customer_tags CONTAINS 'vip'",
    ),
    SegmentField(
        name="number_of_orders",
        type=FieldType.INTEGER,
        description="Orders the linked customer has placed, all time (as Shopify counts them).",
        build=customer_column(_zero_if_unset("number_of_orders"), FieldType.INTEGER),
        synonyms=("orders", "order count", "repeat", "注文数", "購入回数", "リピーター"),
        display=customer_display(_zero_if_unset("number_of_orders")),
        example="number_of_orders >= 2",
    ),
    SegmentField(
        name="amount_spent",
        type=FieldType.NUMBER,
        description="Total the linked customer has spent, all time, in the store currency.",
        build=customer_column(_zero_if_unset("amount_spent"), FieldType.NUMBER),
        synonyms=("total spent", "spend", "lifetime value", "購入金額", "累計購入金額", "LTV"),
        display=customer_display(_zero_if_unset("amount_spent")),
        example="amount_spent >= 50000",
    ),
    SegmentField(
        name="average_order_value",
        type=FieldType.NUMBER,
        description="Amount spent divided by number of orders; customers with no order fail.",
        build=_average_order_value,
        synonyms=("AOV", "average order", "平均注文額", "客単価"),
        operators=ORDERED,
        example="average_order_value >= 5000",
    ),
    SegmentField(
        name="first_order_date",
        type=FieldType.DATE,
        description="When the linked customer placed their first order.",
        build=customer_column(_column("first_order_at"), FieldType.DATE),
        synonyms=("first purchase", "初回購入日", "初回購入"),
        display=customer_display(_column("first_order_at")),
        example="first_order_date > -30d",
    ),
    SegmentField(
        name="last_order_date",
        type=FieldType.DATE,
        description="When the linked customer placed their most recent order.",
        build=customer_column(_column("last_order_at"), FieldType.DATE),
        synonyms=("last purchase", "recent order", "最終購入日", "最終注文日", "休眠"),
        display=customer_display(_column("last_order_at")),
        example="last_order_date < -90d",
    ),
    SegmentField(
        name="customer_added_date",
        type=FieldType.DATE,
        description="When the Shopify customer record was created.",
        build=customer_column(_column("shopify_created_at"), FieldType.DATE),
        synonyms=("customer since", "signed up", "会員登録日", "顧客登録日"),
        display=customer_display(_column("shopify_created_at")),
        example="customer_added_date > -30d",
    ),
    SegmentField(
        name="customer_account_status",
        type=FieldType.ENUM,
        description="The Shopify customer account state.",
        build=customer_column(_column("state"), FieldType.ENUM),
        synonyms=("account status", "account state", "アカウント状態", "会員状態"),
        values=("enabled", "disabled", "invited", "declined"),
        display=customer_display(_column("state")),
        example="customer_account_status = 'enabled'",
    ),
    SegmentField(
        name="currency",
        type=FieldType.STRING,
        description="The linked customer's currency code, like JPY (any case).",
        build=customer_column(_column("currency"), FieldType.STRING),
        synonyms=("currency code", "通貨"),
        operators=frozenset({Op.EQ, Op.NE, Op.IN, Op.NOT_IN}),
        display=customer_display(_column("currency")),
        example="currency = 'JPY'",
    ),
    SegmentField(
        name="email_subscription_status",
        type=FieldType.ENUM,
        description="Email marketing consent of the linked customer (needs email syncing on).",
        build=customer_column(_extra("email_marketing_state"), FieldType.ENUM),
        synonyms=("email subscribed", "newsletter", "メルマガ", "メール購読"),
        values=EMAIL_STATES,
        requires=(("customers", "email"),),
        example="email_subscription_status = 'subscribed'",
    ),
    SegmentField(
        name="sms_subscription_status",
        type=FieldType.ENUM,
        description="SMS marketing consent of the linked customer (needs phone syncing on).",
        build=customer_column(_extra("sms_marketing_state"), FieldType.ENUM),
        synonyms=("sms subscribed", "phone subscribed", "SMS購読"),
        values=tuple(state for state in EMAIL_STATES if state != "invalid"),
        requires=(("customers", "phone"),),
        example="sms_subscription_status = 'subscribed'",
    ),
]


@hookimpl
def lumo_segment_fields() -> list[SegmentField]:
    return list(FIELDS)
