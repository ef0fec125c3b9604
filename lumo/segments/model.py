"""The Segment condition tree and its JSON form.

A Segment is a tree of AND / OR / NOT groups over conditions (`field operator value`) and
function conditions (`orders_placed MATCHES (count >= 3, date > -90d)`). The tree is plain
immutable data: the parser builds it, the printer and `to_json` write it out, the validator
checks it against the registered fields and the compiler turns it into SQL.

JSON shape (stored in `segments.definition`):

    {"version": 1, "where": NODE or null}
    NODE  = {"and": [NODE, ...]} | {"or": [NODE, ...]} | {"not": NODE}
          | {"field": NAME, "op": OP, "value": VALUE}            (no "value" for is_set)
          | {"function": NAME, "matches": true|false, "params": [{"name": NAME, "op": OP,
                                                                  "value": VALUE}, ...]}
    VALUE = "text" | 12 | 12.5 | true | {"date": "2026-01-31"}
          | {"datetime": "2026-01-31T09:00:00"} | {"offset": "-7d"} | {"day": "today"}
          | [VALUE, VALUE] for between, [VALUE, ...] for in / not_in

The JSON form has the text form's limits (`MAX_DEPTH`, `MAX_CONDITIONS`), so whatever reads
from JSON prints as text that parses back, and a stored definition never exhausts the stack.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from lumo.segments.errors import SegmentValidationError

JSON_VERSION = 1
#: Deeper nesting of NOT and groups than this is a mistake (and would exhaust Python's stack).
MAX_DEPTH = 40
#: More conditions than this in one Segment is a mistake, not an audience.
MAX_CONDITIONS = 200


class Op(StrEnum):
    """Condition operators; the value is the JSON spelling."""

    EQ = "="
    NE = "!="
    GT = ">"
    GE = ">="
    LT = "<"
    LE = "<="
    BETWEEN = "between"
    CONTAINS = "contains"
    NOT_CONTAINS = "not_contains"
    IS_SET = "is_set"
    IS_NOT_SET = "is_not_set"
    IN = "in"
    NOT_IN = "not_in"


COMPARISONS = frozenset({Op.EQ, Op.NE, Op.GT, Op.GE, Op.LT, Op.LE})
NO_VALUE = frozenset({Op.IS_SET, Op.IS_NOT_SET})
LIST_VALUE = frozenset({Op.IN, Op.NOT_IN})


@dataclass(frozen=True)
class DateOffset:
    """`-7d`, `-2w`, `-1m`, `-1y`: the start of that day in the past, in the workspace's zone."""

    amount: int
    unit: Literal["d", "w", "m", "y"]

    def __post_init__(self) -> None:
        if self.amount < 0 or self.unit not in ("d", "w", "m", "y"):
            raise SegmentValidationError(
                f"'-{self.amount}{self.unit}' is not a date offset; write one like -7d, -2w, "
                "-1m or -1y."
            )

    def __str__(self) -> str:
        return f"-{self.amount}{self.unit}"


@dataclass(frozen=True)
class RelativeDay:
    """`today` or `yesterday`, as whole days in the workspace's zone."""

    name: Literal["today", "yesterday"]

    def __str__(self) -> str:
        return self.name


Scalar = str | bool | int | Decimal | date | datetime | DateOffset | RelativeDay
Value = Scalar | tuple[Scalar, ...]


@dataclass(frozen=True)
class Condition:
    """`field op value`; also a function's named parameter (`count >= 3`).

    `value` is a pair for BETWEEN, a tuple for IN / NOT IN and None for IS SET / IS NOT SET.
    `column` is where the parser found it (not part of equality).
    """

    field: str
    op: Op
    value: Value | None = None
    column: int | None = dataclass_field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class FunctionCondition:
    """`name MATCHES (param, ...)` or, with `matches=False`, `name NOT MATCHES (...)`."""

    function: str
    params: tuple[Condition, ...] = ()
    matches: bool = True
    column: int | None = dataclass_field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]

    def __post_init__(self) -> None:
        if len(self.children) < 2:
            raise SegmentValidationError("An AND group needs at least two conditions.")


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]

    def __post_init__(self) -> None:
        if len(self.children) < 2:
            raise SegmentValidationError("An OR group needs at least two conditions.")


@dataclass(frozen=True)
class Not:
    child: Node


