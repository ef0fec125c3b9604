"""Conversions between Shopify's GraphQL ids, REST integer ids, money strings and instants."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

GID_PREFIX = "gid://shopify/"
#: Money is stored as NUMERIC(18, 4) (`lumo.models.base.Money`): 14 digits before the point.
MAX_MONEY = Decimal(10) ** 14


def to_gid(typename: str, numeric_id: int | str) -> str:
    """Build a GraphQL id such as `gid://shopify/Customer/207119551`."""
    return f"{GID_PREFIX}{typename}/{numeric_id}"


def split_gid(gid: str) -> tuple[str, int]:
    """Return (typename, numeric id) of a GID; a query part (`?inventory_item_id=`) is dropped."""
    if not gid.startswith(GID_PREFIX):
        raise ValueError(f"not a Shopify GID: {gid!r}")
    typename, _, rest = gid[len(GID_PREFIX) :].partition("/")
    number = rest.partition("?")[0]
    if not typename or not number.isdigit():
        raise ValueError(f"not a Shopify GID: {gid!r}")
    return typename, int(number)


def gid_to_id(gid: str) -> int:
    """The numeric id inside a GID."""
    return split_gid(gid)[1]


def gid_type(gid: str) -> str:
    """The object type inside a GID (`Customer`, `LineItem`, ...)."""
    return split_gid(gid)[0]


def parse_money(amount: str | int | float | Decimal | None) -> Decimal | None:
    """Shopify sends money as strings (`"598.94"`, `"1200"` for JPY); keep it exact.

    NaN, infinities and amounts too large to store are refused, so a corrupt payload fails
    with the reason instead of storing a value no total or Segment can compare. Negative
    amounts pass: refunds, discounts and adjustments are negative in Shopify's own data.
    """
    if amount is None or amount == "":
        return None
    if type(amount) is str:
        known = _parsed_amounts.get(amount)
        if known is not None:
            return known
    try:
        value = Decimal(str(amount))
    except InvalidOperation as error:
        raise ValueError(f"not a money amount: {amount!r}") from error
    if not value.is_finite():
        raise ValueError(f"not a money amount: {amount!r} is not a finite number")
    if abs(value) >= MAX_MONEY or abs(round(value, 4)) >= MAX_MONEY:  # stored to 4 places
        raise ValueError(f"not a money amount: {amount!r} is too large to be a price or total")
    if type(amount) is str:
        if len(_parsed_amounts) >= 4096:
            _parsed_amounts.clear()
        _parsed_amounts[amount] = value
    return value


#: Amounts already parsed: prices and totals repeat across a store's records, and a Decimal is
#: immutable, so one parse serves them all.
_parsed_amounts: dict[str, Decimal] = {}


def parse_instant(value: str | None) -> datetime | None:
    """Parse a GraphQL (UTC, `Z`) or REST (shop offset) timestamp into an aware UTC datetime."""
    if not value:
        return None
    parsed = datetime.fromisoformat(value)  # reads `Z` itself, as UTC
    zone = parsed.tzinfo
    if zone is UTC:
        return parsed  # what GraphQL sends, so the common case comes first
    if zone is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def format_instant(moment: datetime) -> str:
    """Format an instant the way Shopify's search syntax and GraphQL expect (`…Z`)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def updated_since_query(moment: datetime) -> str:
    """A search `query:` value selecting records changed after `moment` (dates must be quoted)."""
    return f"updated_at:>'{format_instant(moment)}'"
