"""Writing each linked friend's LINE status to its Shopify customer as metafields.

A change (link made, follow, block, unblock) calls `request_write_back`, which queues one job
per friend on the `writebacks` queue. While a friend's write-back is still pending, further
changes do not queue another: the job reads the friend's state when it runs, so it sends the
latest. Every attempt's outcome is a `write_backs` row: pending → running → done, failed or
skipped. Metafields come from every plugin's `lumo_write_back` hook and go out through
`metafieldsSet`; the Shopify client waits out throttling, and failures that may pass (5xx,
network, throttling that did not clear) are retried here with a bounded backoff.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from flask import current_app
from sqlalchemy import select, update

from lumo import jobs
from lumo.extensions import db
from lumo.friends.clients import shopify_client_for
from lumo.friends.errors import ShopifyNotConnected
from lumo.friends.linking import link_of_friend
from lumo.logs import log_context
from lumo.mapping import MetafieldValue
from lumo.models import CustomerFriendLink, LineFriend, WriteBack
from lumo.shopify import (
    ShopifyClient,
    ShopifyError,
    ShopifyThrottledError,
    ShopifyUnavailableError,
    ShopifyUserError,
)
from lumo.shopify.ids import to_gid
from lumo.shopify.metafields import MAX_PER_CALL, set_metafields

logger = logging.getLogger(__name__)

PENDING, RUNNING, DONE, FAILED, SKIPPED = "pending", "running", "done", "failed", "skipped"

#: Pauses between attempts when Shopify stays unavailable after the client's own retries.
RETRY_DELAYS: tuple[float, ...] = (2.0, 10.0)
#: A pending or running row older than this belongs to a job that died; it is not waited for.
STALE_AFTER = timedelta(minutes=15)
#: Linked friends read per database round trip by `write_back_all`.
BULK_READ_SIZE = 500

TRANSIENT_ERRORS = (ShopifyUnavailableError, ShopifyThrottledError, httpx.TransportError)

sleep: Callable[[float], None] = time.sleep


@dataclass(frozen=True)
class BulkWriteBackSummary:
    """The outcome of `write_back_all`."""

    write_back_id: int
    customers: int
    metafields: int
    calls: int
    failed_customers: int


def collect_metafields(
    friend: LineFriend, customer_shopify_id: int, changed_at: datetime
) -> list[MetafieldValue]:
    """Every plugin's metafields for this friend; a later plugin's value for a key wins."""
    pm = current_app.extensions["lumo.plugins"]
    answers = pm.hook.lumo_write_back(
        friend=friend, customer_shopify_id=customer_shopify_id, changed_at=changed_at
    )
    merged: dict[tuple[str, str], MetafieldValue] = {}
    for answer in reversed(answers):  # pluggy answers last-registered first
        for value in answer or []:
            merged[(value.namespace, value.key)] = value
    return list(merged.values())


def metafield_inputs(
    customer_shopify_id: int, values: Sequence[MetafieldValue]
) -> list[dict[str, str]]:
    """`MetafieldsSetInput` objects owned by the customer."""
    owner = to_gid("Customer", customer_shopify_id)
    return [
        {
            "ownerId": owner,
            "namespace": value.namespace,
            "key": value.key,
            "type": value.type,
            "value": value.value,
        }
        for value in values
    ]


def request_write_back(workspace_id: int, friend_id: int) -> int | None:
    """Queue a write-back for a linked friend; returns the `write_backs` row id.

    Returns None for an unlinked friend (nothing to write). When one is already pending for the
    friend, returns that row instead of queueing another. Commits.
    """
    link = link_of_friend(workspace_id, friend_id)
    if link is None:
        return None

    now = datetime.now(UTC)
    pending = db.session.scalar(
        select(WriteBack)
        .where(
            WriteBack.workspace_id == workspace_id,
            WriteBack.friend_id == friend_id,
            WriteBack.status == PENDING,
        )
        .order_by(WriteBack.id.desc())
        .limit(1)
    )
    if pending is not None and now - pending.created_at < STALE_AFTER:
        logger.info("write-back %s for friend %s already pending", pending.id, friend_id)
        return pending.id
    if pending is not None:
        _finish(pending, FAILED, "The job for this write-back never ran; a new one was queued.")

    row = WriteBack(
        workspace_id=workspace_id,
        friend_id=friend_id,
        customer_shopify_id=link.customer_shopify_id,
        status=PENDING,
        created_at=now,
    )
    db.session.add(row)
    db.session.commit()
    row_id = row.id
    logger.info("write-back %s queued for friend %s", row_id, friend_id)
    jobs.enqueue("writebacks", run_write_back, row_id)
    return row_id


@jobs.job
def run_write_back(write_back_id: int) -> None:
    """Send one friend's current LINE status to its linked customer (a `writebacks` job)."""
    with log_context(write_back=write_back_id):
        row = db.session.get(WriteBack, write_back_id)
        if row is None or row.status != PENDING:
            return
        # Running from here on: a change arriving now queues a new write-back of its own.
        row.status = RUNNING
        db.session.commit()

        friend = db.session.get(LineFriend, row.friend_id) if row.friend_id else None
        link = link_of_friend(row.workspace_id, friend.id) if friend is not None else None
        if friend is None or link is None:
            _finish(row, SKIPPED, "The friend is no longer linked; nothing was written.")
            return
        row.customer_shopify_id = link.customer_shopify_id

        values = collect_metafields(friend, link.customer_shopify_id, datetime.now(UTC))
        if not values:
            _finish(row, SKIPPED, "No plugin had a metafield to write.")
            return
        row.values = {f"{v.namespace}.{v.key}": v.value for v in values}
        inputs = metafield_inputs(link.customer_shopify_id, values)

        try:
            with shopify_client_for(row.workspace_id) as client:
                _send_with_retries(client, inputs)
        except (ShopifyError, ShopifyNotConnected, *TRANSIENT_ERRORS) as error:
            _finish(row, FAILED, str(error))
            logger.warning(
                "write-back %s for friend %s failed: %s",
                write_back_id,
                friend.id,
                type(error).__name__,
            )
            return
        _finish(row, DONE, None)
        logger.info(
            "write-back %s: %d metafield(s) set on customer %s",
            write_back_id,
            len(inputs),
            link.customer_shopify_id,
        )


