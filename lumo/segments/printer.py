"""Writes a Segment in its canonical text form, the one `parse_segment` reads back unchanged.

Canonical means: keywords in capitals, one space around operators, decimals without trailing
zeros, text in single quotes with `\\` and `'` escaped, and parentheses around every group
nested inside another group, so the reader never has to remember that AND binds tighter.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from lumo.segments.model import (
    And,
    Condition,
    DateOffset,
    FunctionCondition,
    Node,
    Not,
    Op,
    Or,
    Scalar,
    Segment,
)

_WORDS = {
    Op.CONTAINS: "CONTAINS",
    Op.NOT_CONTAINS: "NOT CONTAINS",
    Op.IN: "IN",
    Op.NOT_IN: "NOT IN",
}


def format_segment(segment: Segment) -> str:
    """The canonical text form; the empty string is the Segment of every friend."""
    return "" if segment.where is None else format_node(segment.where)


def format_node(node: Node) -> str:
    if isinstance(node, And | Or):
        joiner = " AND " if isinstance(node, And) else " OR "
        return joiner.join(_grouped(child) for child in node.children)
    if isinstance(node, Not):
        return "NOT " + _grouped(node.child)
    if isinstance(node, FunctionCondition):
        keyword = "MATCHES" if node.matches else "NOT MATCHES"
        params = ", ".join(format_condition(param) for param in node.params)
        return f"{node.function} {keyword} ({params})"
    return format_condition(node)


def _grouped(node: Node) -> str:
    text = format_node(node)
    return f"({text})" if isinstance(node, And | Or) else text


def format_condition(condition: Condition) -> str:
    name, op, value = condition.field, condition.op, condition.value
    if op is Op.IS_SET:
        return f"{name} IS SET"
    if op is Op.IS_NOT_SET:
        return f"{name} IS NOT SET"
    if op is Op.BETWEEN:
        assert isinstance(value, tuple) and len(value) == 2
        return f"{name} BETWEEN {format_value(value[0])} AND {format_value(value[1])}"
    if op in (Op.IN, Op.NOT_IN):
        assert isinstance(value, tuple)
        return f"{name} {_WORDS[op]} ({', '.join(format_value(item) for item in value)})"
    assert value is not None and not isinstance(value, tuple)
    return f"{name} {_WORDS.get(op, op.value)} {format_value(value)}"


def format_value(value: Scalar) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date | int | DateOffset):
        return str(value)
    return value.name
