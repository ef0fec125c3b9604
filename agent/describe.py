"""A Segment in plain words, English or Japanese, for the marketer reading the agent's answer."""

from __future__ import annotations

from datetime import date
from typing import Any

from lumo.segments.model import (
    And,
    Condition,
    DateOffset,
    FunctionCondition,
    Node,
    Not,
    Op,
    Or,
    RelativeDay,
    Segment,
)
from lumo.segments.printer import format_condition

_UNIT_EN = {"d": "day", "w": "week", "m": "month", "y": "year"}
_UNIT_JA = {"d": "日", "w": "週間", "m": "か月", "y": "年"}

_NAMES = {
    "customer_tags": ("Shopify customer tag", "Shopify顧客タグ"),
    "lumo_tags": ("Lumo tag", "Lumoタグ"),
    "number_of_orders": ("number of orders", "購入回数"),
    "amount_spent": ("amount spent", "累計購入金額"),
    "average_order_value": ("average order value", "客単価"),
    "last_order_date": ("last order", "最終購入日"),
    "first_order_date": ("first order", "初回購入日"),
    "customer_added_date": ("customer since", "顧客登録日"),
    "line_friend_added_date": ("became a friend", "友だち追加日"),
    "abandoned_checkout_date": ("last abandoned checkout", "最後のカゴ落ち"),
    "line_follow_status": ("LINE status", "LINEの状態"),
    "count": ("orders", "回数"),
    "sum_amount": ("total", "合計金額"),
    "amount": ("order total", "金額"),
    "date": ("date", "日付"),
    "product_title": ("product", "商品"),
    "vendor": ("vendor", "ブランド"),
    "product_type": ("product type", "商品タイプ"),
    "sum_quantity": ("units", "個数"),
}


def field_label(name: str, language: str = "en") -> str:
    """A field's name for people, as a column heading ("Last order", "最終購入日")."""
    english, japanese = _NAMES.get(name, (name.replace("_", " "), name))
    return japanese if language == "ja" else english[:1].upper() + english[1:]


def describe_segment(segment: Segment | None, language: str = "en") -> str:
    """One sentence naming who is in the Segment."""
    ja = language == "ja"
    if segment is None or segment.where is None:
        return "すべての友だち" if ja else "Every friend."
    body = _node(segment.where, ja)
    if ja:
        return body + ("友だち" if body.endswith(("の", "る", "い", "た")) else "の友だち")
    return f"Friends {body}."


def _node(node: Node, ja: bool) -> str:
    if isinstance(node, And):
        return ("、かつ" if ja else ", and ").join(_node(child, ja) for child in node.children)
    if isinstance(node, Or):
        inner = ("、または" if ja else " or ").join(_node(child, ja) for child in node.children)
        return f"（{inner}）" if ja else f"({inner})"
    if isinstance(node, Not):
        return (
            f"「{_node(node.child, ja)}」に当てはまらない"
            if ja
            else f"not ({_node(node.child, ja)})"
        )
    if isinstance(node, FunctionCondition):
        return _function(node, ja)
    return _condition(node, ja)


def _condition(c: Condition, ja: bool) -> str:
    name = c.field
    if name == "customer_tags" or name == "lumo_tags":
        label = _NAMES[name][1 if ja else 0]
        if c.op is Op.CONTAINS:
            return f"{label}「{c.value}」が付いている" if ja else f"with the {label} '{c.value}'"
        if c.op is Op.NOT_CONTAINS:
            return (
                f"{label}「{c.value}」が付いていない" if ja else f"without the {label} '{c.value}'"
            )
    if name == "line_follow_status":
        following = (c.value == "following") == (c.op is Op.EQ)
        if ja:
            return "フォロー中の" if following else "ブロックしている"
        return "who follow the LINE account" if following else "who blocked the LINE account"
    if name == "shopify_linked":
        linked = bool(c.value) == (c.op is Op.EQ)
        if ja:
            return "Shopify顧客とID連携済みの" if linked else "ID連携していない"
        return "linked to a Shopify customer" if linked else "not linked to a Shopify customer"
    if name == "has_active_cart":
        wanted = bool(c.value) == (c.op is Op.EQ)
        if ja:
            return "カートに商品が入っている" if wanted else "カートが空の"
        return "with items in their cart" if wanted else "without an active cart"
    if name == "abandoned_checkout_date" and c.op is Op.IS_SET:
        return "カゴ落ちがある" if ja else "with an abandoned checkout"
    label = _NAMES.get(name, (name.replace("_", " "), name))[1 if ja else 0]
    return (
        _compare(label, c.op, c.value, ja)
        if ja
        else "whose " + _compare(label, c.op, c.value, ja, verb=True)
    )


