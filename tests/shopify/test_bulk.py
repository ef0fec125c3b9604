"""Bulk operations end to end: start, poll, stream JSONL, re-assemble children, failures."""

from __future__ import annotations

import json
from collections import defaultdict

import pytest

from lumo.shopify import bulk
from lumo.shopify.errors import (
    BulkOperationBusyError,
    BulkOperationError,
    TruncatedBulkResultError,
)

ORDERS = """
{ orders { edges { node {
    id name processedAt cancelledAt displayFinancialStatus customer { id }
    totalPriceSet { shopMoney { amount currencyCode } }
    lineItems { edges { node { id title sku quantity variantTitle } } }
} } } }
"""


def _expected_orders(shop):
    expected = {}
    for number, order in shop.data.iter_records("orders"):
        expected[number] = sorted(item["id"] for item in order["line_items"])
    return expected


def _assemble(records):
    parents, children = set(), defaultdict(list)
    for record in records:
        if record.parent_id is None:
            assert record.typename == "Order"
            parents.add(record.id)
        else:
            assert record.typename == "LineItem"
            children[record.parent_id].append(record.id)
    return parents, {k: sorted(v) for k, v in children.items()}


@pytest.mark.parametrize("order", ["parents_first", "children_first", "delayed"])
def test_children_are_reassembled_whatever_the_line_order(client, shop, order):
    shop.set_faults(bulk_order=order)
    stats = bulk.BulkReadStats()
    started = bulk.run_bulk_query(client, ORDERS)
    finished = bulk.wait_for_bulk_operation(client, started.id, poll_interval=1)
    # a tiny chunk size splits lines across HTTP chunks and batches
    records = list(bulk.read_bulk_result(client, finished, stats=stats, chunk_size=7))
    batches = list(bulk.batched(records, 10))
    assert sum(len(b) for b in batches) == len(records)

    parents, children = _assemble(records)
    expected = _expected_orders(shop)
    assert parents == set(expected)
    assert children == {k: v for k, v in expected.items() if v}
    assert stats.lines == finished.object_count
    assert stats.orphans == 0


def test_record_fields_match_the_selection(client, shop):
    records = list(bulk.run_and_read(client, ORDERS, poll_interval=1))
    order = next(r for r in records if r.parent_id is None)
    assert set(order.data) == {
        "id",
        "name",
        "processedAt",
        "cancelledAt",
        "displayFinancialStatus",
        "customer",
        "totalPriceSet",
    }
    item = next(r for r in records if r.parent_id is not None)
    assert item.parent_gid.startswith("gid://shopify/Order/")
    assert "__parentId" not in item.data


def test_truncated_download_is_detected(client, shop):
    shop.set_faults(truncate_bulk=True)
    started = bulk.run_bulk_query(client, ORDERS)
    finished = bulk.wait_for_bulk_operation(client, started.id, poll_interval=1)
    with pytest.raises(TruncatedBulkResultError, match="cut short"):
        list(bulk.read_bulk_result(client, finished))


def test_partial_last_line_is_detected():
    lines = [b'{"id":"gid://shopify/Customer/1"}', b'{"id":"gid://shopify/Cus']
    with pytest.raises(TruncatedBulkResultError):
        list(bulk.parse_bulk_lines(lines))


@pytest.mark.parametrize(
    ("fault", "status"),
    [({"bulk_fail": "ACCESS_DENIED"}, "FAILED"), ({"bulk_expire": True}, "EXPIRED")],
)
def test_failed_and_expired_operations_raise(client, shop, fault, status):
    shop.set_faults(**fault)
    started = bulk.run_bulk_query(client, ORDERS)
    with pytest.raises(BulkOperationError) as caught:
        bulk.wait_for_bulk_operation(client, started.id, poll_interval=1)
    assert caught.value.status == status
    if status == "FAILED":
        assert caught.value.error_code == "ACCESS_DENIED"
        assert "access scope" in str(caught.value)


def test_busy_store_raises_or_waits(client, shop):
    first = bulk.run_bulk_query(client, ORDERS)
    with pytest.raises(BulkOperationBusyError):
        bulk.run_bulk_query(client, ORDERS, wait_if_busy=False)
    second = bulk.run_bulk_query(client, ORDERS, poll_interval=1)
    assert second.id != first.id
    assert bulk.get_bulk_operation(client, first.id).status == "COMPLETED"


