"""Sane bounds on what the agent accepts, so an absurd request gets a clear refusal.

A number with forty digits or a period of a million years is never a real audience; past
these bounds the database would overflow, so the agent refuses before it counts anything.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

from lumo.segments.errors import SegmentValidationError
from lumo.segments.model import Condition, DateOffset, FunctionCondition, Segment, iter_conditions

#: The largest amount or count a condition may compare with (a trillion).
MAX_NUMBER = 10**12
#: The longest period back from today, per unit (about a hundred years).
MAX_OFFSET = {"d": 36_600, "w": 5_220, "m": 1_200, "y": 100}
#: Calendar dates outside these years are typing mistakes.
YEARS = (1900, 2200)
#: The longest Segment definition (text form, or JSON form once serialised).
MAX_DEFINITION_CHARS = 10_000
#: The deepest nesting of a JSON Segment definition.
MAX_JSON_DEPTH = 64

_NUMBER_HINT = f"use numbers up to {MAX_NUMBER:,}"


def check_definition_size(definition: Any) -> None:
    """Refuse a Segment definition that is empty, too long or nested too deep."""
    if isinstance(definition, str):
        if not definition.strip():
            raise SegmentValidationError(
                "The Segment is empty, which would select every friend. Give it at least one "
                "condition, for example line_follow_status = 'following'."
            )
        if len(definition) > MAX_DEFINITION_CHARS:
            raise SegmentValidationError(
                f"The Segment is {len(definition):,} characters long; Lumo accepts up to "
                f"{MAX_DEFINITION_CHARS:,}. Shorten it or split it into smaller Segments."
            )
        return
    if json_depth(definition) > MAX_JSON_DEPTH:
        raise SegmentValidationError(
            f"The Segment's JSON nests more than {MAX_JSON_DEPTH} levels deep; simplify it."
        )
    size = len(json.dumps(definition, ensure_ascii=False, default=str))
    if size > MAX_DEFINITION_CHARS:
        raise SegmentValidationError(
            f"The Segment's JSON is {size:,} characters long; Lumo accepts up to "
            f"{MAX_DEFINITION_CHARS:,}. Shorten it or split it into smaller Segments."
        )


def json_depth(value: Any) -> int:
    """How deeply lists and objects nest in JSON-like data (without recursion)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: list[Any] = list(item.values())
        elif isinstance(item, list | tuple):
            children = list(item)
        else:
            continue
        deepest = max(deepest, depth)
        if depth > MAX_JSON_DEPTH:
            return depth
        stack.extend((child, depth + 1) for child in children)
    return deepest


def check_has_conditions(segment: Segment) -> None:
    """Refuse a Segment without conditions: acting on it would touch every friend."""
    if segment.where is None:
        raise SegmentValidationError(
            "The Segment has no conditions, which would select every friend. Give it at least "
            "one condition, for example line_follow_status = 'following'."
        )


def check_values(segment: Segment) -> None:
    """Refuse numbers, periods and dates far outside anything a store could have."""
    for condition in iter_conditions(segment.where):
        params = condition.params if isinstance(condition, FunctionCondition) else (condition,)
        for param in params:
            _check_condition(param)


def _check_condition(condition: Condition) -> None:
    values: tuple[Any, ...] = (
        condition.value if isinstance(condition.value, tuple) else (condition.value,)
    )
    for value in values:
        if isinstance(value, bool):
            continue
        if isinstance(value, Decimal) and not value.is_finite():
            raise SegmentValidationError(
                f"The condition on {condition.field} needs a finite number; {_NUMBER_HINT}.",
                field=condition.field,
            )
        if isinstance(value, int | Decimal) and abs(Decimal(value)) > MAX_NUMBER:
            raise SegmentValidationError(
                f"The number in the condition on {condition.field} is too large; {_NUMBER_HINT}.",
                field=condition.field,
            )
        if isinstance(value, DateOffset) and value.amount > MAX_OFFSET[value.unit]:
            raise SegmentValidationError(
                f"The period in the condition on {condition.field} ({value}) reaches back more "
                "than 100 years; use a shorter one.",
                field=condition.field,
            )
        if isinstance(value, date) and not YEARS[0] <= value.year <= YEARS[1]:
            raise SegmentValidationError(
                f"The date in the condition on {condition.field} ({value.isoformat()}) is "
                f"outside {YEARS[0]}–{YEARS[1]}; check the year.",
                field=condition.field,
            )
