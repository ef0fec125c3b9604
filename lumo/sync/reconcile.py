"""The catch-up pass: records changed since the last successful sync, page by page.

Shopify does not guarantee webhook delivery, so a scheduled pass asks for every record whose
`updated_at` is after the last successful sync began (minus a safety margin) and upserts it;
the staleness guard makes re-reading harmless. Pages start at `PAGE_SIZE` records and halve
when a query would cost more than Shopify allows.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select

from lumo.app import plugin_manager
from lumo.categories import Category
from lumo.extensions import db
from lumo.mapping import RecordShape
from lumo.models import SyncRun
from lumo.shopify import ShopifyClient, ShopifyGraphQLError, ShopifyThrottledError
from lumo.shopify.ids import updated_since_query
from lumo.sync.bulk_import import map_records
from lumo.sync.properties import map_context
from lumo.sync.rejects import Rejection, Skipped, write_or_reject
from lumo.sync.runs import record_progress

logger = logging.getLogger(__name__)

PAGE_SIZE = 50
MARGIN = timedelta(minutes=10)


def last_success(workspace_id: int) -> SyncRun | None:
    """The latest complete initial, manual or reconcile run."""
    return db.session.scalar(
        select(SyncRun)
        .where(
            SyncRun.workspace_id == workspace_id,
            SyncRun.status == "complete",
            SyncRun.kind.in_(("initial", "manual", "reconcile")),
        )
        .order_by(SyncRun.started_at.desc())
        .limit(1)
    )


def reconcile_category(
    client: ShopifyClient, run: SyncRun, category: Category, since: datetime
) -> int:
    """Upsert every record of `category` changed after `since`; returns rows written."""
    context = map_context(run.workspace_id, category)
    query = plugin_manager(current_app).hook.lumo_changed_since_query(
        category=category, enabled=context.enabled
    )
    if query is None:
        return 0
    variables: dict[str, Any] = {
        "first": PAGE_SIZE,
        "after": None,
        "query": updated_since_query(since),
    }
    done = 0
    skipped = Skipped(run.workspace_id, run.id)
    while True:
        data = _page(client, query, variables)
        connection = next(iter(data.values()), None) or {}
        nodes = connection.get("nodes")
        if nodes is None:
            nodes = [edge["node"] for edge in connection.get("edges") or []]
        rejected: list[Rejection] = []
        rows = map_records(category, nodes, RecordShape.GRAPHQL, context, rejected)
        result, refused = write_or_reject(rows, category.key)
        skipped.keep(rejected + refused)
        db.session.commit()
        done += result.written.get(category.table, 0)
        record_progress(run, category.key, done)
        info = connection.get("pageInfo") or {}
        if not info.get("hasNextPage") or not info.get("endCursor"):
            return done
        variables["after"] = info["endCursor"]


def _page(client: ShopifyClient, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    """One page, halving the page size while Shopify says the query costs too much."""
    while True:
        try:
            return client.graphql(query, variables)
        except ShopifyGraphQLError as error:
            if "MAX_COST_EXCEEDED" not in error.codes or variables["first"] <= 1:
                raise
        except ShopifyThrottledError:
            if variables["first"] <= 1:
                raise
        variables["first"] = max(1, variables["first"] // 2)
        logger.info("query too costly; page size now %d", variables["first"])


def reconcile_since(workspace_id: int) -> datetime | None:
    previous = last_success(workspace_id)
    return None if previous is None else previous.started_at - MARGIN
