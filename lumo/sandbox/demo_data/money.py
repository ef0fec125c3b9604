"""How amounts from the GBP source are presented: GBP as is, or JPY at a fixed rate."""

from __future__ import annotations

from dataclasses import dataclass

# A fixed, round rate near the 2024-25 average, so the demo's figures never move.
JPY_PER_GBP = 190
CURRENCIES = ("JPY", "GBP")


def parse_milli(text: str) -> int:
    """A decimal amount in pounds as whole thousandths of a pound (the source has <= 3 places)."""
    return round(float(text) * 1000)


@dataclass(frozen=True)
class Money:
    """Converts thousandths of a pound into the store currency's minor units and strings."""

    currency: str

    def __post_init__(self) -> None:
        if self.currency not in CURRENCIES:
            raise ValueError(
                f"Unsupported demo store currency {self.currency!r}; use 'JPY' or 'GBP'."
            )

    @property
    def decimals(self) -> int:
        return 0 if self.currency == "JPY" else 2

    def unit_price(self, milli_gbp: int) -> int:
        """A price paid on an order line: whole yen or pence, rounded half up."""
        if self.currency == "JPY":
            return (milli_gbp * JPY_PER_GBP + 500) // 1000
        return (milli_gbp + 5) // 10

    def list_price(self, milli_gbp: int) -> int:
        """A catalog price: JPY rounded to 10 yen, as Japanese shops price; GBP to the penny."""
        if self.currency == "JPY":
            return (milli_gbp * JPY_PER_GBP + 5000) // 10000 * 10
        return (milli_gbp + 5) // 10

    def text(self, minor: int) -> str:
        """Money as Shopify writes it: "1980" for yen, "12.50" for pounds."""
        if self.currency == "JPY":
            return str(minor)
        sign = "-" if minor < 0 else ""
        minor = abs(minor)
        return f"{sign}{minor // 100}.{minor % 100:02d}"
