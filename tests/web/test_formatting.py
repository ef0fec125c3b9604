"""Money in the workspace's currency and instants in its time zone."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from flask.testing import FlaskClient

from lumo.extensions import db
from lumo.web.pages.formatting import format_datetime, format_money, format_number
from tests.web.factories import make_friend


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (Decimal("12345.0000"), "JPY", "¥12,345"),
        (Decimal("999.5"), "JPY", "¥1,000"),
        (Decimal("-1500"), "JPY", "-¥1,500"),
        (Decimal("12.5"), "USD", "$12.50"),
        (Decimal("1234567.891"), "EUR", "€1,234,567.89"),
        (Decimal("10"), "CHF", "10.00 CHF"),
        (None, "JPY", "—"),
        ("3000", "jpy", "¥3,000"),
    ],
)
def test_money_uses_the_currency_s_own_decimals(amount: object, currency: str, shown: str) -> None:
    assert format_money(amount, currency) == shown


def test_instants_are_shown_in_the_given_zone() -> None:
    instant = datetime(2026, 1, 5, 16, 30, tzinfo=UTC)

    assert format_datetime(instant, "Asia/Tokyo") == "2026-01-06 01:30"
    assert format_datetime(instant, "America/New_York") == "2026-01-05 11:30"
    assert format_datetime(instant.replace(tzinfo=None), "Asia/Tokyo") == "2026-01-06 01:30"
    assert format_datetime(None, "Asia/Tokyo") == "—"
    assert format_datetime(instant, "Not/AZone") == "2026-01-05 16:30"


def test_numbers_get_separators() -> None:
    assert format_number(1234567) == "1,234,567"
    assert format_number(None) == "—"


def test_pages_show_dates_in_the_workspace_zone(signed_in: FlaskClient, workspace) -> None:
    make_friend(workspace.id, "Aiko", friend_added_at=datetime(2026, 1, 5, 16, 30, tzinfo=UTC))
    db.session.commit()

    page = signed_in.get("/friends/").get_data(as_text=True)

    # 16:30 UTC on the 5th is already the 6th in Tokyo.
    assert "2026-01-06" in page
    assert "2026-01-05" not in page
