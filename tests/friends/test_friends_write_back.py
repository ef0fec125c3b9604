"""Write-back of LINE status to Shopify metafields: coalescing, retries, outcomes, bulk."""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any

import pytest
from friends_support import CUSTOMER_IDS, World, add_store_customer, add_synced_customer
from sqlalchemy import select

from lumo.extensions import db
from lumo.friends import write_back
from lumo.friends.clients import shopify_client_for
from lumo.friends.follows import record_follow, record_unfollow
from lumo.friends.linking import link_friend
from lumo.models import LineFriend, ShopifyConnection, WriteBack
from plugins.line_status.write_back import lumo_write_back


def make_friend(world: World, number: int, *, added: datetime | None = None) -> LineFriend:
    at = added or datetime(2026, 2, 1, 12, 0, tzinfo=UTC)
    change = record_follow(world.workspace_id, "U" + f"{number:032x}", at, is_unblocked=False)
    db.session.commit()
    return change.friend


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """Jobs the write-back module queued, held instead of run."""
    calls: list[tuple[Any, ...]] = []
    monkeypatch.setattr(write_back.jobs, "enqueue", lambda *args, **kw: calls.append(args))
    return calls


@pytest.fixture
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    delays: list[float] = []
    monkeypatch.setattr(write_back, "sleep", delays.append)
    monkeypatch.setattr(
        write_back,
        "shopify_client_for",
        functools.partial(shopify_client_for, sleep=delays.append),
    )
    return delays


def test_a_burst_of_changes_queues_one_job_that_sends_the_latest(
    world: World, queued: list[tuple[Any, ...]]
) -> None:
    friend = make_friend(world, 1)
    link_friend(world.workspace_id, friend.id, 7001, method="manual")
    db.session.commit()

    first = write_back.request_write_back(world.workspace_id, friend.id)
    record_unfollow(world.workspace_id, friend.line_user_id, datetime.now(UTC))
    db.session.commit()
    second = write_back.request_write_back(world.workspace_id, friend.id)
    assert first == second
    assert len(queued) == 1
    assert queued[0][0] == "writebacks"

    write_back.run_write_back(first)
    row = db.session.get(WriteBack, first)
    assert row is not None and row.status == "done"
    assert row.values == {
        "$app:line.follow_status": "blocked",
        "$app:line.friend_added_date": "2026-02-01",
    }
    assert world.metafield(7001, "follow_status") == "blocked"

    # Once it ran, the next change queues a new write-back.
    assert write_back.request_write_back(world.workspace_id, friend.id) != first
    assert len(queued) == 2


def test_an_unlinked_friend_writes_nothing(world: World, queued: list[tuple[Any, ...]]) -> None:
    friend = make_friend(world, 2)
    assert write_back.request_write_back(world.workspace_id, friend.id) is None
    assert queued == []
    assert db.session.scalars(select(WriteBack)).all() == []


def test_a_friend_unlinked_before_the_job_runs_is_skipped(
    world: World, queued: list[tuple[Any, ...]]
) -> None:
    from lumo.friends.linking import unlink

    friend = make_friend(world, 3)
    link_friend(world.workspace_id, friend.id, 7001, method="manual")
    db.session.commit()
    row_id = write_back.request_write_back(world.workspace_id, friend.id)
    unlink(world.workspace_id, friend_id=friend.id)
    db.session.commit()

    write_back.run_write_back(row_id)
    row = db.session.get(WriteBack, row_id)
    assert row is not None and row.status == "skipped"
    assert world.metafield(7001, "follow_status") is None


def test_shopify_outages_are_retried_with_backoff(world: World, no_waiting: list[float]) -> None:
    friend = make_friend(world, 4)
    link_friend(world.workspace_id, friend.id, 7001, method="manual")
    db.session.commit()
    # The client tries 3 times per attempt; the fourth answer is the first good one.
    world.shop.set_faults(http_5xx=4)

    row_id = write_back.request_write_back(world.workspace_id, friend.id)
    row = db.session.get(WriteBack, row_id)
    assert row is not None and row.status == "done"
    assert world.metafield(7001, "follow_status") == "following"
    assert write_back.RETRY_DELAYS[0] in no_waiting


