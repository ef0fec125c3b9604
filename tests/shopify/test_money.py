"""Money from Shopify: exact decimals, and a clear refusal of what is not an amount."""

from __future__ import annotations

from decimal import Decimal

import pytest

from lumo.models.base import Money
from lumo.shopify.ids import MAX_MONEY, parse_money


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("598.94", Decimal("598.94")),
        ("1200", Decimal(1200)),
        (1200, Decimal(1200)),
        ("0.000", Decimal(0)),
        ("-19.99", Decimal("-19.99")),  # refunds, discounts and adjustments are negative
        ("1e3", Decimal(1000)),
        ("99999999999999.9999", Decimal("99999999999999.9999")),
        (None, None),
        ("", None),
    ],
)
def test_amounts_are_kept_exact(sent: object, kept: Decimal | None) -> None:
    assert parse_money(sent) == kept  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("sent", "why"),
    [
        ("NaN", "not a finite number"),
        ("nan", "not a finite number"),
        ("sNaN", "not a finite number"),
        ("-NaN", "not a finite number"),
        ("Infinity", "not a finite number"),
        ("-inf", "not a finite number"),
        (float("nan"), "not a finite number"),
        (float("inf"), "not a finite number"),
        ("1e999", "too large"),
        ("-1e14", "too large"),
        ("100000000000000", "too large"),
        ("12,50", "not a money amount: '12,50'"),
        ("abc", "not a money amount: 'abc'"),
    ],
)
def test_what_is_not_an_amount_is_refused_with_the_reason(sent: object, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        parse_money(sent)  # type: ignore[arg-type]


def test_the_limit_is_what_the_money_column_can_hold() -> None:
    digits = Money.precision - Money.scale  # type: ignore[operator]
    assert Decimal(10) ** digits == MAX_MONEY
