"""Dates in the workspace's time zone and money in its currency, as Jinja filters.

Everything is stored in UTC with amounts as decimals; the merchant reads local times and money
the way their shop shows it (JPY without decimals).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import g
from flask.sansio.app import App
from flask_login import current_user

from lumo.extensions import db
from lumo.models import Workspace

logger = logging.getLogger(__name__)

#: ISO 4217 currencies without minor units that a shop is likely to use.
ZERO_DECIMAL_CURRENCIES = frozenset(
    {"JPY", "KRW", "VND", "CLP", "ISK", "UGX", "XAF", "XOF", "PYG", "RWF", "KMF", "GNF"}
)
CURRENCY_SYMBOLS = {"JPY": "¥", "USD": "$", "EUR": "€", "GBP": "£", "KRW": "₩", "CNY": "CN¥"}


def zone(name: str | None) -> ZoneInfo:
    """The named zone, or UTC when the name is empty or unknown."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        logger.warning("unknown time zone %r; showing UTC", name)
        return ZoneInfo("UTC")


def format_datetime(
    value: datetime | None, timezone: str | None, pattern: str = "%Y-%m-%d %H:%M"
) -> str:
    """An instant as local wall-clock time in `timezone`; naive values are taken as UTC."""
    if value is None:
        return "—"
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo("UTC"))
    return value.astimezone(zone(timezone)).strftime(pattern)


def format_money(amount: Any, currency: str | None) -> str:
    """`¥12,345` for JPY, `$12.50` for USD, `12.50 CHF` for a currency without a symbol."""
    if amount is None or amount == "":
        return "—"
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        return str(amount)
    code = (currency or "").upper()
    places = Decimal("1") if code in ZERO_DECIMAL_CURRENCIES else Decimal("0.01")
    rounded = value.quantize(places, rounding=ROUND_HALF_UP)
    digits = f"{abs(rounded):,}"
    sign = "-" if rounded < 0 else ""
    symbol = CURRENCY_SYMBOLS.get(code)
    if symbol:
        return f"{sign}{symbol}{digits}"
    return f"{sign}{digits} {code}".rstrip()


def format_number(value: Any) -> str:
    """Counts with thousands separators; an unknown count shows as a dash."""
    if value is None:
        return "—"
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return str(value)


def page_workspace() -> Workspace | None:
    """The signed-in merchant's workspace, loaded once per request for the filters."""
    if "lumo_workspace" not in g:
        g.lumo_workspace = (
            db.session.get(Workspace, int(current_user.workspace_id))
            if current_user.is_authenticated
            else None
        )
    return g.lumo_workspace  # type: ignore[no-any-return]


def _localtime(value: datetime | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    workspace = page_workspace()
    return format_datetime(value, workspace.timezone if workspace else None, pattern)


def _localdate(value: datetime | None) -> str:
    return _localtime(value, "%Y-%m-%d")


def _shown(value: Any) -> str:
    """A preview value as a merchant reads it: instants (ISO text too) in the workspace's zone."""
    if value is None:
        return "—"
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T":
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        return _localtime(value if value.tzinfo else value.replace(tzinfo=UTC))
    return str(value)


def _money(amount: Any, currency: str | None = None) -> str:
    if currency is None:
        workspace = page_workspace()
        currency = workspace.currency if workspace else None
    return format_money(amount, currency)


def register_filters(app: App) -> None:
    """Make `localtime`, `localdate`, `money` and `number` available to every template."""
    app.add_template_filter(_localtime, "localtime")
    app.add_template_filter(_localdate, "localdate")
    app.add_template_filter(_money, "money")
    app.add_template_filter(format_number, "number")
    app.add_template_filter(_shown, "shown")
