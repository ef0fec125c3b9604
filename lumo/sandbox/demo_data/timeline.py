"""Moves the source's 2010-2011 clock so its last invoice lands just before "now"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

# The store's time zone follows its currency: a yen store is a Japanese shop.
ZONE_BY_CURRENCY = {"JPY": "Asia/Tokyo", "GBP": "Europe/London"}


class Timeline:
    """Shifts source wall-clock times by whole days and stamps the shop's time zone."""

    def __init__(self, last_source_time: datetime, now: datetime | None, currency: str) -> None:
        self.zone = ZoneInfo(ZONE_BY_CURRENCY[currency])
        if now is None:
            now = datetime.now(UTC)
        elif now.tzinfo is None:
            now = now.replace(tzinfo=UTC)
        self.now = now
        local_now = now.astimezone(self.zone).replace(tzinfo=None)
        days = (local_now.date() - last_source_time.date()).days
        # Whole days keep each invoice's time of day; step back a day if that lands after now.
        if last_source_time + timedelta(days=days) > local_now:
            days -= 1
        self.shift = timedelta(days=days)

    @property
    def shift_days(self) -> int:
        return self.shift.days

    def moved(self, source_time: datetime) -> datetime:
        return (source_time + self.shift).replace(tzinfo=self.zone)

    def iso(self, source_time: datetime) -> str:
        return self.moved(source_time).isoformat()