def write_back_all(workspace_id: int) -> BulkWriteBackSummary:
    """Write every linked friend's status, whole customers per call, 25 metafields at most.

    For after the initial sync and a manual re-sync. A call Shopify refuses is repeated one
    customer at a time so one bad customer does not sink 24 others; each customer that still
    fails gets its own failed `write_backs` row. The summary row (no friend) holds the counts.
    """
    summary = WriteBack(workspace_id=workspace_id, status=RUNNING, values={"kind": "all"})
    db.session.add(summary)
    db.session.commit()
    totals = _BulkTotals()

    try:
        with shopify_client_for(workspace_id) as client:
            batch: list[_CustomerWrite] = []
            for friend, customer_id in _linked_friends(workspace_id):
                values = collect_metafields(friend, customer_id, datetime.now(UTC))
                inputs = metafield_inputs(customer_id, values)
                item = _CustomerWrite(friend.id, customer_id, inputs)
                if not item.inputs:
                    continue
                if batch and sum(len(b.inputs) for b in batch) + len(item.inputs) > MAX_PER_CALL:
                    _send_batch(client, workspace_id, batch, totals)
                    batch = []
                batch.append(item)
            if batch:
                _send_batch(client, workspace_id, batch, totals)
    except (ShopifyError, ShopifyNotConnected, *TRANSIENT_ERRORS) as error:
        summary.values = totals.as_values()
        _finish(summary, FAILED, str(error))
        logger.warning("bulk write-back %s stopped: %s", summary.id, type(error).__name__)
        raise

    summary.values = totals.as_values()
    problem = None
    if totals.failed:
        problem = f"{totals.failed} customer(s) could not be written; see their write-back rows."
    _finish(summary, FAILED if problem else DONE, problem)
    logger.info(
        "bulk write-back %s in workspace %s: %d customers, %d calls, %d failed",
        summary.id, workspace_id, totals.customers, totals.calls, totals.failed,
    )  # fmt: skip
    return BulkWriteBackSummary(
        summary.id, totals.customers, totals.metafields, totals.calls, totals.failed
    )


