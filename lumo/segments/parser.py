"""Reads the Segment text form, modelled on Shopify's segment query language.

    customer_tags CONTAINS 'vip' AND (last_order_date < -90d OR NOT lumo_tags CONTAINS 'x')
    orders_placed MATCHES (count >= 3, date > -90d) AND line_follow_status = 'following'

AND binds tighter than OR, NOT tighter than AND. Keywords ignore case; field names are
lowercased. Text values go in single quotes; a quote or backslash inside is escaped with a
backslash (`'O\\'Brien'`). Errors carry the 1-based column and what would have fitted there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from lumo.segments.errors import SegmentSyntaxError
from lumo.segments.model import (
    MAX_DEPTH,
    And,
    Condition,
    DateOffset,
    FunctionCondition,
    Node,
    Not,
    Op,
    Or,
    RelativeDay,
    Scalar,
    Segment,
    Value,
)

KEYWORDS = frozenset({"and", "or", "not", "between", "contains", "is", "set", "in", "matches"})
VALUE_WORDS: dict[str, Scalar] = {
    "true": True,
    "false": False,
    "today": RelativeDay("today"),
    "yesterday": RelativeDay("yesterday"),
}
#: Numbers longer than this are typing mistakes (and Python refuses to read 4,300+ digits).
MAX_DIGITS = 40
OPERATOR_HINT = "=, !=, >, >=, <, <=, BETWEEN, CONTAINS, NOT CONTAINS, IS SET, IN or MATCHES"

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?(?![\w.]))
  | (?P<date>\d{4}-\d{2}-\d{2}(?![\w.]))
  | (?P<offset>-\d+[dwmy](?![\w.]))
  | (?P<number>-?\d+(?:\.\d+)?(?![\w.]))
  | (?P<word>[^\W\d][\w.]*)
  | (?P<op>!=|>=|<=|<>|=|>|<)
  | (?P<punct>[(),])
  | (?P<quote>')
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    column: int
    value: Scalar | None = None

    def describe(self) -> str:
        if self.kind == "end":
            return "the end of the Segment"
        return repr(self.text) if self.kind != "string" else "text in quotes"


def parse_segment(text: str) -> Segment:
    """Parse the text form; an empty text is the Segment of every friend."""
    parser = _Parser(_tokenize(text))
    if parser.peek().kind == "end":
        return Segment(None)
    node = parser.or_expr()
    token = parser.peek()
    if token.kind != "end":
        raise SegmentSyntaxError(
            token.column, "expected AND, OR or the end of the Segment", token.describe()
        )
    return Segment(node)


def _tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        column = position + 1
        if text[position] == "'":
            value, position = _read_string(text, position)
            tokens.append(Token("string", value, column, value))
            continue
        match = _TOKEN.match(text, position)
        if match is None:
            char = text[position]
            if char in '"“”‘’「':
                hint = "put text in single quotes, like 'vip'"
            elif char.isdigit() or char == "-":
                hint = "write a number, a date as yyyy-mm-dd or an offset like -7d"
            else:
                hint = "use a field name, an operator, a value in single quotes or parentheses"
            raise SegmentSyntaxError(column, f"unexpected character {char!r}; {hint}")
        kind = match.lastgroup or ""
        raw = match.group()
        position = match.end()
        if kind == "space":
            continue
        tokens.append(Token(kind, raw, column, _literal(kind, raw, column)))
    tokens.append(Token("end", "", len(text) + 1))
    return tokens


def _read_string(text: str, start: int) -> tuple[str, int]:
    chars: list[str] = []
    position = start + 1
    while position < len(text):
        char = text[position]
        if char == "\\" and position + 1 < len(text):
            chars.append(text[position + 1])
            position += 2
            continue
        if char == "'":
            return "".join(chars), position + 1
        chars.append(char)
        position += 1
    raise SegmentSyntaxError(
        start + 1, "this text has no closing quote; end it with ' and write \\' for a quote inside"
    )


def _literal(kind: str, raw: str, column: int) -> Scalar | None:
    try:
        if kind == "datetime":
            return datetime.fromisoformat(raw)
        if kind == "date":
            return date.fromisoformat(raw)
    except ValueError:
        raise SegmentSyntaxError(
            column, f"{raw!r} is not a real date; write dates as yyyy-mm-dd"
        ) from None
    if kind in ("offset", "number") and sum(char.isdigit() for char in raw) > MAX_DIGITS:
        raise SegmentSyntaxError(
            column, f"this number has more than {MAX_DIGITS} digits; write a smaller one"
        )
    if kind == "offset":
        return DateOffset(int(raw[1:-1]), raw[-1])  # type: ignore[arg-type]
    if kind == "number":
        return Decimal(raw) if "." in raw else int(raw)
    return None


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.index = 0
        self.depth = 0

    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.peek()
        self.index += 1
        return token

    def at_word(self, *words: str, ahead: int = 0) -> bool:
        token = self.peek(ahead)
        return token.kind == "word" and token.text.lower() in words

    def expect_word(self, word: str, after: str) -> Token:
        token = self.peek()
        if not self.at_word(word):
            raise SegmentSyntaxError(
                token.column, f"expected {word.upper()} after {after}", token.describe()
            )
        return self.advance()

    def expect_punct(self, char: str, what: str) -> Token:
        token = self.peek()
        if token.kind != "punct" or token.text != char:
            raise SegmentSyntaxError(token.column, f"expected {what}", token.describe())
        return self.advance()

    # -- boolean structure ----------------------------------------------------------------

    def or_expr(self) -> Node:
        children = [self.and_expr()]
        while self.at_word("or"):
            self.advance()
            children.append(self.and_expr())
        return children[0] if len(children) == 1 else Or(tuple(children))

    def and_expr(self) -> Node:
        children = [self.not_expr()]
        while self.at_word("and"):
            self.advance()
            children.append(self.not_expr())
        return children[0] if len(children) == 1 else And(tuple(children))

    def not_expr(self) -> Node:
        token = self.peek()
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise SegmentSyntaxError(
                token.column, f"the Segment nests NOT and parentheses more than {MAX_DEPTH} deep"
            )
        try:
            if self.at_word("not"):
                self.advance()
                return Not(self.not_expr())
            return self.primary()
        finally:
            self.depth -= 1

    def primary(self) -> Node:
        token = self.peek()
        if token.kind == "punct" and token.text == "(":
            self.advance()
            if self.peek().kind == "punct" and self.peek().text == ")":
                raise SegmentSyntaxError(self.peek().column, "expected a condition inside ( )")
            node = self.or_expr()
            closing = self.peek()
            if closing.kind != "punct" or closing.text != ")":
                raise SegmentSyntaxError(
                    closing.column,
                    f"expected ')' to close the '(' at column {token.column}",
                    closing.describe(),
                )
            self.advance()
            return node
        return self.predicate()

    # -- conditions -------------------------------------------------------------------------

    def field_name(self, what: str) -> Token:
        token = self.peek()
        if token.kind != "word" or token.text.lower() in KEYWORDS:
            raise SegmentSyntaxError(token.column, f"expected {what}", token.describe())
        if token.text.lower() in VALUE_WORDS:
            raise SegmentSyntaxError(
                token.column, f"expected {what} before the value {token.text!r}"
            )
        return self.advance()

    def predicate(self) -> Node:
        name = self.field_name("a field name, NOT or '('")
        field = name.text.lower()
        if self.at_word("matches") or (self.at_word("not") and self.at_word("matches", ahead=1)):
            matches = not self.at_word("not")
            self.index += 1 if matches else 2
            params = self.params(field)
            return FunctionCondition(field, params, matches, column=name.column)
        op, value = self.comparison(field)
        return Condition(field, op, value, column=name.column)

    def params(self, function: str) -> tuple[Condition, ...]:
        self.expect_punct("(", f"'(' after MATCHES to list the parameters of {function}")
        params: list[Condition] = []
        if self.peek().kind == "punct" and self.peek().text == ")":
            self.advance()
            return ()
        while True:
            name = self.field_name(f"a parameter name of {function}, like count or date")
            op, value = self.comparison(name.text.lower())
            params.append(Condition(name.text.lower(), op, value, column=name.column))
            token = self.peek()
            if token.kind == "punct" and token.text == ",":
                self.advance()
                continue
            if token.kind == "punct" and token.text == ")":
                self.advance()
                return tuple(params)
            raise SegmentSyntaxError(
                token.column,
                f"expected ',' or ')' in the parameters of {function}",
                token.describe(),
            )

    def comparison(self, field: str) -> tuple[Op, Value | None]:
        token = self.peek()
        if token.kind == "op":
            self.advance()
            op = Op.NE if token.text == "<>" else Op(token.text)
            return op, self.value(f"after '{token.text}'")
        word = token.text.lower() if token.kind == "word" else ""
        if word == "between":
            self.advance()
            low = self.value("after BETWEEN")
            self.expect_word("and", f"the first value of BETWEEN on {field}")
            high = self.value("after BETWEEN … AND")
            return Op.BETWEEN, (low, high)
        if word == "contains":
            self.advance()
            return Op.CONTAINS, self.value("after CONTAINS")
        if word == "in":
            self.advance()
            return Op.IN, self.value_list("IN")
        if word == "is":
            self.advance()
            negated = self.at_word("not")
            if negated:
                self.advance()
            self.expect_word("set", "IS NOT" if negated else "IS")
            return (Op.IS_NOT_SET if negated else Op.IS_SET), None
        if word == "not":
            self.advance()
            if self.at_word("contains"):
                self.advance()
                return Op.NOT_CONTAINS, self.value("after NOT CONTAINS")
            if self.at_word("in"):
                self.advance()
                return Op.NOT_IN, self.value_list("NOT IN")
            following = self.peek()
            raise SegmentSyntaxError(
                following.column,
                f"expected CONTAINS, IN or MATCHES after {field} NOT",
                following.describe(),
            )
        raise SegmentSyntaxError(
            token.column,
            f"expected an operator after {field!r} ({OPERATOR_HINT})",
            token.describe(),
        )

    def value_list(self, op: str) -> tuple[Scalar, ...]:
        self.expect_punct("(", f"'(' after {op} to list the values")
        values = [self.value(f"inside {op} ( )")]
        while self.peek().kind == "punct" and self.peek().text == ",":
            self.advance()
            values.append(self.value(f"after ',' inside {op} ( )"))
        self.expect_punct(")", f"',' or ')' to close the {op} list")
        return tuple(values)

    def value(self, where: str) -> Scalar:
        token = self.peek()
        if token.kind in ("string", "number", "date", "datetime", "offset"):
            self.advance()
            assert token.value is not None
            return token.value
        if token.kind == "word" and token.text.lower() in VALUE_WORDS:
            self.advance()
            return VALUE_WORDS[token.text.lower()]
        if token.kind == "word" and token.text.lower() not in KEYWORDS:
            raise SegmentSyntaxError(
                token.column,
                f"expected a value {where}; put text in single quotes, like '{token.text}'",
            )
        raise SegmentSyntaxError(token.column, f"expected a value {where}", _found(token))


def _found(token: Token) -> str | None:
    return None if token.kind == "end" else token.describe()
