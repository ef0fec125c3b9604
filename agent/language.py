"""Reading English and Japanese requests: normal form, numbers, periods and quantities.

Everything works on the normalised text (NFKC, lower case, digits for number words, 万 and
千 multiplied out), so patterns written once match full-width, kanji and spelled-out numbers.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from lumo.segments.model import DateOffset, Op, RelativeDay

JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")

_WORD_NUMBERS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fourteen": 14,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "ninety": 90,
}
_KANJI = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_KANJI_NUMBER = re.compile(
    r"([一二三四五六七八九]?十[一二三四五六七八九]?|[一二三四五六七八九])"
    r"(?=回|日|週|か月|ヶ月|カ月|ケ月|ヵ月|年|件|万|千|つ)"
)


def is_japanese(text: str) -> bool:
    return bool(JAPANESE.search(text))


def normalize(text: str) -> str:
    """The form every pattern is written against."""
    out = unicodedata.normalize("NFKC", text).lower()
    out = out.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    out = re.sub(r"(?<=\d),(?=\d{3})", "", out)
    out = _KANJI_NUMBER.sub(lambda m: str(_kanji_value(m.group(1))), out)
    out = re.sub(r"(\d+(?:\.\d+)?)\s*万", lambda m: _times(m.group(1), 10000), out)
    out = re.sub(r"(\d+(?:\.\d+)?)\s*千", lambda m: _times(m.group(1), 1000), out)
    out = re.sub(r"(\d+(?:\.\d+)?)k\b", lambda m: _times(m.group(1), 1000), out)
    out = out.replace("半年", "6ヶ月")
    # A space where Latin letters meet Japanese, so English word boundaries hold in mixed text.
    out = re.sub(
        r"(?<=[a-z])(?=[\u3040-\u30ff\u3400-\u9fff])|(?<=[\u3040-\u30ff\u3400-\u9fff])"
        r"(?=[a-z])",
        " ",
        out,
    )
    out = re.sub(r"\bhalf a year\b", "6 months", out)
    out = re.sub(
        r"\ba (couple of )?(day|week|month|year)s?\b",
        lambda m: ("2 " if m.group(1) else "1 ") + m.group(2),
        out,
    )
    out = re.sub(r"\bonce\b", "1 times", out)
    out = re.sub(r"\btwice\b", "2 times", out)
    out = re.sub(
        r"\b(" + "|".join(_WORD_NUMBERS) + r")\b", lambda m: str(_WORD_NUMBERS[m.group(1)]), out
    )
    return re.sub(r"\s+", " ", out).strip()


def _kanji_value(text: str) -> int:
    if "十" not in text:
        return _KANJI[text]
    tens, _, ones = text.partition("十")
    return (_KANJI.get(tens, 1) * 10) + _KANJI.get(ones, 0)


def _times(number: str, factor: int) -> str:
    value = float(number) * factor
    return str(int(value)) if value == int(value) else str(value)


# -- periods ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """A time condition: `op value` on a date (value a pair for BETWEEN)."""

    op: Op
    value: Any
    start: int
    end: int
    words: str
    #: "within": a rolling window up to now (`> -30d`), which negation turns into "before".
    rolling: bool = False


_UNITS = {
    "day": "d",
    "days": "d",
    "week": "w",
    "weeks": "w",
    "month": "m",
    "months": "m",
    "year": "y",
    "years": "y",
    "日": "d",
    "週": "w",
    "週間": "w",
    "か月": "m",
    "ヶ月": "m",
    "カ月": "m",
    "ケ月": "m",
    "ヵ月": "m",
    "ヶ月間": "m",
    "か月間": "m",
    "年": "y",
    "年間": "y",
    "日間": "d",
}
_EN_UNIT = r"(days?|weeks?|months?|years?)"
_JA_UNIT = r"(日間|日|週間|週|か月間|ヶ月間|か月|ヶ月|カ月|ケ月|ヵ月|年間|年)"
_MONTHS = {
    name: index + 1
    for index, name in enumerate(
        [
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ]
    )
}


def _offset(amount: str, unit: str) -> DateOffset:
    return DateOffset(int(amount), _UNITS[unit])  # type: ignore[arg-type]


def find_periods(text: str, today: date) -> list[Period]:
    """Every period phrase in the normalised text, longest first where they overlap."""
    found: list[Period] = []

    def add(match: re.Match[str], op: Op, value: Any, rolling: bool = False) -> None:
        found.append(Period(op, value, match.start(), match.end(), match.group(0), rolling))

    en_rolling = (
        r"\b(?:(?:in|within|during|over|for) )?(?:the )?(?:last|past|previous|recent) "
        + r"(\d+) "
        + _EN_UNIT
        + r"\b"
    )
    for m in re.finditer(en_rolling, text):
        add(m, Op.GT, _offset(m.group(1), m.group(2)), True)
    for m in re.finditer(
        r"\b(?:in|within|for) (?:over |more than )?(\d+) " + _EN_UNIT + r"\b", text
    ):
        add(m, Op.GT, _offset(m.group(1), m.group(2)), True)
    for m in re.finditer(
        r"\b(?:more than |over |at least )?(\d+) " + _EN_UNIT + r" ago(?: or (?:more|earlier))?\b",
        text,
    ):
        add(m, Op.LT, _offset(m.group(1), m.group(2)))
    for m in re.finditer(
        r"\b(?:in |within |during |over )?the (?:last|past) (day|week|month|year)"
        r"\b",
        text,
    ):
        add(m, Op.GT, _offset("1", m.group(1)), True)
    for m in re.finditer(r"\b(?:(?:in|during) )?this (week|month|year)\b", text):
        add(m, Op.GE, _calendar_start(m.group(1), today, 0))
    for m in re.finditer(r"\b(?:(?:in|during) )?last (week|month|year)\b", text):
        add(m, Op.BETWEEN, _calendar_range(m.group(1), today))
    for m in re.finditer(r"\b(?:in |on )?(?:today|yesterday)\b", text):
        word = "today" if "today" in m.group(0) else "yesterday"
        add(m, Op.EQ, RelativeDay(word))  # type: ignore[arg-type]
    for m in re.finditer(r"\b(since|before) (\d{4}-\d{2}-\d{2})\b", text):
        day = _calendar_date(m.group(2))
        if day is not None:
            add(m, Op.GE if m.group(1) == "since" else Op.LT, day)
    for m in re.finditer(r"\b(?:in |during )(" + "|".join(_MONTHS) + r")\b", text):
        add(m, Op.BETWEEN, _month_range(_MONTHS[m.group(1)], today))

    ja_rolling = (
        r"(?:過去|直近|最近|ここ)(\d+)" + _JA_UNIT + r"(?:以内)?(?:に|で|の間に|の間で|間に)?"
    )
    for m in re.finditer(ja_rolling, text):
        add(m, Op.GT, _offset(m.group(1), m.group(2)), True)
    for m in re.finditer(r"(\d+)" + _JA_UNIT + r"以内(?:に|で)?", text):
        add(m, Op.GT, _offset(m.group(1), m.group(2)), True)
    for m in re.finditer(r"(\d+)" + _JA_UNIT + r"以上(?:前に|前)", text):
        add(m, Op.LT, _offset(m.group(1), m.group(2)))
    for m in re.finditer(r"(\d+)" + _JA_UNIT + r"(?:より)?前(?:に|まで)?", text):
        add(m, Op.LT, _offset(m.group(1), m.group(2)))
    for m in re.finditer(
        r"(\d+)" + _JA_UNIT + r"(?:以上)?(?:も|の間|間)?(?=[^\d]*(?:ない|ず|なし))", text
    ):
        add(m, Op.GT, _offset(m.group(1), m.group(2)), True)
    calendar = {"今週": ("week", 0), "今月": ("month", 0), "今年": ("year", 0)}
    for word, (unit, _) in calendar.items():
        for m in re.finditer(word + r"(?:に|中に|の|は)?", text):
            add(m, Op.GE, _calendar_start(unit, today, 0))
    for word, unit in (("先週", "week"), ("先月", "month"), ("去年", "year"), ("昨年", "year")):
        for m in re.finditer(word + r"(?:に|中に|の|は)?", text):
            add(m, Op.BETWEEN, _calendar_range(unit, today))
    for word in ("今日", "本日", "昨日"):
        for m in re.finditer(word + r"(?:に|の)?", text):
            add(m, Op.EQ, RelativeDay("yesterday" if word == "昨日" else "today"))
    for m in re.finditer(r"(?<![\d.])(1[0-2]|[1-9])月(?:に|中に|の)?(?!以)", text):
        add(m, Op.BETWEEN, _month_range(int(m.group(1)), today))
    return _without_overlaps(found)


def _calendar_date(text: str) -> date | None:
    """The date written as YYYY-MM-DD, or None when no such day exists (2026-13-45)."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _without_overlaps(periods: list[Period]) -> list[Period]:
    chosen: list[Period] = []
    for period in sorted(periods, key=lambda p: (-(p.end - p.start), p.start)):
        if all(period.end <= other.start or period.start >= other.end for other in chosen):
            chosen.append(period)
    return sorted(chosen, key=lambda p: p.start)