def test_resume_from_a_known_operation_id(client, shop, sandbox, receiver):
    shop.subscribe("bulk_operations/finish", receiver.url)
    started = bulk.run_bulk_query(client, "{ customers { nodes { id } } }")
    finished = bulk.wait_for_bulk_operation(client, started.id, poll_interval=1)
    payload = json.loads(receiver.requests[-1]["body"])
    assert payload["admin_graphql_api_id"] == started.id and payload["status"] == "completed"
    resumed = bulk.get_bulk_operation(client, payload["admin_graphql_api_id"])
    assert resumed == finished
    assert sum(1 for _ in bulk.read_bulk_result(client, resumed)) == 40


def test_invalid_bulk_query_is_refused(client):
    with pytest.raises(BulkOperationError, match="refused"):
        bulk.run_bulk_query(client, "{ customers { nodes { id favouriteColour } } }")


def test_orphans_are_counted_not_held():
    lines = [
        b'{"id":"gid://shopify/LineItem/9","__parentId":"gid://shopify/Order/2"}',
        b'{"id":"gid://shopify/Order/1"}',
        b'{"id":"gid://shopify/LineItem/10","__parentId":"gid://shopify/Order/1"}',
        b'{"id":"gid://shopify/Order/2"}',
        b'{"id":"gid://shopify/LineItem/11","__parentId":"gid://shopify/Order/7"}',
        b'{"id":"gid://shopify/Order/5"}',
        b'{"id":"gid://shopify/Order/3"}',
        b'{"id":"gid://shopify/LineItem/12","__parentId":"gid://shopify/Order/3"}',
    ]
    stats = bulk.BulkReadStats()
    records = list(bulk.parse_bulk_lines(lines, stats=stats))
    assert stats.orphans == 1
    assert (stats.roots, stats.children) == (4, 4)
    assert [r.parent_id for r in records if r.parent_id] == [2, 1, 7, 3]


def test_orphans_are_counted_in_the_window_of_recent_parents(monkeypatch):
    monkeypatch.setattr(bulk._SeenIds, "BLOCK", 4)
    monkeypatch.setattr(bulk._SeenIds, "WINDOW", 8)
    orders = [b'{"id":"gid://shopify/Order/%d"}' % n for n in range(10, 30)]
    late = [
        b'{"id":"gid://shopify/LineItem/1","__parentId":"gid://shopify/Order/27"}',  # in it
        b'{"id":"gid://shopify/LineItem/2","__parentId":"gid://shopify/Order/11"}',  # older
        b'{"id":"gid://shopify/LineItem/3","__parentId":"gid://shopify/Order/26"}',
        b'{"id":"gid://shopify/LineItem/4","__parentId":"gid://shopify/Order/99"}',  # never
    ]
    stats = bulk.BulkReadStats()
    records = list(bulk.parse_bulk_lines([*orders, *late], stats=stats))

    assert len(records) == 24
    assert stats.orphans == 1


@pytest.mark.parametrize("line", [b"[1, 2]", b"null", b'"x"', b"5"])
def test_a_line_that_is_not_an_object_fails_with_a_clear_error(line):
    lines = [b'{"id":"gid://shopify/Customer/5"}', line]
    with pytest.raises(BulkOperationError, match="Line 2 of the bulk result is JSON but not"):
        list(bulk.parse_bulk_lines(lines))


def test_an_id_past_64_bits_is_left_to_the_mapper_not_fatal():
    lines = [
        b'{"id":"gid://shopify/Customer/99999999999999999999"}',
        b'{"id":"gid://shopify/Customer/5"}',
    ]
    records = list(bulk.parse_bulk_lines(lines))
    assert [r.id for r in records] == [None, 5]
    assert records[0].typename == "Customer"


def test_generated_shop_counts_match_its_stream(sandbox, make_client):
    big = sandbox.add_generated_shop(
        "big-shop.myshopify.com", customers=300, seed=11, materialize=False
    )
    from lumo.shopify.client import ShopifyClient
    from tests.shopify.conftest import API_VERSION

    with ShopifyClient(
        big.domain,
        big.issue_token(),
        api_version=API_VERSION,
        url_template=sandbox.shop_url_template,
        sleep=lambda s: None,
    ) as client:
        stats = bulk.BulkReadStats()
        started = bulk.run_bulk_query(client, ORDERS)
        finished = bulk.wait_for_bulk_operation(client, started.id, poll_interval=1)
        count = sum(1 for _ in bulk.read_bulk_result(client, finished, stats=stats))
    assert count == finished.object_count == stats.lines
    assert stats.roots == finished.root_object_count == big.data.count_records("orders")