@jobs.job
def write_back_all_job(workspace_id: int) -> None:
    """`write_back_all` as a `writebacks` job."""
    with log_context(job=f"write-back-all-{workspace_id}"):
        try:
            write_back_all(workspace_id)
        except (ShopifyError, ShopifyNotConnected, *TRANSIENT_ERRORS):
            return  # recorded on the summary row


def enqueue_write_back_all(workspace_id: int) -> str | None:
    """Queue `write_back_all` on the `writebacks` queue; returns the RQ job id if any."""
    return jobs.enqueue("writebacks", write_back_all_job, workspace_id)


# -- helpers ----------------------------------------------------------------------------------


def _send_with_retries(client: ShopifyClient, inputs: list[dict[str, str]]) -> None:
    for attempt in range(len(RETRY_DELAYS) + 1):
        try:
            set_metafields(client, inputs)
            return
        except TRANSIENT_ERRORS as error:
            if attempt == len(RETRY_DELAYS):
                raise
            delay = RETRY_DELAYS[attempt]
            logger.info(
                "metafieldsSet: %s, attempt %d again in %.1f s",
                type(error).__name__,
                attempt + 2,
                delay,
            )
            sleep(delay)


@dataclass(frozen=True)
class _CustomerWrite:
    friend_id: int
    customer_shopify_id: int
    inputs: list[dict[str, str]]


@dataclass
class _BulkTotals:
    customers: int = 0
    metafields: int = 0
    calls: int = 0
    failed: int = 0

    def as_values(self) -> dict[str, Any]:
        return {
            "kind": "all",
            "customers": self.customers,
            "metafields": self.metafields,
            "calls": self.calls,
            "failed_customers": self.failed,
        }


def _send_batch(
    client: ShopifyClient, workspace_id: int, batch: list[_CustomerWrite], totals: _BulkTotals
) -> None:
    """Send whole customers in one call; a refused call is repeated customer by customer."""
    try:
        totals.calls += 1
        _send_with_retries(client, [item for write in batch for item in write.inputs])
        totals.customers += len(batch)
        totals.metafields += sum(len(write.inputs) for write in batch)
        return
    except ShopifyUserError:
        logger.info("metafieldsSet refused a batch of %d customers; one by one now", len(batch))

    for write in batch:
        totals.calls += 1
        try:
            _send_with_retries(client, write.inputs)
        except ShopifyUserError as error:
            totals.failed += 1
            db.session.add(
                WriteBack(
                    workspace_id=workspace_id,
                    friend_id=write.friend_id,
                    customer_shopify_id=write.customer_shopify_id,
                    status=FAILED,
                    error=str(error),
                    values={f"{i['namespace']}.{i['key']}": i["value"] for i in write.inputs},
                    finished_at=datetime.now(UTC),
                )
            )
            continue
        totals.customers += 1
        totals.metafields += len(write.inputs)
    db.session.commit()


def _linked_friends(workspace_id: int) -> Iterator[tuple[LineFriend, int]]:
    """Linked friends in link-id order, read in pages so memory stays flat."""
    after = 0
    while True:
        rows = db.session.execute(
            select(CustomerFriendLink.id, LineFriend, CustomerFriendLink.customer_shopify_id)
            .join(LineFriend, LineFriend.id == CustomerFriendLink.friend_id)
            .where(CustomerFriendLink.workspace_id == workspace_id, CustomerFriendLink.id > after)
            .order_by(CustomerFriendLink.id)
            .limit(BULK_READ_SIZE)
        ).all()
        if not rows:
            return
        for link_id, friend, customer_id in rows:
            yield friend, int(customer_id)
            after = link_id
            db.session.expunge(friend)


def _finish(row: WriteBack, status: str, error: str | None) -> None:
    row.status = status
    row.error = error
    row.finished_at = datetime.now(UTC)
    db.session.commit()


def cancel_pending_write_backs(workspace_id: int) -> int:
    """Mark queued write-backs skipped (integration removed); their jobs then send nothing."""
    result = db.session.execute(
        update(WriteBack)
        .where(WriteBack.workspace_id == workspace_id, WriteBack.status == PENDING)
        .values(
            status=SKIPPED,
            error="The integration was removed.",
            finished_at=datetime.now(UTC),
        )
    )
    db.session.commit()
    return int(getattr(result, "rowcount", 0) or 0)
