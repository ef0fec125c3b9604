"""metafieldsSet: chunking at 25, read-back, userErrors mapped to input positions."""

from __future__ import annotations

import pytest

from lumo.shopify.errors import ShopifyUserError
from lumo.shopify.metafields import set_metafields
from tests.shopify.conftest import API_KEY


def _inputs(shop, count):
    numbers = [n for n, _ in shop.data.iter_records("customers")]
    return [
        {
            "ownerId": f"gid://shopify/Customer/{numbers[i % len(numbers)]}",
            "namespace": "$app:line",
            "key": f"status_{i // len(numbers)}",
            "type": "single_line_text_field",
            "value": "friend",
        }
        for i in range(count)
    ]


def test_inputs_are_sent_25_at_a_time(client, shop):
    calls = []
    real = client.graphql
    client.graphql = lambda q, v=None: calls.append(len(v["metafields"])) or real(q, v)
    stored = set_metafields(client, _inputs(shop, 60))
    assert calls == [25, 25, 10]
    assert len(stored) == 60
    assert stored[0]["namespace"] == f"app--{API_KEY}--line"


def test_written_values_read_back(client, shop):
    number, _ = next(iter(shop.data.iter_records("customers")))
    owner = f"gid://shopify/Customer/{number}"
    set_metafields(
        client,
        [
            {
                "ownerId": owner,
                "namespace": "$app:line",
                "key": "linked",
                "type": "boolean",
                "value": "true",
            },
            {
                "ownerId": owner,
                "namespace": "$app:line",
                "key": "linked_at",
                "type": "date_time",
                "value": "2026-01-15T09:30:00Z",
            },
        ],
    )
    data = client.graphql(
        "query($id: ID!, $ns: String!) { customer(id: $id) { "
        'linked: metafield(namespace: $ns, key: "linked") { value type } '
        "metafields(first: 10) { nodes { key value } } } }",
        {"id": owner, "ns": f"app--{API_KEY}--line"},
    )
    assert data["customer"]["linked"] == {"value": "true", "type": "boolean"}
    alias = client.graphql(
        'query($id: ID!) { customer(id: $id) { metafield(namespace: "$app:line", '
        'key: "linked_at") { value } } }',
        {"id": owner},
    )
    assert alias["customer"]["metafield"] == {"value": "2026-01-15T09:30:00Z"}
    assert {m["key"] for m in data["customer"]["metafields"]["nodes"]} == {"linked", "linked_at"}


def test_user_errors_point_at_the_input(client, shop):
    inputs = _inputs(shop, 30)
    inputs[27]["value"] = "two\nlines"
    with pytest.raises(ShopifyUserError) as caught:
        set_metafields(client, inputs)
    assert caught.value.user_errors[0]["elementIndex"] == 27
    # the first chunk of 25 was written; the failing chunk wrote nothing (atomic per call)
    assert sum(len(v) for v in shop.data.metafields.values()) == 25
