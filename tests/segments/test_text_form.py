"""The text and JSON forms: round trips, canonical printing and parse errors with positions."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lumo.segments.errors import SegmentSyntaxError, SegmentValidationError
from lumo.segments.model import (
    And,
    Condition,
    DateOffset,
    FunctionCondition,
    Not,
    Op,
    Or,
    RelativeDay,
    Segment,
)
from lumo.segments.parser import parse_segment
from lumo.segments.printer import format_segment

CANONICAL = [
    "customer_tags CONTAINS 'vip' AND last_order_date < -90d",
    "number_of_orders >= 3 AND amount_spent BETWEEN 10000 AND 50000.5",
    "products_purchased MATCHES (tag = 'summer', date > -30d)",
    "orders_placed MATCHES (count >= 2, date > -90d) AND NOT customer_tags CONTAINS 'staff'",
    "lumo_tags CONTAINS 'x' OR (line_follow_status = 'following' AND shopify_linked = true)",
    "(a = 1 OR b = 2) AND NOT (c IS SET OR d IS NOT SET)",
    "(a = 1 AND b = 2) AND c = 3",
    "customer_tags CONTAINS 'O\\'Brien' AND customer_tags NOT CONTAINS 'セール\\\\'",
    "x IN ('a', 'b') AND y NOT IN (1, 2) AND z = 2026-01-31T09:00:00 AND w != yesterday",
    "orders_placed NOT MATCHES () AND t >= today AND u <= -2w AND v > -1m AND q < -1y",
    "",
]


@pytest.mark.parametrize("text", CANONICAL)
def test_canonical_text_prints_back_unchanged(text: str) -> None:
    segment = parse_segment(text)

    assert format_segment(segment) == text
    assert Segment.from_json(json.loads(json.dumps(segment.to_json()))) == segment


def test_and_binds_tighter_than_or_and_not_tighter_than_and() -> None:
    segment = parse_segment("a = 1 OR b = 2 AND NOT c = 3")

    a, b, c = (Condition(name, Op.EQ, n) for name, n in (("a", 1), ("b", 2), ("c", 3)))
    assert segment.where == Or((a, And((b, Not(c)))))
    assert format_segment(segment) == "a = 1 OR (b = 2 AND NOT c = 3)"


def test_keywords_ignore_case_and_field_names_are_lowercased() -> None:
    segment = parse_segment("Customer_Tags contains 'VIP' and NOT x is not set")

    assert format_segment(segment) == "customer_tags CONTAINS 'VIP' AND NOT x IS NOT SET"


def test_values_keep_their_kind() -> None:
    segment = parse_segment(
        "a = 'text' AND b = 3 AND c = 2.50 AND d = true AND e = 2026-01-31 "
        "AND f = 2026-01-31T09:30 AND g = -7d AND h = today"
    )
    assert isinstance(segment.where, And)
    values = [child.value for child in segment.where.children]  # type: ignore[union-attr]

    assert values == [
        "text",
        3,
        Decimal("2.50"),
        True,
        date(2026, 1, 31),
        datetime(2026, 1, 31, 9, 30),
        DateOffset(7, "d"),
        RelativeDay("today"),
    ]


def test_json_form_is_plain_and_documented() -> None:
    segment = parse_segment(
        "orders_placed MATCHES (count >= 3, date > -90d) AND customer_tags CONTAINS 'vip'"
    )

    assert segment.to_json() == {
        "version": 1,
        "where": {
            "and": [
                {
                    "function": "orders_placed",
                    "matches": True,
                    "params": [
                        {"name": "count", "op": ">=", "value": 3},
                        {"name": "date", "op": ">", "value": {"offset": "-90d"}},
                    ],
                },
                {"field": "customer_tags", "op": "contains", "value": "vip"},
            ]
        },
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("number_of_orders >= ", "at column 21: expected a value after '>='"),
        (
            "customer_tags CONTAINS 'vip' AND number_of_orders >=",
            "at column 53: expected a value after '>='",
        ),
        (
            "customer_tags CONTAINS vip",
            "at column 24: expected a value after CONTAINS; put text in single quotes, like 'vip'",
        ),
        ("customer_tags CONTAINS 'vip", "at column 24: this text has no closing quote"),
        ("(a = 1 OR b = 2", "at column 16: expected ')' to close the '(' at column 1"),
        ("a = 1 b = 2", "at column 7: expected AND, OR or the end of the Segment, found 'b'"),
        ("customer_tags", "at column 14: expected an operator after 'customer_tags'"),
        ("a = 2026-02-30", "at column 5: '2026-02-30' is not a real date"),
        ('a = "vip"', "at column 5: unexpected character '\"'; put text in single quotes"),
        ("a BETWEEN 1 2", "at column 13: expected AND after the first value of BETWEEN on a"),
        (
            "orders_placed MATCHES (count >= 1 date > -7d)",
            "at column 35: expected ',' or ')' in the parameters of orders_placed",
        ),
        ("a NOT b", "at column 7: expected CONTAINS, IN or MATCHES after a NOT"),
        ("AND a = 1", "at column 1: expected a field name, NOT or '('"),
        ("a = 1 AND", "at column 10: expected a field name, NOT or '('"),
        ("a IS 1", "at column 6: expected SET after IS"),
        ("()", "at column 2: expected a condition inside ( )"),
        ("a = 5d", "at column 5: unexpected character '5'; write a number"),
    ],
)
def test_parse_errors_say_where_and_what_was_expected(text: str, message: str) -> None:
    with pytest.raises(SegmentSyntaxError) as caught:
        parse_segment(text)

    assert str(caught.value).startswith(message)
    assert caught.value.column == int(message.split()[2].rstrip(":"))


def test_deep_nesting_is_refused_not_crashing() -> None:
    with pytest.raises(SegmentSyntaxError, match="more than 40 deep"):
        parse_segment("(" * 500 + "a = 1" + ")" * 500)


def test_injection_attempts_stay_inside_a_value() -> None:
    text = "customer_tags CONTAINS '\\'; DROP TABLE line_friends; --'"

    segment = parse_segment(text)

    assert segment.where == Condition(
        "customer_tags", Op.CONTAINS, "'; DROP TABLE line_friends; --"
    )
    assert format_segment(segment) == text


@pytest.mark.parametrize(
    "data",
    [
        [],
        {"where": {"field": "a"}},
        {"where": {"field": "a", "op": "like", "value": "x"}},
        {"where": {"field": "a", "op": "=", "value": {"date": "31/01/2026"}}},
        {"where": {"field": "a", "op": "between", "value": [1]}},
        {"where": {"and": [{"field": "a", "op": "is_set"}]}},
        {"version": 2, "where": None},
        {"where": {"banana": 1}},
    ],
)
def test_malformed_json_is_a_validation_error(data: object) -> None:
    with pytest.raises(SegmentValidationError):
        Segment.from_json(data)


# -- property tests ------------------------------------------------------------------------

names = st.from_regex(r"[a-z_][a-z0-9_]{0,12}", fullmatch=True).filter(
    lambda n: (
        n
        not in {
            "and",
            "or",
            "not",
            "between",
            "contains",
            "is",
            "set",
            "in",
            "matches",
            "true",
            "false",
            "today",
            "yesterday",
        }
    )
)
texts = st.text(max_size=20)
scalars = st.one_of(
    texts,
    st.integers(min_value=-(10**12), max_value=10**12),
    st.decimals(min_value=-(10**9), max_value=10**9, places=2, allow_nan=False).map(
        lambda d: d if d != d.to_integral_value() else d + Decimal("0.5")
    ),
    st.booleans(),
    st.dates(min_value=date(1000, 1, 1)),
    st.datetimes(min_value=datetime(1000, 1, 1)).map(lambda d: d.replace(microsecond=0)),
    st.builds(DateOffset, st.integers(0, 999), st.sampled_from(["d", "w", "m", "y"])),
    st.builds(RelativeDay, st.sampled_from(["today", "yesterday"])),
)
single_ops = st.sampled_from(
    [Op.EQ, Op.NE, Op.GT, Op.GE, Op.LT, Op.LE, Op.CONTAINS, Op.NOT_CONTAINS]
)


@st.composite
def conditions(draw: st.DrawFn) -> Condition:
    kind = draw(st.sampled_from(["single", "between", "list", "set"]))
    name = draw(names)
    if kind == "between":
        return Condition(name, Op.BETWEEN, (draw(scalars), draw(scalars)))
    if kind == "list":
        items = tuple(draw(st.lists(scalars, min_size=1, max_size=3)))
        return Condition(name, draw(st.sampled_from([Op.IN, Op.NOT_IN])), items)
    if kind == "set":
        return Condition(name, draw(st.sampled_from([Op.IS_SET, Op.IS_NOT_SET])))
    return Condition(name, draw(single_ops), draw(scalars))


functions = st.builds(
    FunctionCondition,
    names,
    st.lists(conditions(), max_size=3).map(tuple),
    st.booleans(),
)
leaves = st.one_of(conditions(), functions)
trees = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.lists(children, min_size=2, max_size=3).map(lambda c: And(tuple(c))),
        st.lists(children, min_size=2, max_size=3).map(lambda c: Or(tuple(c))),
        children.map(Not),
    ),
    max_leaves=8,
)
segments = st.one_of(st.none(), trees).map(Segment)


@settings(max_examples=300, deadline=None)
@given(segments)
def test_model_text_model_is_identity(segment: Segment) -> None:
    text = format_segment(segment)

    assert parse_segment(text) == segment
    assert format_segment(parse_segment(text)) == text


@settings(max_examples=300, deadline=None)
@given(segments)
def test_json_model_json_is_identity(segment: Segment) -> None:
    data = json.loads(json.dumps(segment.to_json()))

    assert Segment.from_json(data) == segment
    assert Segment.from_json(data).to_json() == data


@settings(max_examples=200, deadline=None)
@given(segments)
def test_text_and_json_agree(segment: Segment) -> None:
    text = format_segment(segment)
    from_json = Segment.from_json(json.loads(json.dumps(segment.to_json())))

    assert format_segment(from_json) == text