def _calendar_start(unit: str, today: date, back: int) -> date:
    if unit == "week":
        return today - timedelta(days=today.weekday() + 7 * back)
    if unit == "month":
        index = today.year * 12 + today.month - 1 - back
        return date(index // 12, index % 12 + 1, 1)
    return date(today.year - back, 1, 1)


def _calendar_range(unit: str, today: date) -> tuple[date, date]:
    start = _calendar_start(unit, today, 1)
    end = _calendar_start(unit, today, 0) - timedelta(days=1)
    return start, end


def _month_range(month: int, today: date) -> tuple[date, date]:
    year = today.year if month <= today.month else today.year - 1
    start = date(year, month, 1)
    following = date(year + (month == 12), month % 12 + 1, 1)
    return start, following - timedelta(days=1)


# -- quantities ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Quantity:
    """A compared number: `op value`; `unit` is "money", "count" or "" (decided by context)."""

    op: Op
    value: Any
    unit: str
    start: int
    end: int
    explicit_op: bool = True


_MONEY_BEFORE = r"(?:¥|\$|jpy ?|usd ?)"
_MONEY_AFTER = r"(?: ?(?:yen|jpy|円|dollars?|usd))"
_COUNT_AFTER = r"(?: ?(?:times|orders?|purchases?|回|件|度))"
_NUM = r"(\d+(?:\.\d+)?)"
_EN_OPS = [
    (r"at least|minimum of|min\.?|no less than", Op.GE),
    (r"more than|over|above|greater than|exceeding|upwards of", Op.GT),
    (r"fewer than|less than|under|below", Op.LT),
    (r"at most|no more than|up to|maximum of", Op.LE),
    (r"exactly|only|just", Op.EQ),
]
_JA_OPS = [
    ("以上", Op.GE),
    ("以下", Op.LE),
    ("未満", Op.LT),
    ("超", Op.GT),
    ("より多い", Op.GT),
    ("を超える", Op.GT),
    ("ちょうど", Op.EQ),
    ("だけ", Op.EQ),
    ("のみ", Op.EQ),
]


def _number(text: str) -> Any:
    from decimal import Decimal

    return Decimal(text) if "." in text else int(text)


def find_quantities(text: str, taken: list[tuple[int, int]]) -> list[Quantity]:
    """Compared numbers outside the `taken` spans (periods), with their unit when written."""
    found: list[Quantity] = []

    def free(start: int, end: int) -> bool:
        return all(end <= a or start >= b for a, b in taken) and all(
            end <= q.start or start >= q.end for q in found
        )

    def unit_of(before: str | None, after: str | None) -> str:
        if before or (after and re.search(r"yen|jpy|円|dollar|usd", after)):
            return "money"
        if after:
            return "count"
        return ""

    between = (
        r"\bbetween "
        + _MONEY_BEFORE
        + r"?"
        + _NUM
        + r"("
        + _MONEY_AFTER
        + r"|"
        + _COUNT_AFTER
        + r")? and "
        + r"("
        + _MONEY_BEFORE
        + r")?"
        + _NUM
        + r"("
        + _MONEY_AFTER
        + r"|"
        + _COUNT_AFTER
        + r")?"
    )
    for m in re.finditer(between, text):
        if free(m.start(), m.end()):
            unit = unit_of(m.group(3), m.group(2) or m.group(5))
            value = (_number(m.group(1)), _number(m.group(4)))
            found.append(Quantity(Op.BETWEEN, value, unit, m.start(), m.end()))
    ja_between = _NUM + r"(円|回)?(?:から|〜|~)" + _NUM + r"(円|回)(?:まで|の間)?"
    for m in re.finditer(ja_between, text):
        if free(m.start(), m.end()):
            unit = "money" if "円" in (m.group(4) or "") else "count"
            found.append(
                Quantity(
                    Op.BETWEEN,
                    (_number(m.group(1)), _number(m.group(3))),
                    unit,
                    m.start(),
                    m.end(),
                )
            )
    for words, op in _EN_OPS:
        pattern = (
            r"\b(?:"
            + words
            + r") ("
            + _MONEY_BEFORE
            + r")?"
            + _NUM
            + r"("
            + _MONEY_AFTER
            + r"|"
            + _COUNT_AFTER
            + r")?"
        )
        for m in re.finditer(pattern, text):
            if free(m.start(), m.end()):
                found.append(
                    Quantity(
                        op,
                        _number(m.group(2)),
                        unit_of(m.group(1), m.group(3)),
                        m.start(),
                        m.end(),
                    )
                )
    suffix = (
        r"("
        + _MONEY_BEFORE
        + r")?"
        + _NUM
        + r"("
        + _MONEY_AFTER
        + r"|"
        + _COUNT_AFTER
        + r")? ?(?:or more|\+|or (?:fewer|less))"
    )
    for m in re.finditer(suffix, text):
        if free(m.start(), m.end()):
            op = Op.LE if re.search(r"fewer|less", m.group(0)) else Op.GE
            found.append(
                Quantity(
                    op, _number(m.group(2)), unit_of(m.group(1), m.group(3)), m.start(), m.end()
                )
            )
    for words, op in _JA_OPS:
        pattern = (
            _NUM + r" ?(円|回|件|度)?(?:を)?" + words
            if words not in ("ちょうど",)
            else (words + _NUM + r"(円|回|件|度)")
        )
        for m in re.finditer(pattern, text):
            if free(m.start(), m.end()):
                unit = "money" if m.group(2) == "円" else ("count" if m.group(2) else "")
                found.append(Quantity(op, _number(m.group(1)), unit, m.start(), m.end()))
    bare = (
        r"("
        + _MONEY_BEFORE
        + r")?(?<![\d.-])"
        + _NUM
        + r"("
        + _MONEY_AFTER
        + r"|"
        + _COUNT_AFTER
        + r")"
    )
    for m in re.finditer(bare, text):
        if free(m.start(), m.end()):
            unit = unit_of(m.group(1), m.group(3))
            found.append(Quantity(Op.GE, _number(m.group(2)), unit, m.start(), m.end(), False))
    for m in re.finditer(_MONEY_BEFORE + _NUM, text):
        if free(m.start(), m.end()):
            found.append(Quantity(Op.GE, _number(m.group(1)), "money", m.start(), m.end(), False))
    return sorted(found, key=lambda q: q.start)