def _function(f: FunctionCondition, ja: bool) -> str:
    parts = [
        _compare(_NAMES.get(p.field, (p.field, p.field))[1 if ja else 0], p.op, p.value, ja)
        for p in f.params
    ]
    detail = "、".join(parts) if ja else ", ".join(parts)
    if f.function == "orders_placed":
        text = f"注文（{detail}）がある" if ja else f"with orders where {detail}"
    elif f.function == "products_purchased":
        text = f"購入商品（{detail}）がある" if ja else f"who bought products where {detail}"
    elif f.function == "abandoned_checkouts":
        text = f"カゴ落ち（{detail}）がある" if ja else f"with abandoned checkouts where {detail}"
    else:
        return format_condition(Condition(f.function, Op.EQ, detail))
    if not f.matches:
        return f"「{text}」に当てはまらない" if ja else f"not ({text})"
    return text


def _compare(label: str, op: Op, value: Any, ja: bool, verb: bool = False) -> str:
    if op is Op.IS_SET:
        return f"{label}が設定されている" if ja else f"{label} is set"
    if op is Op.IS_NOT_SET:
        return f"{label}が未設定" if ja else f"{label} is not set"
    if op is Op.BETWEEN:
        low, high = (_value(v, ja) for v in value)
        if ja:
            return f"{label}が{low}〜{high}"
        return f"{label} {'is ' if verb else ''}between {low} and {high}"
    if op in (Op.IN, Op.NOT_IN):
        items = ("、" if ja else ", ").join(_value(v, ja) for v in value)
        negated = op is Op.NOT_IN
        if ja:
            return f"{label}が{items}{'以外' if negated else 'のいずれか'}"
        return f"{label} {'not ' if negated else ''}one of {items}"
    shown = _value(value, ja)
    dated = isinstance(value, DateOffset | RelativeDay | date)
    if ja:
        words = {
            Op.EQ: "が",
            Op.NE: "が",
            Op.GT: "が",
            Op.GE: "が",
            Op.LT: "が",
            Op.LE: "が",
            Op.CONTAINS: "に",
        }
        tails = {
            Op.EQ: "",
            Op.NE: "以外",
            Op.GT: ("より後" if dated else "より多い"),
            Op.GE: ("以降" if dated else "以上"),
            Op.LT: ("より前" if dated else "未満"),
            Op.LE: ("以前" if dated else "以下"),
            Op.CONTAINS: "を含む",
        }
        return f"{label}{words.get(op, 'が')}{shown}{tails.get(op, '')}"
    if dated:
        english = {
            Op.EQ: "on",
            Op.NE: "not on",
            Op.GT: "after",
            Op.GE: "on or after",
            Op.LT: "before",
            Op.LE: "on or before",
        }
        if verb:
            english = {op: "is " + word for op, word in english.items()}
    else:
        english = {
            Op.EQ: "is",
            Op.NE: "is not",
            Op.GT: "over",
            Op.GE: "at least",
            Op.LT: "under",
            Op.LE: "at most",
            Op.CONTAINS: "contains",
        }
        if verb:
            english = {
                op: word if op in (Op.EQ, Op.NE, Op.CONTAINS) else "is " + word
                for op, word in english.items()
            }
    return f"{label} {english.get(op, op.value)} {shown}"


def _value(value: Any, ja: bool) -> str:
    if isinstance(value, DateOffset):
        if ja:
            return f"{value.amount}{_UNIT_JA[value.unit]}前"
        unit = _UNIT_EN[value.unit] + ("s" if value.amount != 1 else "")
        return f"{value.amount} {unit} ago"
    if isinstance(value, RelativeDay):
        return {"today": "今日", "yesterday": "昨日"}[value.name] if ja else value.name
    if isinstance(value, bool):
        return ("はい" if value else "いいえ") if ja else ("yes" if value else "no")
    if isinstance(value, str):
        return f"「{value}」" if ja else f"'{value}'"
    if isinstance(value, date):
        return value.isoformat()
    return f"{value:,}" if isinstance(value, int) else str(value)
