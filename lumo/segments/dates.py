"""Date values of the Segment language turned into UTC instants, in whole local days.

Everything is computed in Python from the workspace's time zone and bound as UTC instants, so
SQLite and PostgreSQL compare the same numbers. The rules:

- a day (`2026-01-31`, `today`, `yesterday`) is the whole local day: `> d` starts the next
  day, `>= d` starts at d, `< d` ends before d, `<= d` ends with d, `= d` is within d;
- an offset (`-7d`, `-2w`, `-1m`, `-1y`) names the local day that many days, weeks, months or
  years ago, and compares like a day except that `> -7d` means "since that day began" (the
  same as `>= -7d`): "in the last 7 days". So `> -90d` and `< -90d` split time with no gap;
- a date-time (`2026-01-31T09:00:00`) is that local instant, compared exactly;
- `BETWEEN a AND b` is `>= a AND <= b`.
"""

from __future__ import annotations

import calendar
from datetime import MAXYEAR, MINYEAR, UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from lumo.segments.errors import SegmentValidationError
from lumo.segments.model import DateOffset, Op, RelativeDay, Scalar

Bound = tuple[str, datetime]


def local_today(now: datetime, zone: ZoneInfo) -> date:
    return now.astimezone(zone).date()


def day_start(day: date, zone: ZoneInfo) -> datetime:
    """The UTC instant at which `day` begins in `zone`."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def months_back(day: date, months: int) -> date:
    """The same day of the month `months` earlier, clamped to that month's last day."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    if not MINYEAR <= year <= MAXYEAR:
        raise out_of_range(f"{months} months before {day.isoformat()}")
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def offset_day(offset: DateOffset, today: date) -> date:
    """The local day `offset` names, counted back from `today`."""
    if offset.unit in ("m", "y"):
        return months_back(today, offset.amount * (12 if offset.unit == "y" else 1))
    try:
        return today - timedelta(days=offset.amount * (7 if offset.unit == "w" else 1))
    except OverflowError:
        raise out_of_range(str(offset)) from None


def out_of_range(what: str) -> SegmentValidationError:
    """The error for a date Python's calendar cannot hold; validation normally stops it first."""
    return SegmentValidationError(
        f"{what} is further from today than Lumo can count; use an offset of at most 100 "
        "years, like -100y, or a date such as 2020-01-31."
    )


def resolve_day(value: Scalar, today: date) -> date:
    """The local day a day-like value names."""
    if isinstance(value, DateOffset):
        return offset_day(value, today)
    if isinstance(value, RelativeDay):
        return today if value.name == "today" else today - timedelta(days=1)
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    raise TypeError(f"{value!r} is not a day")


def is_date_value(value: object) -> bool:
    return isinstance(value, date | DateOffset | RelativeDay)


def date_bounds(op: Op, value: object, today: date, zone: ZoneInfo) -> tuple[list[Bound], bool]:
    """SQL comparisons (`(operator, utc_instant)`, all must hold) and whether to negate them."""
    try:
        return _bounds(op, value, today, zone)
    except OverflowError:
        shown = " and ".join(map(str, value)) if isinstance(value, tuple) else str(value)
        raise out_of_range(shown) from None


def _bounds(op: Op, value: object, today: date, zone: ZoneInfo) -> tuple[list[Bound], bool]:
    if op is Op.BETWEEN:
        assert isinstance(value, tuple)
        return _lower(value[0], False, today, zone) + _upper(value[1], True, today, zone), False
    if op in (Op.GT, Op.GE):
        return _lower(value, op is Op.GT, today, zone), False
    if op in (Op.LT, Op.LE):
        return _upper(value, op is Op.LE, today, zone), False
    if op in (Op.EQ, Op.NE):
        return _within(value, today, zone), op is Op.NE
    raise ValueError(f"{op} does not compare dates")


def _instant(value: datetime, zone: ZoneInfo) -> datetime:
    return value.replace(tzinfo=zone).astimezone(UTC)


def _lower(value: object, strict: bool, today: date, zone: ZoneInfo) -> list[Bound]:
    if isinstance(value, datetime):
        return [(">" if strict else ">=", _instant(value, zone))]
    assert isinstance(value, date | DateOffset | RelativeDay)
    day = resolve_day(value, today)
    if strict and not isinstance(value, DateOffset):
        day += timedelta(days=1)
    return [(">=", day_start(day, zone))]


def _upper(value: object, inclusive: bool, today: date, zone: ZoneInfo) -> list[Bound]:
    if isinstance(value, datetime):
        return [("<=" if inclusive else "<", _instant(value, zone))]
    assert isinstance(value, date | DateOffset | RelativeDay)
    day = resolve_day(value, today)
    if inclusive:
        day += timedelta(days=1)
    return [("<", day_start(day, zone))]


def _within(value: object, today: date, zone: ZoneInfo) -> list[Bound]:
    if isinstance(value, datetime):
        return [("=", _instant(value, zone))]
    assert isinstance(value, date | DateOffset | RelativeDay)
    day = resolve_day(value, today)
    return [(">=", day_start(day, zone)), ("<", day_start(day + timedelta(days=1), zone))]
