"""Validation: unknown fields, wrong operators, wrong values and gated fields, in plain words."""

from __future__ import annotations

import pytest

from lumo.segments.errors import SegmentValidationError
from lumo.segments.parser import parse_segment
from lumo.segments.validation import validate_segment

from .conftest import builtin_registry

REGISTRY = builtin_registry()
EMAIL_ON = frozenset({("customers", "email")})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "custmer_tags CONTAINS 'vip'",
            "at column 1: There is no Segment field called 'custmer_tags'. Did you mean "
            "'customer_tags'?",
        ),
        ("カゴ落ち IS SET", "There is no Segment field called 'カゴ落ち'. Did you mean 'aband"),
        (
            "lumo_tags IS SET AND number_of_order > 2",
            "at column 22: There is no Segment field called "
            "'number_of_order'. Did you mean 'number_of_orders'?",
        ),
        (
            "customer_tags = 'vip'",
            "customer_tags is a list and does not take =; use CONTAINS, NOT CONTAINS, IS SET, "
            "IS NOT SET.",
        ),
        (
            "number_of_orders >= 'three'",
            "number_of_orders takes a whole number, like 3, not 'three'.",
        ),
        ("number_of_orders >= 2.5", "number_of_orders takes a whole number"),
        ("amount_spent > -7d", "amount_spent takes a number, like 5000, not -7d."),
        ("last_order_date > 30", "last_order_date takes a date like 2026-01-31, an offset"),
        (
            "line_follow_status = 'follow'",
            "line_follow_status is 'following' or 'blocked', not 'follow'. Did you mean "
            "'following'?",
        ),
        ("customer_account_status = 'Enabled'", "Did you mean 'enabled'?"),
        ("shopify_linked = 'yes'", "shopify_linked takes true or false, not 'yes'."),
        ("customer_tags CONTAINS ''", "customer_tags needs a value that is not empty."),
        (
            "orders_placed >= 3",
            "orders_placed is a function: write it as orders_placed "
            "MATCHES (count >= 3, date > -90d).",
        ),
        ("customer_tags MATCHES (count > 1)", "customer_tags is not a function"),
        (
            "orders_placed MATCHES (cnt >= 3)",
            "orders_placed has no parameter 'cnt'; it takes date, amount, count, sum_amount. "
            "Did you mean 'count'?",
        ),
        ("orders_placed MATCHES (date > -7d, date < -1d)", "orders_placed takes date only once"),
        (
            "orders_placed MATCHES (count CONTAINS 'x')",
            "orders_placed count is a integer and does not take CONTAINS",
        ),
        ("products_purchased MATCHES (tag = 7)", "products_purchased tag takes text"),
        ("number_of_orders BETWEEN 5 AND 1", "BETWEEN 5 AND 1 is empty; put the smaller value"),
        ("last_order_date BETWEEN -7d AND -30d", "put the older offset first"),
        (
            "sms_subscription_status = 'subscribed'",
            "sms_subscription_status needs the 'phone' property of customers, which this "
            "workspace does not sync. Turn it on in Synced Data → customers first.",
        ),
    ],
)
def test_invalid_segments_are_explained(text: str, message: str) -> None:
    with pytest.raises(SegmentValidationError) as caught:
        validate_segment(parse_segment(text), REGISTRY, EMAIL_ON)

    assert message in str(caught.value)


def test_email_consent_needs_email_syncing_on() -> None:
    segment = parse_segment("email_subscription_status = 'subscribed'")

    validate_segment(segment, REGISTRY, EMAIL_ON)
    with pytest.raises(SegmentValidationError, match="Turn it on in Synced Data"):
        validate_segment(segment, REGISTRY, frozenset())
    assert "email_subscription_status" not in {f.name for f in REGISTRY.available(frozenset())}


def test_too_many_conditions_are_refused() -> None:
    text = " OR ".join(f"customer_tags CONTAINS 't{n}'" for n in range(201))

    with pytest.raises(SegmentValidationError, match="201 conditions"):
        validate_segment(parse_segment(text), REGISTRY)


@pytest.mark.parametrize(
    "text",
    [
        "customer_tags CONTAINS 'vip' AND last_order_date < -90d",
        "number_of_orders >= 3 AND amount_spent BETWEEN 10000 AND 50000",
        "products_purchased MATCHES (tag = 'summer', date > -30d)",
        "orders_placed MATCHES (count >= 2, date > -90d) AND NOT customer_tags CONTAINS 'staff'",
        "lumo_tags CONTAINS 'x' AND line_follow_status = 'following' AND shopify_linked = true",
        "line_friend_added_date > -30d AND abandoned_checkout_date > -7d",
        "abandoned_checkouts MATCHES (recovered = false, amount >= 5000) "
        "AND has_active_cart = true",
    ],
)
def test_the_examples_of_the_brief_validate(text: str) -> None:
    validate_segment(parse_segment(text), REGISTRY)


def test_every_field_documents_itself_and_its_example_validates() -> None:
    everything = frozenset({("customers", "email"), ("customers", "phone")})
    for field in REGISTRY:
        assert field.description and field.synonyms and field.example, field.name
        assert any(not s.isascii() for s in field.synonyms), f"{field.name}: no Japanese word"
        validate_segment(parse_segment(field.example), REGISTRY, everything)
        assert field.describe()["name"] == field.name


def test_registry_finds_fields_by_synonym() -> None:
    assert REGISTRY.suggest("カゴ落ち") in {"abandoned_checkout_date", "abandoned_checkouts"}
    assert REGISTRY.suggest("顧客タグ") == "customer_tags"
    assert "lumo_tags" in {f.name for f in REGISTRY.find("友だちタグ")}
