"""Column helpers shared by the model modules."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Integer, Numeric
from sqlalchemy.types import TypeDecorator

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets BIGINT ids.
BigId = BigInteger().with_variant(Integer(), "sqlite")

# Money: decimals in the record's own currency, never floats, never summed across currencies.
Money = Numeric(18, 4, asdecimal=True)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """An instant, stored as naive UTC and always read back as an aware UTC datetime.

    SQLite drops time zones; storing naive UTC everywhere makes both databases compare and sort
    the same way, and reading back aware values keeps Python from mixing the two kinds.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("Lumo stores only aware datetimes; attach a time zone first.")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC)
