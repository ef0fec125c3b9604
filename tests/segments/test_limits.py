"""Limits: nesting, condition counts, numbers and dates are refused in words, never as a 500."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from lumo.extensions import db
from lumo.models import Segment as SavedSegment
from lumo.segments import service
from lumo.segments.dates import date_bounds, months_back, offset_day
from lumo.segments.errors import SegmentSyntaxError, SegmentValidationError
from lumo.segments.fields import FieldType
from lumo.segments.model import (
    MAX_CONDITIONS,
    MAX_DEPTH,
    And,
    Condition,
    DateOffset,
    Node,
    Not,
    Op,
    Or,
    Segment,
)
from lumo.segments.parser import parse_segment
from lumo.segments.printer import format_segment
from lumo.segments.validation import (
    MAX_AMOUNT,
    MAX_INTEGER,
    MIN_INTEGER,
    validate_segment,
)

from .conftest import NOW, TOKYO, W1, Store, builtin_registry

LEAF = Condition("number_of_orders", Op.GT, 1)


def nested_nots(levels: int) -> dict[str, Any]:
    where: dict[str, Any] = {"field": "number_of_orders", "op": ">", "value": 1}
    for _ in range(levels):
        where = {"not": where}
    return {"version": 1, "where": where}


# -- nesting and size of the JSON form -------------------------------------------------------


def test_json_nested_far_deeper_than_the_text_form_is_refused() -> None:
    with pytest.raises(SegmentValidationError, match=f"more than {MAX_DEPTH} levels deep"):
        Segment.from_json(nested_nots(900))


def _nots(levels: int) -> Node:
    node: Node = LEAF
    for _ in range(levels):
        node = Not(node)
    return node


def _groups(levels: int) -> Node:
    node: Node = LEAF
    for level in range(levels):
        kind = And if level % 2 else Or
        node = kind((node, Condition("lumo_tags", Op.CONTAINS, f"t{level}")))
    return node


def _negated_groups(levels: int) -> Node:
    node: Node = LEAF
    for level in range(levels):
        node = Not(node) if level % 2 else And((node, LEAF))
    return node


@pytest.mark.parametrize("build", [_nots, _groups, _negated_groups])
def test_the_json_form_accepts_exactly_what_the_text_form_accepts(
    build: Callable[[int], Node],
) -> None:
    verdicts = []
    for levels in range(MAX_DEPTH - 5, MAX_DEPTH + 5):
        segment = Segment(build(levels))
        try:
            parse_segment(format_segment(segment))
            text_ok = True
        except SegmentSyntaxError:
            text_ok = False
        try:
            Segment.from_json(json.loads(json.dumps(segment.to_json())))
            json_ok = True
        except SegmentValidationError:
            json_ok = False
        assert text_ok == json_ok, f"{build.__name__}({levels})"
        verdicts.append(json_ok)

    assert True in verdicts and False in verdicts


def test_json_with_too_many_conditions_is_refused() -> None:
    condition = {"field": "lumo_tags", "op": "contains", "value": "x"}

    Segment.from_json({"where": {"or": [condition] * MAX_CONDITIONS}})
    with pytest.raises(SegmentValidationError, match=f"more than {MAX_CONDITIONS} conditions"):
        Segment.from_json({"where": {"or": [condition] * (MAX_CONDITIONS + 1)}})


def test_a_tree_built_in_code_is_measured_without_recursion() -> None:
    with pytest.raises(SegmentValidationError, match="levels deep"):
        validate_segment(Segment(_nots(5000)), builtin_registry())


@pytest.mark.parametrize("raw", [float("inf"), float("-inf"), float("nan")])
def test_json_numbers_must_be_finite(raw: float) -> None:
    with pytest.raises(SegmentValidationError, match="is not a Segment value"):
        Segment.from_json({"where": {"field": "amount_spent", "op": ">", "value": raw}})


def test_json_error_messages_stay_short() -> None:
    data = {"where": {"field": "a", "op": "=", "value": {"x": "y" * 10_000}}}

    with pytest.raises(SegmentValidationError) as caught:
        Segment.from_json(data)

    assert len(str(caught.value)) < 300


# -- numbers and dates -----------------------------------------------------------------------

OUT_OF_RANGE = [
    ("last_order_date > -999999d", "-999999d reaches back more than 100 years"),
    ("last_order_date > -3000y", "-3000y reaches back more than 100 years"),
    ("last_order_date < -1000000w", "-1000000w reaches back more than 100 years"),
    ("last_order_date BETWEEN -5000y AND -1d", "-5000y reaches back more than 100 years"),
    ("last_order_date > -1201m", "use a shorter offset"),
    ("orders_placed MATCHES (date > -99999999d)", "orders_placed date: -99999999d reaches"),
    (f"number_of_orders > {10**26}", "is too large; use a whole number between"),
    (f"number_of_orders < -{10**26}", "is too small; use a whole number between"),
    (f"products_purchased MATCHES (id = {2**63})", "is too large"),
    (f"amount_spent > {10**26}", "is too large; use a number between"),
    ("amount_spent < -100000000000000.5", "is too small; use a number between"),
    (f"orders_placed MATCHES (sum_amount > {10**20})", "orders_placed sum_amount:"),
    ("last_order_date < 0001-01-01", "use a date between 1900-01-01 and 2199-12-31"),
    ("last_order_date <= 9999-12-31", "use a date between 1900-01-01 and 2199-12-31"),
    ("last_order_date > 0001-01-01T00:00:00", "outside the dates Lumo compares"),
]


@pytest.mark.parametrize("form", ["text", "json"])
@pytest.mark.parametrize(("text", "message"), OUT_OF_RANGE)
def test_out_of_range_values_are_validation_errors(
    in_app: Store, form: str, text: str, message: str
) -> None:
    definition: Any = text
    if form == "json":
        definition = json.loads(json.dumps(parse_segment(text).to_json()))

    with pytest.raises(SegmentValidationError, match=message.replace("(", r"\(")):
        service.count(W1, definition, now=NOW)


@pytest.mark.parametrize(
    "text",
    [
        "last_order_date > -100y",
        "last_order_date > -36525d",
        "last_order_date > -5218w",
        "last_order_date > -1200m AND last_order_date < today",
        f"number_of_orders < {2**63 - 1} AND number_of_orders > {-(2**63)}",
        f"products_purchased MATCHES (id = {2**63 - 1})",
        "amount_spent < 99999999999999.9999 AND amount_spent > -100000000000000",
        "first_order_date BETWEEN 1900-01-01 AND 2199-12-31",
        "orders_placed MATCHES (date > -100y, sum_amount < 99999999999999.9999)",
    ],
)
def test_the_largest_values_allowed_run_on_the_database(in_app: Store, text: str) -> None:
    assert service.count(W1, text, now=NOW) >= 0
    assert service.count(W1, parse_segment(text).to_json(), now=NOW) >= 0


def test_numbers_with_absurdly_many_digits_are_a_syntax_error() -> None:
    with pytest.raises(SegmentSyntaxError, match="at column 16: this number has more than 40"):
        parse_segment("amount_spent > " + "9" * 5000)
    with pytest.raises(SegmentSyntaxError, match="more than 40 digits"):
        parse_segment("last_order_date > -" + "9" * 5000 + "d")


def test_date_arithmetic_past_the_calendar_is_a_validation_error() -> None:
    today = date(2026, 3, 15)

    with pytest.raises(SegmentValidationError, match="further from today"):
        offset_day(DateOffset(999_999, "d"), today)
    with pytest.raises(SegmentValidationError, match="further from today"):
        offset_day(DateOffset(10**12, "w"), today)
    with pytest.raises(SegmentValidationError, match="further from today"):
        offset_day(DateOffset(3000, "y"), today)
    with pytest.raises(SegmentValidationError, match="further from today"):
        months_back(today, 10**9)
    with pytest.raises(SegmentValidationError, match="further from today"):
        date_bounds(Op.LE, date(9999, 12, 31), today, TOKYO)
    assert offset_day(DateOffset(100, "y"), today) == date(1926, 3, 15)


# -- saving ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "definition",
    [nested_nots(900), f"number_of_orders > {10**26}", "last_order_date > -999999d"],
    ids=["deep-json", "huge-number", "huge-offset"],
)
def test_a_refused_segment_is_never_saved(in_app: Store, definition: Any) -> None:
    with pytest.raises(SegmentValidationError):
        service.save_segment(W1, "Refused", definition, now=NOW)
    db.session.rollback()

    saved = db.session.scalar(
        select(func.count()).select_from(SavedSegment).where(SavedSegment.name == "Refused")
    )
    assert saved == 0


def _extreme_conditions() -> list[str]:
    """Every numeric field and parameter at both ends of its allowed range, per operator."""
    limits = {
        FieldType.INTEGER: (str(MIN_INTEGER), str(MAX_INTEGER)),
        FieldType.NUMBER: (f"-{MAX_AMOUNT}", "99999999999999.9999", str(MAX_AMOUNT)),
    }
    found = []
    for spec in builtin_registry():
        typed = [(spec.name, spec, "{}")]
        typed += [(param.name, param, spec.name + " MATCHES ({})") for param in spec.params]
        for name, field, template in typed:
            for value in limits.get(field.type, ()):
                for op in (Op.GT, Op.LT, Op.EQ, Op.BETWEEN, Op.IN):
                    if op not in field.allowed_operators:
                        continue
                    if op is Op.BETWEEN:
                        condition = f"{name} BETWEEN {value} AND {value}"
                    elif op is Op.IN:
                        condition = f"{name} IN (1, {value})"
                    else:
                        condition = f"{name} {op.value} {value}"
                    found.append(template.format(condition))
    return found


@pytest.mark.parametrize("text", _extreme_conditions())
def test_every_numeric_field_runs_at_the_ends_of_its_range(in_app: Store, text: str) -> None:
    assert service.count(W1, text, now=NOW) >= 0
