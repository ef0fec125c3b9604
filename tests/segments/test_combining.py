"""Customer conditions compiled together over the link row keep plain AND / OR / NOT logic.

The compiler folds the customer conditions of one AND / OR into a single subquery over
`customer_friend_links`; these tests check the answers against set algebra of the single
conditions of `test_fields_sql.CASES`, negative operators and unlinked friends included.
"""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import ColumnElement, and_, not_

from lumo.extensions import db
from lumo.segments import service
from lumo.segments.compiler import CompileContext, count_statement, make_context
from lumo.segments.fields import FieldType, SegmentField, SegmentFieldRegistry
from lumo.segments.model import Condition, Op
from lumo.segments.parser import parse_segment

from .conftest import NOW, W1, Store
from .test_fields_sql import ALL, CASES

EXPECTED = dict(CASES)

#: Customer conditions, positive and negative, some of which hold for customers without rows.
CUSTOMER_CASES = [
    "customer_tags CONTAINS 'vip'",
    "customer_tags NOT CONTAINS 'vip'",
    "customer_tags IS NOT SET",
    "number_of_orders < 2",
    "email_subscription_status IS NOT SET",
    "orders_placed MATCHES (count = 0)",
    "orders_placed NOT MATCHES (date > -90d)",
    "abandoned_checkouts MATCHES (count < 1)",
    "abandoned_checkout_date IS NOT SET",
    "has_active_cart = false",
]
FRIEND_CASES = [
    "lumo_tags CONTAINS 'vip'",
    "line_follow_status = 'following'",
    "shopify_linked = false",
    "lumo_tags IS NOT SET",
]
PAIRS = list(itertools.combinations(CUSTOMER_CASES, 2))


def _members(store: Store, text: str) -> set[str]:
    names = store.names(service.member_ids(W1, text, now=NOW))
    assert service.count(W1, text, now=NOW) == len(names), text
    return names


@pytest.mark.parametrize(("first", "second"), PAIRS)
def test_customer_conditions_combine_like_sets(in_app: Store, first: str, second: str) -> None:
    friend = FRIEND_CASES[PAIRS.index((first, second)) % len(FRIEND_CASES)]
    a, b, f = EXPECTED[first], EXPECTED[second], EXPECTED[friend]
    forms = {
        f"({first}) AND ({second})": a & b,
        f"({first}) OR ({second})": a | b,
        f"NOT (({first}) AND ({second}))": ALL - (a & b),
        f"({first}) AND ({friend}) AND ({second})": a & f & b,
        f"({first}) OR ({friend}) OR ({second})": a | f | b,
        f"NOT ({first}) AND ({second})": (ALL - a) & b,
        f"(({first}) OR ({friend})) AND ({second})": (a | f) & b,
    }

    answers = {text: _members(in_app, text) for text in forms}

    assert answers == forms


def test_customer_conditions_under_one_and_read_the_links_once(in_app: Store) -> None:
    text = (
        "customer_tags CONTAINS 'vip' AND orders_placed MATCHES (date > -90d) "
        "AND line_follow_status = 'following' AND number_of_orders >= 1 "
        "AND abandoned_checkout_date IS NOT SET"
    )
    context = make_context(W1, in_app.registry, now=NOW)

    sql = str(count_statement(parse_segment(text), context).compile(db.engine))

    assert sql.count("FROM customer_friend_links") == 1
    assert _members(in_app, text) == {"aiko"}


def test_negated_customer_conditions_still_admit_unlinked_friends(in_app: Store) -> None:
    text = "NOT customer_tags CONTAINS 'vip' AND NOT number_of_orders < 2"

    assert _members(in_app, text) == ALL - {"aiko", "ben"} - {"ben", "daisuke"}


def _linked_and_following(context: CompileContext, condition: Condition) -> ColumnElement[bool]:
    wanted = condition.value if condition.op is Op.EQ else not condition.value
    following = context.friend_where(context.friends.c.follow_status == "following")
    test = following if wanted else not_(following)
    return and_(context.has_customer(), test)


def test_a_customer_field_may_read_the_friend_row_through_friend_where(in_app: Store) -> None:
    extra = SegmentField(
        name="linked_and_following",
        type=FieldType.BOOLEAN,
        description="A synced linked customer whose friend follows (test field).",
        build=_linked_and_following,
    )
    registry = SegmentFieldRegistry([*in_app.registry, extra])

    def members(text: str) -> set[str]:
        ids = service.member_ids(W1, text, now=NOW, registry=registry)
        return in_app.names(ids)

    assert members("linked_and_following = true") == {"aiko", "daisuke", "emi"}
    assert members("linked_and_following = false") == {"ben"}
    assert members("linked_and_following = true AND customer_tags CONTAINS 'vip'") == {"aiko"}
    assert members("linked_and_following = false OR customer_tags IS NOT SET") == {
        "ben",
        "daisuke",
    }
