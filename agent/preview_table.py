"""The agent's preview as a table for people: labelled columns and dates in the shop's zone.

The raw preview rows stay in the answer for programs; the chat page and reopened
conversations show this table, so both read the same words and dates.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from agent.describe import field_label

logger = logging.getLogger(__name__)

#: Columns every preview row has, in the order shown; `friend_id` is for programs only.
_BASE_COLUMNS = {
    "display_name": ("Name", "名前"),
    "line_follow_status": ("LINE status", "LINEの状態"),
    "line_friend_added_at": ("Friend since", "友だち追加日"),
    "customer_shopify_id": ("Shopify customer ID", "Shopify顧客ID"),
}
_STATUS = {
    "following": ("Following", "フォロー中"),
    "blocked": ("Blocked", "ブロック中"),
    "unfollowed": ("Unfollowed", "フォロー解除"),
}
EMPTY = "—"


def preview_table(
    rows: list[dict[str, Any]], timezone: str | None, language: str = "en"
) -> dict[str, Any]:
    """`{"columns": [{"key", "label"}], "rows": [[text, …]]}` ready to show as it is."""
    ja = language == "ja"
    keys = [key for key in _BASE_COLUMNS if any(key in row for row in rows)]
    extra: list[str] = []
    for row in rows:
        for key in row.get("fields") or {}:
            if key not in extra and key not in keys:
                extra.append(key)
    columns = [{"key": key, "label": _BASE_COLUMNS[key][1 if ja else 0]} for key in keys]
    columns += [{"key": key, "label": field_label(key, language)} for key in extra]
    table_rows = []
    for row in rows:
        values = {**row, **(row.get("fields") or {})}
        table_rows.append([_shown(values.get(c["key"]), c["key"], timezone, ja) for c in columns])
    return {"columns": columns, "rows": table_rows}


def _shown(value: Any, key: str, timezone: str | None, ja: bool) -> str:
    if value is None or value == "" or value == []:
        return EMPTY
    if key == "line_follow_status" and value in _STATUS:
        return _STATUS[value][1 if ja else 0]
    if isinstance(value, bool):
        return ("はい" if value else "いいえ") if ja else ("yes" if value else "no")
    if isinstance(value, list):
        return ", ".join(_shown(item, "", timezone, ja) for item in value)
    if isinstance(value, int | float):
        return f"{value:,}"
    if isinstance(value, str) and len(value) > 10 and value[4:5] == "-" and value[10:11] == "T":
        try:
            instant = datetime.fromisoformat(value)
        except ValueError:
            return value
        if instant.tzinfo is None:
            instant = instant.replace(tzinfo=UTC)
        return instant.astimezone(_zone(timezone)).date().isoformat()
    return str(value)


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        logger.warning("unknown time zone %r; preview dates in UTC", name)
        return ZoneInfo("UTC")
