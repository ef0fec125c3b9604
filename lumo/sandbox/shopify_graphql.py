"""Just enough GraphQL for the Shopify stand-in: parse a document, cost it, project results.

Not a general engine: no named fragments, no directives, no schema beyond the sample objects
the stand-in builds. Field selections are honoured, unknown fields are errors (as on Shopify).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

TOKEN = re.compile(
    r"""
    (?P<skip>[\s,\ufeff]+|\#[^\n]*)
  | (?P<spread>\.\.\.)
  | (?P<block>\"\"\"(?:\\\"\"\"|[^"]|"(?!""))*\"\"\")
  | (?P<string>"(?:\\.|[^"\\\n])*")
  | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<name>[_A-Za-z][_0-9A-Za-z]*)
  | (?P<punct>[!$():=@\[\]{}|&])
    """,
    re.VERBOSE,
)


class GraphQLSyntaxError(ValueError):
    """The document could not be parsed."""


class GraphQLFieldError(ValueError):
    """A selected field does not exist on the object's type."""


@dataclass(frozen=True)
class Variable:
    name: str


@dataclass
class Field:
    name: str
    alias: str | None = None
    args: dict[str, Any] = field(default_factory=dict)
    selections: list[Selection] | None = None

    @property
    def key(self) -> str:
        return self.alias or self.name


@dataclass
class InlineFragment:
    type_condition: str | None
    selections: list[Selection]


Selection = Field | InlineFragment


@dataclass
class Operation:
    kind: str
    selections: list[Selection]
    variable_defaults: dict[str, Any]


class Resolver:
    """A field computed from its arguments (connections, `metafield(namespace:, key:)`)."""

    __slots__ = ("fn",)

    def __init__(self, fn: Callable[[dict[str, Any]], Any]) -> None:
        self.fn = fn

    def __call__(self, args: dict[str, Any]) -> Any:
        return self.fn(args)


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        position = 0
        while position < len(text):
            match = TOKEN.match(text, position)
            if not match:
                raise GraphQLSyntaxError(f"syntax error, unexpected {text[position]!r}")
            position = match.end()
            kind = match.lastgroup or ""
            if kind != "skip":
                self.tokens.append((kind, match.group()))
        self.index = 0

    def peek(self, value: str | None = None) -> bool:
        if self.index >= len(self.tokens):
            return False
        return value is None or self.tokens[self.index][1] == value

    def take(self, value: str | None = None) -> tuple[str, str]:
        if self.index >= len(self.tokens):
            raise GraphQLSyntaxError("syntax error, unexpected end of file")
        token = self.tokens[self.index]
        if value is not None and token[1] != value:
            raise GraphQLSyntaxError(f"syntax error, unexpected {token[1]!r}, expecting {value}")
        self.index += 1
        return token

    def name(self) -> str:
        kind, text = self.take()
        if kind != "name":
            raise GraphQLSyntaxError(f"syntax error, unexpected {text!r}, expecting a name")
        return text

    def document(self) -> Operation:
        kind = "query"
        defaults: dict[str, Any] = {}
        if self.peek("query") or self.peek("mutation") or self.peek("subscription"):
            kind = self.take()[1]
            if self.tokens[self.index][0] == "name":
                self.take()
            if self.peek("("):
                defaults = self.variable_definitions()
        elif self.peek("fragment"):
            raise GraphQLSyntaxError("named fragments are not supported by the stand-in")
        selections = self.selection_set()
        if self.index != len(self.tokens):
            raise GraphQLSyntaxError("only one operation per document is supported")
        return Operation(kind, selections, defaults)

    def variable_definitions(self) -> dict[str, Any]:
        defaults: dict[str, Any] = {}
        self.take("(")
        while not self.peek(")"):
            self.take("$")
            name = self.name()
            self.take(":")
            self.type_reference()
            if self.peek("="):
                self.take("=")
                defaults[name] = self.value()
        self.take(")")
        return defaults

    def type_reference(self) -> None:
        if self.peek("["):
            self.take("[")
            self.type_reference()
            self.take("]")
        else:
            self.name()
        if self.peek("!"):
            self.take("!")

    def selection_set(self) -> list[Selection]:
        self.take("{")
        selections: list[Selection] = []
        while not self.peek("}"):
            if self.peek("..."):
                self.take("...")
                condition = None
                if self.peek("on"):
                    self.take("on")
                    condition = self.name()
                elif not self.peek("{"):
                    raise GraphQLSyntaxError("named fragments are not supported by the stand-in")
                selections.append(InlineFragment(condition, self.selection_set()))
                continue
            name = self.name()
            alias = None
            if self.peek(":"):
                self.take(":")
                alias, name = name, self.name()
            args = self.arguments() if self.peek("(") else {}
            if self.peek("@"):
                raise GraphQLSyntaxError("directives are not supported by the stand-in")
            children = self.selection_set() if self.peek("{") else None
            selections.append(Field(name, alias, args, children))
        self.take("}")
        return selections

    def arguments(self) -> dict[str, Any]:
        self.take("(")
        args: dict[str, Any] = {}
        while not self.peek(")"):
            name = self.name()
            self.take(":")
            args[name] = self.value()
        self.take(")")
        return args

    def value(self) -> Any:
        kind, text = self.take()
        if text == "$":
            return Variable(self.name())
        if kind == "string":
            return json.loads(text)
        if kind == "block":
            return text[3:-3].replace('\\"""', '"""')
        if kind == "number":
            return float(text) if any(c in text for c in ".eE") else int(text)
        if text == "[":
            items = []
            while not self.peek("]"):
                items.append(self.value())
            self.take("]")
            return items
        if text == "{":
            obj = {}
            while not self.peek("}"):
                key = self.name()
                self.take(":")
                obj[key] = self.value()
            self.take("}")
            return obj
        if kind == "name":
            return {"true": True, "false": False, "null": None}.get(text, text)
        raise GraphQLSyntaxError(f"syntax error, unexpected {text!r}")