Node = Condition | FunctionCondition | And | Or | Not


@dataclass(frozen=True)
class Segment:
    """A whole Segment; `where` is None for "every friend"."""

    where: Node | None

    def to_json(self) -> dict[str, Any]:
        return {
            "version": JSON_VERSION,
            "where": None if self.where is None else _node(self.where),
        }

    @classmethod
    def from_json(cls, data: Any) -> Segment:
        """Read the JSON form; malformed input raises `SegmentValidationError`."""
        if not isinstance(data, dict) or "where" not in data:
            raise SegmentValidationError(
                'A Segment in JSON is an object like {"version": 1, "where": {...}}.'
            )
        version = data.get("version", JSON_VERSION)
        if version != JSON_VERSION:
            raise SegmentValidationError(
                f"This Segment was saved in format version {_short(version)}; Lumo reads version "
                f"{JSON_VERSION}. Re-create it from its text form."
            )
        where = data["where"]
        return cls(None if where is None else _JsonReader().node(where, 1, root=True))


def iter_conditions(node: Node | None) -> list[Condition | FunctionCondition]:
    """Every condition and function condition in the tree, left to right."""
    if node is None:
        return []
    if isinstance(node, (Condition, FunctionCondition)):
        return [node]
    if isinstance(node, Not):
        return iter_conditions(node.child)
    found: list[Condition | FunctionCondition] = []
    for child in node.children:
        found.extend(iter_conditions(child))
    return found


def check_size(node: Node | None) -> None:
    """Refuse a tree nested deeper or holding more conditions than the text form allows.

    Depth is counted as the text form's parser counts it: a NOT or a group inside another
    group adds a level, and the top group's conditions sit on level 1. The walk uses its own
    stack, so even a tree built in code thousands of levels deep gets the message, not a crash.
    """
    conditions = 0
    stack: list[tuple[Node, int, bool]] = [] if node is None else [(node, 1, True)]
    while stack:
        current, depth, root = stack.pop()
        if depth > MAX_DEPTH:
            raise too_deep()
        if isinstance(current, Not):
            stack.append((current.child, depth + 1, False))
        elif isinstance(current, And | Or):
            below = depth if root else depth + 1
            stack.extend((child, below, False) for child in current.children)
        else:
            conditions += 1
    if conditions > MAX_CONDITIONS:
        raise too_many_conditions(conditions)


def too_deep() -> SegmentValidationError:
    """The error for nesting past `MAX_DEPTH`, in either form."""
    return SegmentValidationError(
        f"This Segment nests NOT and parentheses more than {MAX_DEPTH} levels deep; simplify "
        "it, for example by listing values with IN ( … ) or by using a Lumo tag."
    )


def too_many_conditions(found: int | None = None) -> SegmentValidationError:
    """The error for more than `MAX_CONDITIONS` conditions (`found` when it was counted)."""
    counted = f"{found}" if found is not None else f"more than {MAX_CONDITIONS}"
    return SegmentValidationError(
        f"This Segment has {counted} conditions; keep it under {MAX_CONDITIONS} by using "
        "IN ( … ) lists or a Lumo tag."
    )


# -- writing JSON ---------------------------------------------------------------------------


def _node(node: Node) -> dict[str, Any]:
    if isinstance(node, And):
        return {"and": [_node(child) for child in node.children]}
    if isinstance(node, Or):
        return {"or": [_node(child) for child in node.children]}
    if isinstance(node, Not):
        return {"not": _node(node.child)}
    if isinstance(node, FunctionCondition):
        return {
            "function": node.function,
            "matches": node.matches,
            "params": [_condition(param, "name") for param in node.params],
        }
    return _condition(node, "field")


def _condition(condition: Condition, key: str) -> dict[str, Any]:
    out: dict[str, Any] = {key: condition.field, "op": condition.op.value}
    if condition.op not in NO_VALUE:
        out["value"] = value_to_json(condition.value)
    return out


def value_to_json(value: Value | None) -> Any:
    if isinstance(value, tuple):
        return [value_to_json(item) for item in value]
    if isinstance(value, bool | str | int) or value is None:
        return value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return {"datetime": value.isoformat(timespec="seconds")}
    if isinstance(value, date):
        return {"date": value.isoformat()}
    if isinstance(value, DateOffset):
        return {"offset": str(value)}
    return {"day": value.name}


