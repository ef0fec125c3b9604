"""Checks a Segment against the registered fields before it is compiled.

Messages name the field and say what would work, in the words of the Segment language, so a
marketer (or the Marketing Agent) can fix the condition without reading code.
"""

from __future__ import annotations

import difflib
from datetime import date, datetime
from decimal import Decimal

from lumo.segments.errors import SegmentValidationError
from lumo.segments.fields import FieldType, FunctionParam, SegmentField, SegmentFieldRegistry
from lumo.segments.model import (
    LIST_VALUE,
    MAX_CONDITIONS,
    NO_VALUE,
    Condition,
    DateOffset,
    FunctionCondition,
    Op,
    RelativeDay,
    Scalar,
    Segment,
    check_size,
    iter_conditions,
)
from lumo.segments.printer import format_value

__all__ = ["MAX_CONDITIONS", "validate_segment"]

#: Whole numbers fit the BigInteger columns they are compared with.
MAX_INTEGER = 2**63 - 1
MIN_INTEGER = -(2**63)
#: Amounts stay within the Numeric(18, 4) money columns' range (and survive a float in JSON).
MAX_AMOUNT = Decimal(10**14)
#: How far back an offset may reach, per unit: about a hundred years.
MAX_OFFSET = {"d": 36_525, "w": 5_218, "m": 1_200, "y": 100}
#: Calendar dates outside these are typing mistakes (and near Python's limits).
FIRST_DATE = date(1900, 1, 1)
LAST_DATE = date(2199, 12, 31)

_OP_TEXT = {
    Op.CONTAINS: "CONTAINS",
    Op.NOT_CONTAINS: "NOT CONTAINS",
    Op.IS_SET: "IS SET",
    Op.IS_NOT_SET: "IS NOT SET",
    Op.IN: "IN",
    Op.NOT_IN: "NOT IN",
    Op.BETWEEN: "BETWEEN",
}
_OP_ORDER = list(Op)

_TYPE_WORDS = {
    FieldType.INTEGER: "a whole number, like 3",
    FieldType.NUMBER: "a number, like 5000",
    FieldType.DATE: "a date like 2026-01-31, an offset like -30d, today or yesterday",
    FieldType.STRING: "text in single quotes",
    FieldType.ENUM: "text in single quotes",
    FieldType.LIST: "one text value in single quotes, like 'vip'",
    FieldType.BOOLEAN: "true or false",
}


def validate_segment(
    segment: Segment,
    registry: SegmentFieldRegistry,
    enabled: frozenset[tuple[str, str]] = frozenset(),
) -> None:
    """Raise `SegmentValidationError` for the first condition Lumo cannot evaluate."""
    check_size(segment.where)
    for condition in iter_conditions(segment.where):
        name = condition.function if isinstance(condition, FunctionCondition) else condition.field
        spec = registry.require(name, column=condition.column)
        _check_enabled(spec, enabled, condition.column)
        if isinstance(condition, FunctionCondition):
            _check_function(spec, condition)
        else:
            _check_condition(spec, condition)


def _fail(message: str, spec: SegmentField, column: int | None) -> SegmentValidationError:
    return SegmentValidationError(message, field=spec.name, column=column)


def _check_enabled(
    spec: SegmentField, enabled: frozenset[tuple[str, str]], column: int | None
) -> None:
    for category, key in spec.requires:
        if (category, key) not in enabled:
            raise _fail(
                f"{spec.name} needs the {key!r} property of {category}, which this workspace "
                f"does not sync. Turn it on in Synced Data → {category.replace('_', ' ')} "
                "first.",
                spec,
                column,
            )