def parse(text: str) -> Operation:
    """Parse one operation (a query or mutation, possibly anonymous)."""
    return _Parser(text).document()


def resolve(value: Any, variables: Mapping[str, Any]) -> Any:
    """Replace variables inside an argument value."""
    if isinstance(value, Variable):
        return variables.get(value.name)
    if isinstance(value, list):
        return [resolve(item, variables) for item in value]
    if isinstance(value, dict):
        return {key: resolve(item, variables) for key, item in value.items()}
    return value


def resolve_args(selection: Field, variables: Mapping[str, Any]) -> dict[str, Any]:
    return {key: resolve(value, variables) for key, value in selection.args.items()}


def project(value: Any, selections: list[Selection], variables: Mapping[str, Any]) -> Any:
    """Keep only the selected fields of a built object (recursively, calling resolvers)."""
    if value is None:
        return None
    if isinstance(value, list):
        return [project(item, selections, variables) for item in value]
    out: dict[str, Any] = {}
    typename = value.get("__typename")
    for selection in selections:
        if isinstance(selection, InlineFragment):
            if selection.type_condition in (None, typename):
                out.update(project(value, selection.selections, variables))
            continue
        if selection.name == "__typename":
            out[selection.key] = typename
            continue
        if selection.name not in value:
            raise GraphQLFieldError(
                f"Field '{selection.name}' doesn't exist on type '{typename or 'Object'}'"
            )
        item = value[selection.name]
        if isinstance(item, Resolver):
            item = item(resolve_args(selection, variables))
        if selection.selections is None:
            if isinstance(item, dict) or (
                isinstance(item, list) and item and isinstance(item[0], dict)
            ):
                raise GraphQLFieldError(
                    f"Field '{selection.name}' of type '{typename}' must have a selection of "
                    "subfields"
                )
            out[selection.key] = item
        else:
            out[selection.key] = project(item, selection.selections, variables)
    return out


def connection_node_selections(selections: list[Selection]) -> list[Selection]:
    """The selections applied to each node of a connection (`edges { node }` or `nodes`)."""
    found: list[Selection] = []
    for selection in selections:
        if not isinstance(selection, Field) or selection.selections is None:
            continue
        if selection.name == "nodes":
            found.extend(selection.selections)
        elif selection.name == "edges":
            for inner in selection.selections:
                if isinstance(inner, Field) and inner.name == "node" and inner.selections:
                    found.extend(inner.selections)
    return found


def selection_cost(selections: Iterable[Selection], variables: Mapping[str, Any]) -> int:
    """Shopify-style requested cost: objects 1, connections 2 + first × node cost."""
    total = 0
    for selection in selections:
        if isinstance(selection, InlineFragment):
            total += selection_cost(selection.selections, variables)
            continue
        if selection.selections is None:
            continue
        args = resolve_args(selection, variables)
        size = args.get("first") or args.get("last")
        if size is not None:
            total += 2 + int(size) * connection_node_cost(selection.selections, variables)
        elif selection.name == "pageInfo":
            continue
        else:
            total += 1 + selection_cost(selection.selections, variables)
    return total


def connection_node_cost(selections: list[Selection], variables: Mapping[str, Any]) -> int:
    return 1 + selection_cost(connection_node_selections(selections), variables)


def build_connection(
    items: list[tuple[str, dict[str, Any]]], *, has_next: bool, has_previous: bool = False
) -> dict[str, Any]:
    """A connection object (both `edges` and `nodes`) from (cursor, node) pairs."""
    return {
        "__typename": "Connection",
        "edges": [{"__typename": "Edge", "cursor": c, "node": n} for c, n in items],
        "nodes": [n for _, n in items],
        "pageInfo": {
            "__typename": "PageInfo",
            "hasNextPage": has_next,
            "hasPreviousPage": has_previous,
            "startCursor": items[0][0] if items else None,
            "endCursor": items[-1][0] if items else None,
        },
    }