def test_lasting_outages_and_revoked_tokens_are_recorded_as_failed(
    world: World, no_waiting: list[float]
) -> None:
    friend = make_friend(world, 5)
    link_friend(world.workspace_id, friend.id, 7001, method="manual")
    db.session.commit()

    world.shop.set_faults(http_5xx=100)
    down = db.session.get(WriteBack, write_back.request_write_back(world.workspace_id, friend.id))
    assert down is not None and down.status == "failed"
    assert "Shopify" in (down.error or "")

    world.shop.set_faults(http_5xx=0, revoked=True)
    refused = db.session.get(
        WriteBack, write_back.request_write_back(world.workspace_id, friend.id)
    )
    assert refused is not None and refused.status == "failed"
    assert "Reconnect the store" in (refused.error or "")
    connection = db.session.scalars(select(ShopifyConnection)).one()
    assert connection.state == "broken"


def test_write_back_all_sends_whole_customers_25_metafields_per_call(
    world: World, no_waiting: list[float]
) -> None:
    customer_ids = list(CUSTOMER_IDS) + [7100 + n for n in range(27)]
    for number, customer_id in enumerate(customer_ids):
        if customer_id not in CUSTOMER_IDS:
            add_store_customer(world.shop, customer_id)
            add_synced_customer(world.workspace_id, customer_id)
        friend = make_friend(world, 100 + number)
        link_friend(world.workspace_id, friend.id, customer_id, method="manual")
    db.session.commit()
    # Deleted in Shopify after the sync: its batch is refused and retried one by one.
    world.shop.store.delete("customers", 7105)

    summary = write_back.write_back_all(world.workspace_id)

    assert summary.customers == 29
    assert summary.failed_customers == 1
    assert summary.metafields == 58
    assert summary.calls == 3 + 12  # 12 customers per call; the refused batch one by one
    assert all(
        world.metafield(c, "follow_status") == "following" for c in customer_ids if c != 7105
    )
    failed = db.session.scalars(select(WriteBack).where(WriteBack.friend_id.is_not(None))).one()
    assert (failed.customer_shopify_id, failed.status) == (7105, "failed")
    total = db.session.get(WriteBack, summary.write_back_id)
    assert total is not None and total.values is not None
    assert total.values["customers"] == 29


def test_the_plugin_writes_the_date_in_the_workspace_time_zone(world: World) -> None:
    friend = make_friend(world, 6, added=datetime(2026, 1, 15, 16, 30, tzinfo=UTC))
    values = {v.key: v for v in lumo_write_back(friend, 7001, datetime.now(UTC))}
    assert values["friend_added_date"].value == "2026-01-16"  # already the 16th in Tokyo
    assert values["friend_added_date"].type == "date"
    assert values["follow_status"].type == "single_line_text_field"
    assert {v.namespace for v in values.values()} == {"$app:line"}

    friend.friend_added_at = None
    assert [v.key for v in lumo_write_back(friend, 7001, datetime.now(UTC))] == ["follow_status"]


def test_write_back_all_runs_as_a_job_and_removal_cancels_pending(
    world: World, queued: list[tuple[Any, ...]]
) -> None:
    friend = make_friend(world, 7)
    link_friend(world.workspace_id, friend.id, 7002, method="manual")
    db.session.commit()
    row_id = write_back.request_write_back(world.workspace_id, friend.id)

    assert write_back.cancel_pending_write_backs(world.workspace_id) == 1
    write_back.run_write_back(row_id)
    row = db.session.get(WriteBack, row_id)
    assert row is not None and row.status == "skipped"
    assert world.metafield(7002, "follow_status") is None

    write_back.enqueue_write_back_all(world.workspace_id)
    assert queued[-1][1] is write_back.write_back_all_job
    queued[-1][1](world.workspace_id)
    assert world.metafield(7002, "follow_status") == "following"