def _check_function(spec: SegmentField, function: FunctionCondition) -> None:
    if spec.type is not FieldType.FUNCTION:
        raise _fail(
            f"{spec.name} is not a function, so MATCHES does not apply; write a condition like "
            f"{spec.example or spec.name + ' = …'}.",
            spec,
            function.column,
        )
    seen: set[str] = set()
    for param in function.params:
        found = spec.param(param.field)
        if found is None:
            names = [p.name for p in spec.params]
            close = difflib.get_close_matches(param.field, names, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise _fail(
                f"{spec.name} has no parameter {param.field!r}; it takes "
                f"{', '.join(names)}.{hint}",
                spec,
                param.column,
            )
        if param.field in seen:
            raise _fail(
                f"{spec.name} takes {param.field} only once; combine the limits with BETWEEN.",
                spec,
                param.column,
            )
        seen.add(param.field)
        _check_operator_and_value(
            f"{spec.name} {param.field}", found, param, spec, found.allowed_operators, ()
        )


def _check_condition(spec: SegmentField, condition: Condition) -> None:
    if spec.type is FieldType.FUNCTION:
        raise _fail(
            f"{spec.name} is a function: write it as "
            f"{spec.example or spec.name + ' MATCHES (…)'}.",
            spec,
            condition.column,
        )
    _check_operator_and_value(
        spec.name, spec, condition, spec, spec.allowed_operators, spec.values
    )


def _check_operator_and_value(
    label: str,
    typed: SegmentField | FunctionParam,
    condition: Condition,
    spec: SegmentField,
    allowed: frozenset[Op],
    values: tuple[str, ...],
) -> None:
    column = condition.column
    if condition.op not in allowed:
        choices = ", ".join(_OP_TEXT.get(op, op.value) for op in _OP_ORDER if op in allowed)
        kind = "a list" if typed.type is FieldType.LIST else f"a {typed.type.value}"
        raise _fail(
            f"{label} is {kind} and does not take {_OP_TEXT.get(condition.op, condition.op)}; "
            f"use {choices}.",
            spec,
            column,
        )
    if condition.op in NO_VALUE:
        return
    items: tuple[Scalar, ...]
    if condition.op is Op.BETWEEN or condition.op in LIST_VALUE:
        assert isinstance(condition.value, tuple)
        items = condition.value
    else:
        assert condition.value is not None and not isinstance(condition.value, tuple)
        items = (condition.value,)
    for item in items:
        _check_value(label, typed.type, item, values, spec, column)
    if condition.op is Op.BETWEEN:
        _check_range(label, items, spec, column)


def _check_value(
    label: str,
    kind: FieldType,
    value: Scalar,
    values: tuple[str, ...],
    spec: SegmentField,
    column: int | None,
) -> None:
    good = {
        FieldType.INTEGER: isinstance(value, int) and not isinstance(value, bool),
        FieldType.NUMBER: isinstance(value, int | Decimal) and not isinstance(value, bool),
        FieldType.DATE: isinstance(value, date | DateOffset | RelativeDay),
        FieldType.BOOLEAN: isinstance(value, bool),
    }.get(kind, isinstance(value, str))
    if isinstance(value, Decimal) and not value.is_finite():
        good = False
    if not good:
        raise _fail(f"{label} takes {_TYPE_WORDS[kind]}, not {format_value(value)}.", spec, column)
    problem = _out_of_range(kind, value)
    if problem:
        raise _fail(f"{label}: {problem}", spec, column)
    if isinstance(value, str) and not value.strip():
        raise _fail(f"{label} needs a value that is not empty.", spec, column)
    if values and isinstance(value, str) and value not in values:
        close = difflib.get_close_matches(value.lower(), values, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        listed = " or ".join(repr(v) for v in values)
        raise _fail(f"{label} is {listed}, not {value!r}.{hint}", spec, column)


def _check_range(
    label: str, items: tuple[Scalar, ...], spec: SegmentField, column: int | None
) -> None:
    low, high = items
    comparable = (
        (isinstance(low, int | Decimal) and isinstance(high, int | Decimal))
        or (isinstance(low, datetime) and isinstance(high, datetime))
        or (
            isinstance(low, date)
            and isinstance(high, date)
            and not isinstance(low, datetime)
            and not isinstance(high, datetime)
        )
    )
    if comparable and low > high:  # type: ignore[operator]
        raise _fail(
            f"{label} BETWEEN {format_value(low)} AND {format_value(high)} is empty; put the "
            "smaller value first.",
            spec,
            column,
        )
    if (
        isinstance(low, DateOffset)
        and isinstance(high, DateOffset)
        and low.unit == high.unit
        and low.amount < high.amount
    ):
        raise _fail(
            f"{label} BETWEEN {low} AND {high} is empty; put the older offset first, like "
            "BETWEEN -30d AND -7d.",
            spec,
            column,
        )


def _out_of_range(kind: FieldType, value: Scalar) -> str | None:
    """Why a well-typed value is beyond what the columns and the calendar hold, if it is."""
    if isinstance(value, bool):
        return None
    if kind is FieldType.INTEGER and isinstance(value, int):
        if not MIN_INTEGER <= value <= MAX_INTEGER:
            return (
                f"{value} is {_size(value)}; use a whole number between {MIN_INTEGER:,} and "
                f"{MAX_INTEGER:,}."
            )
    elif kind is FieldType.NUMBER and isinstance(value, int | Decimal):
        if abs(Decimal(value)) > MAX_AMOUNT:
            return (
                f"{format_value(value)} is {_size(value)}; use a number between "
                f"-{MAX_AMOUNT:,} and {MAX_AMOUNT:,}."
            )
    elif isinstance(value, DateOffset):
        if value.amount > MAX_OFFSET[value.unit]:
            return (
                f"{value} reaches back more than 100 years; use a shorter offset (at most "
                "-36525d, -5218w, -1200m or -100y) or a date such as 2020-01-31."
            )
    elif isinstance(value, date):
        day = value.date() if isinstance(value, datetime) else value
        if not FIRST_DATE <= day <= LAST_DATE:
            return (
                f"{format_value(value)} is outside the dates Lumo compares; use a date between "
                f"{FIRST_DATE.isoformat()} and {LAST_DATE.isoformat()}."
            )
    return None


def _size(value: int | Decimal) -> str:
    return "too small" if value < 0 else "too large"
