"""Segment fields: what a plugin declares so its data can be used in Segments.

A plugin returns `SegmentField` records from the `lumo_segment_fields` hook. Each names an
attribute of the Segment language (`customer_tags`, `orders_placed` …), says which operators
and values it accepts, gives the words a marketer may use for it (English and Japanese, for the
Marketing Agent), and supplies `build`: a function turning one condition into a SQLAlchemy
boolean expression over the friend row. `lumo.segments.compiler.CompileContext` offers the
helpers that keep such expressions workspace-scoped and two-valued (never SQL NULL).
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from lumo.segments.errors import SegmentValidationError
from lumo.segments.model import COMPARISONS, Op

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement

    from lumo.segments.compiler import CompileContext

logger = logging.getLogger(__name__)


class FieldType(StrEnum):
    LIST = "list"
    INTEGER = "integer"
    NUMBER = "number"
    DATE = "date"
    ENUM = "enum"
    STRING = "string"
    BOOLEAN = "boolean"
    FUNCTION = "function"


_ORDERED = COMPARISONS | {Op.BETWEEN}

#: What each type accepts unless a field narrows it.
DEFAULT_OPERATORS: dict[FieldType, frozenset[Op]] = {
    FieldType.LIST: frozenset({Op.CONTAINS, Op.NOT_CONTAINS, Op.IS_SET, Op.IS_NOT_SET}),
    FieldType.INTEGER: _ORDERED,
    FieldType.NUMBER: _ORDERED,
    FieldType.DATE: _ORDERED | {Op.IS_SET, Op.IS_NOT_SET},
    FieldType.ENUM: frozenset({Op.EQ, Op.NE, Op.IN, Op.NOT_IN, Op.IS_SET, Op.IS_NOT_SET}),
    FieldType.STRING: frozenset({Op.EQ, Op.NE, Op.IN, Op.NOT_IN, Op.CONTAINS}),
    FieldType.BOOLEAN: frozenset({Op.EQ, Op.NE}),
    FieldType.FUNCTION: frozenset(),
}

#: The subject a field describes: the friend itself, or the Shopify customer linked to it.
FRIEND = "friend"
CUSTOMER = "customer"

Builder = Callable[["CompileContext", Any], "ColumnElement[bool]"]
Display = Callable[["CompileContext", Any], "ColumnElement[Any]"]


@dataclass(frozen=True)
class FunctionParam:
    """One named parameter of a function field (`count`, `date` …), used at most once."""

    name: str
    type: FieldType
    description: str
    operators: frozenset[Op] | None = None
    values: tuple[str, ...] = ()

    @property
    def allowed_operators(self) -> frozenset[Op]:
        return self.operators if self.operators is not None else DEFAULT_OPERATORS[self.type]


@dataclass(frozen=True)
class SegmentField:
    """One attribute of the Segment language, declared by a plugin.

    `build(context, condition)` returns a boolean SQL expression over the friend row for a
    `Condition` (or a `FunctionCondition` when `type` is FUNCTION); the condition has already
    been validated against `allowed_operators`, `values` and `params`. `display` (optional)
    returns a scalar expression shown next to each friend in a preview. `requires` lists
    (category, property key) pairs that must be enabled in the workspace's property settings —
    personal properties such as email, which are off unless the merchant turns them on.
    A `subject` CUSTOMER field must fail for friends without a linked customer (the context
    helpers see to that): the compiler evaluates the customer conditions of one AND / OR
    together over the friend's link row.
    """

    name: str
    type: FieldType
    description: str
    build: Builder
    synonyms: tuple[str, ...] = ()
    operators: frozenset[Op] | None = None
    values: tuple[str, ...] = ()
    params: tuple[FunctionParam, ...] = ()
    subject: str = CUSTOMER
    requires: tuple[tuple[str, str], ...] = ()
    display: Display | None = None
    example: str = ""
    plugin: str = field(default="", compare=False)

    @property
    def allowed_operators(self) -> frozenset[Op]:
        return self.operators if self.operators is not None else DEFAULT_OPERATORS[self.type]

    def param(self, name: str) -> FunctionParam | None:
        return next((param for param in self.params if param.name == name), None)

    def describe(self) -> dict[str, Any]:
        """A plain description for screens and the Marketing Agent's prompt."""
        return {
            "name": self.name,
            "type": self.type.value,
            "description": self.description,
            "synonyms": list(self.synonyms),
            "operators": sorted(op.value for op in self.allowed_operators),
            "values": list(self.values),
            "params": [
                {"name": p.name, "type": p.type.value, "description": p.description}
                for p in self.params
            ],
            "subject": self.subject,
            "example": self.example,
        }


class SegmentFieldRegistry:
    """Every Segment field the loaded plugins declare, by name."""

    def __init__(self, fields: Iterable[SegmentField]) -> None:
        self._fields: dict[str, SegmentField] = {}
        for item in fields:
            if item.name in self._fields:
                first = self._fields[item.name]
                raise ValueError(
                    f"Plugins {first.plugin or '?'!r} and {item.plugin or '?'!r} both declare "
                    f"the Segment field {item.name!r}; disable one of them."
                )
            self._fields[item.name] = item

    @classmethod
    def from_plugin_manager(cls, pm: Any) -> SegmentFieldRegistry:
        """Collect `lumo_segment_fields` from every registered plugin, noting who gave what."""
        collected: list[SegmentField] = []
        for impl in pm.hook.lumo_segment_fields.get_hookimpls():
            for item in impl.function() or []:
                collected.append(replace(item, plugin=impl.plugin_name))
        logger.debug("segment fields: %d from %d plugins", len(collected), len(pm.get_plugins()))
        return cls(collected)

    def __contains__(self, name: object) -> bool:
        return name in self._fields

    def __iter__(self) -> Any:
        return iter(sorted(self._fields.values(), key=lambda f: f.name))

    def __len__(self) -> int:
        return len(self._fields)

    def get(self, name: str) -> SegmentField | None:
        return self._fields.get(name)

    def require(self, name: str, *, column: int | None = None) -> SegmentField:
        """The field called `name`, or an error naming the closest known field."""
        found = self._fields.get(name)
        if found is not None:
            return found
        hint = self.suggest(name)
        message = f"There is no Segment field called {name!r}."
        message += f" Did you mean {hint!r}?" if hint else " See the list of Segment fields."
        raise SegmentValidationError(message, field=name, column=column)

    def suggest(self, word: str) -> str | None:
        """The field name closest to `word`, through names and synonyms."""
        lowered = word.lower().replace(" ", "_")
        by_word: dict[str, str] = {}
        for item in self._fields.values():
            by_word[item.name] = item.name
            for synonym in item.synonyms:
                by_word.setdefault(synonym.lower().replace(" ", "_"), item.name)
        if lowered in by_word:
            return by_word[lowered]
        close = difflib.get_close_matches(lowered, list(by_word), n=1, cutoff=0.6)
        return by_word[close[0]] if close else None

    def find(self, word: str) -> list[SegmentField]:
        """Fields whose name or a synonym contains `word` (for the agent and search boxes)."""
        lowered = word.lower()
        return [
            item
            for item in self
            if lowered in item.name or any(lowered in s.lower() for s in item.synonyms)
        ]

    def available(self, enabled: frozenset[tuple[str, str]]) -> list[SegmentField]:
        """The fields usable in a workspace whose enabled property settings are `enabled`."""
        return [item for item in self if all(need in enabled for need in item.requires)]