# -- reading JSON ---------------------------------------------------------------------------

_OFFSET = re.compile(r"-(\d+)([dwmy])")


class _JsonReader:
    """Reads JSON nodes under the same depth and condition limits as the text form."""

    def __init__(self) -> None:
        self.conditions = 0

    def node(self, data: Any, depth: int, *, root: bool = False) -> Node:
        if depth > MAX_DEPTH:
            raise too_deep()
        if not isinstance(data, dict):
            raise SegmentValidationError(
                f"Expected a condition or a group in the JSON, got {_short(data)}."
            )
        if "and" in data or "or" in data:
            key = "and" if "and" in data else "or"
            children = data[key]
            if not isinstance(children, list):
                raise SegmentValidationError(f'"{key}" takes a list of conditions.')
            below = depth if root else depth + 1
            nodes = tuple(self.node(child, below) for child in children)
            return And(nodes) if key == "and" else Or(nodes)
        if "not" in data:
            return Not(self.node(data["not"], depth + 1))
        self.conditions += 1
        if self.conditions > MAX_CONDITIONS:
            raise too_many_conditions()
        if "function" in data:
            params = data.get("params", [])
            if not isinstance(params, list):
                raise SegmentValidationError('"params" takes a list of parameters.')
            return FunctionCondition(
                function=_name(data["function"]),
                params=tuple(_read_condition(param, "name") for param in params),
                matches=bool(data.get("matches", True)),
            )
        if "field" in data:
            return _read_condition(data, "field")
        raise SegmentValidationError(
            f"Unknown JSON node with keys {sorted(map(str, data))[:10]}; use and, or, not, "
            "field or function."
        )


def _short(data: Any) -> str:
    """A bounded repr for messages, so a huge or deep value never floods (or crashes) one."""
    try:
        text = repr(data)
    except RecursionError:
        return f"a deeply nested {type(data).__name__}"
    return text if len(text) <= 80 else text[:77] + "..."


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise SegmentValidationError(f"A field name must be text, not {_short(value)}.")
    return value


def _read_condition(data: Any, key: str) -> Condition:
    if not isinstance(data, dict) or key not in data or "op" not in data:
        raise SegmentValidationError(
            f'A condition in JSON needs "{key}" and "op", got {_short(data)}.'
        )
    try:
        op = Op(data["op"])
    except ValueError:
        choices = ", ".join(op.value for op in Op)
        raise SegmentValidationError(
            f"Unknown operator {_short(data['op'])}; use one of {choices}."
        ) from None
    if op in NO_VALUE:
        return Condition(_name(data[key]), op)
    if "value" not in data:
        raise SegmentValidationError(f"The condition on {_short(data[key])} has no value.")
    raw = data["value"]
    value: Value
    if op is Op.BETWEEN or op in LIST_VALUE:
        if not isinstance(raw, list) or not raw or (op is Op.BETWEEN and len(raw) != 2):
            shape = "two values" if op is Op.BETWEEN else "a list of values"
            raise SegmentValidationError(f"{op.value} on {_short(data[key])} takes {shape}.")
        value = tuple(value_from_json(item) for item in raw)
    else:
        value = value_from_json(raw)
    return Condition(_name(data[key]), op, value)


def value_from_json(raw: Any) -> Scalar:
    if isinstance(raw, bool | str | int):
        return raw
    if isinstance(raw, float) and math.isfinite(raw):
        return Decimal(repr(raw))
    if isinstance(raw, dict) and len(raw) == 1:
        ((kind, text),) = raw.items()
        try:
            if kind == "date":
                return date.fromisoformat(text)
            if kind == "datetime":
                moment = datetime.fromisoformat(text)
                if moment.tzinfo is None:
                    return moment
            if kind == "offset" and (match := _OFFSET.fullmatch(text)):
                return DateOffset(int(match.group(1)), match.group(2))  # type: ignore[arg-type]
            if kind == "day" and text in ("today", "yesterday"):
                return RelativeDay(text)
        except (TypeError, ValueError):
            pass
    raise SegmentValidationError(
        f"{_short(raw)} is not a Segment value; use text, a number, true/false, "
        '{"date": "2026-01-31"}, {"offset": "-7d"} or {"day": "today"}.'
    )
