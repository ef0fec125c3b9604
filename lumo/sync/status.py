"""Sync history and integration status, as the Dashboard and `/api/sync/…` show them."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from lumo.app import plugin_manager
from lumo.extensions import db
from lumo.models import SyncRun, WebhookDelivery
from lumo.shopify import ShopifyError
from lumo.sync.connection import NotConnected, connection_for, shopify_client, webhook_topics
from lumo.sync.rejects import skipped_by_run
from lumo.sync.upsert import table

logger = logging.getLogger(__name__)

#: Shopify's own count of each category, where the Admin API has one.
SHOPIFY_COUNT_FIELDS = {
    "customers": "customersCount",
    "orders": "ordersCount",
    "products": "productsCount",
    "abandoned_checkouts": "abandonedCheckoutsCount",
}
SUPPORT_MONTHS = 12
WARN_MONTHS = 3

NOUNS = {"initial": "Sync", "manual": "Re-sync", "reconcile": "Catch-up sync", "automatic": "Sync"}


def run_label(run: SyncRun) -> str:
    """ "Sync complete", "Re-syncing", "Re-sync failed" and so on."""
    noun = NOUNS.get(run.kind, "Sync")
    if run.status == "complete":
        return "Sync complete"
    if run.status == "running":
        return {"manual": "Re-syncing", "reconcile": "Catching up"}.get(run.kind, "Syncing")
    return f"{noun} failed"


def _instant(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def run_summary(run: SyncRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "kind": run.kind,
        "status": run.status,
        "label": run_label(run),
        "error": run.error,
        "started_at": _instant(run.started_at),
        "finished_at": _instant(run.finished_at),
        "progress": dict(run.progress or {}),
        "counts": dict(run.counts or {}),
    }


def list_runs(workspace_id: int, limit: int = 50) -> list[dict[str, Any]]:
    """Newest first."""
    runs = db.session.scalars(
        select(SyncRun)
        .where(SyncRun.workspace_id == workspace_id)
        .order_by(SyncRun.started_at.desc(), SyncRun.id.desc())
        .limit(limit)
    )
    summaries = [run_summary(run) for run in runs]
    skipped = skipped_by_run(workspace_id, [summary["id"] for summary in summaries])
    for summary in summaries:
        summary["skipped"] = skipped.get(summary["id"], {})
    return summaries


#: Run ids are 32-bit integers; a bigger number in a URL is simply no run.
MAX_RUN_ID = 2**31 - 1


def run_of(workspace_id: int, run_id: int) -> SyncRun | None:
    """One of the workspace's runs; None for another workspace's run (or no such number)."""
    if not 0 < run_id <= MAX_RUN_ID:
        return None
    run = db.session.get(SyncRun, run_id)
    return run if run is not None and run.workspace_id == workspace_id else None


def get_run(workspace_id: int, run_id: int) -> dict[str, Any] | None:
    run = run_of(workspace_id, run_id)
    if run is None:
        return None
    return {**run_summary(run), "skipped": skipped_by_run(workspace_id, [run.id]).get(run.id, {})}


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    return date(day.year + month // 12, month % 12 + 1, 1)


def api_version_support(version: str, today: date | None = None) -> dict[str, Any]:
    """When the pinned version leaves support (12 months from release) and a warning near it."""
    year, month = (int(part) for part in version.split("-"))
    released = date(year, month, 1)
    ends = _add_months(released, SUPPORT_MONTHS)
    today = today or datetime.now(UTC).date()
    warning = None
    if today >= ends:
        warning = (
            f"Shopify API version {version} is no longer supported (since {ends:%Y-%m-%d}); "
            "Shopify now answers with a newer version. Set SHOPIFY_API_VERSION to a current one."
        )
    elif today >= _add_months(released, SUPPORT_MONTHS - WARN_MONTHS):
        warning = (
            f"Shopify API version {version} leaves support on {ends:%Y-%m-%d}. Update "
            "SHOPIFY_API_VERSION to a newer version before then."
        )
    return {"version": version, "supported_until": ends.isoformat(), "warning": warning}


def stored_counts(workspace_id: int) -> dict[str, int]:
    counts = {}
    for category in plugin_manager(current_app).categories():
        target = table(category.table)
        counts[category.key] = int(
            db.session.scalar(
                select(func.count())
                .select_from(target)
                .where(target.c.workspace_id == workspace_id)
            )
            or 0
        )
    return counts


def count_parity(workspace_id: int, *, ask_shopify: bool = True) -> list[dict[str, Any]]:
    """Rows in Lumo next to Shopify's own count, per category (None where Shopify has none)."""
    stored = stored_counts(workspace_id)
    remote: dict[str, int | None] = {}
    if ask_shopify:
        try:
            with shopify_client(workspace_id) as client:
                for key, field in SHOPIFY_COUNT_FIELDS.items():
                    if key in stored:
                        remote[key] = client.count(field)
        except (ShopifyError, NotConnected) as error:
            logger.info("workspace %s: Shopify counts unavailable: %s", workspace_id, error)
    labels = {c.key: c.label for c in plugin_manager(current_app).categories()}
    return [
        {
            "category": key,
            "label": labels.get(key, key),
            "lumo": count,
            "shopify": remote.get(key),
            "matches": None if remote.get(key) is None else remote[key] == count,
        }
        for key, count in stored.items()
    ]


def integration_status(workspace_id: int, *, ask_shopify: bool = True) -> dict[str, Any]:
    """Everything the Dashboard's status panel says, including what to do when it is wrong."""
    connection = connection_for(workspace_id)
    version = current_app.config["SHOPIFY_API_VERSION"]
    status: dict[str, Any] = {
        "connected": False,
        "state": connection.state if connection else "not_connected",
        "shop_domain": connection.shop_domain if connection else None,
        "healthy": False,
        "problem": None,
        "action": None,
        "api_version": api_version_support(version),
    }
    if connection is None or connection.state in ("pending", "uninstalled"):
        status["problem"] = "No Shopify store is connected."
        status["action"] = "Connect your store from Integrations → Shopify."
    elif connection.state == "broken":
        status["problem"] = connection.broken_reason
        status["action"] = "Reconnect the store from Integrations → Shopify."
    else:
        status["connected"] = True
        status["healthy"] = True

    wanted = set(webhook_topics())
    registered = set((connection.webhook_topics if connection else None) or [])
    status["webhooks"] = {
        "registered": sorted(registered),
        "missing": sorted(wanted - registered) if status["connected"] else [],
        "registered_at": _instant(connection.webhooks_registered_at if connection else None),
    }
    last = db.session.scalar(
        select(SyncRun)
        .where(SyncRun.workspace_id == workspace_id, SyncRun.status == "complete")
        .order_by(SyncRun.finished_at.desc())
        .limit(1)
    )
    status["last_success_at"] = _instant(last.finished_at if last else None)
    running = db.session.scalar(
        select(SyncRun).where(
            SyncRun.workspace_id == workspace_id,
            SyncRun.status == "running",
            SyncRun.kind != "automatic",
        )
    )
    status["running"] = run_summary(running) if running else None
    status["deliveries"] = dict(
        db.session.execute(
            select(WebhookDelivery.status, func.count())
            .where(WebhookDelivery.workspace_id == workspace_id)
            .group_by(WebhookDelivery.status)
        ).all()
    )
    status["parity"] = count_parity(workspace_id, ask_shopify=ask_shopify and status["connected"])
    refreshed = connection_for(workspace_id)
    if status["connected"] and refreshed is not None and refreshed.state == "broken":
        # Asking Shopify for counts just found the token refused.
        status.update(
            connected=False,
            healthy=False,
            state="broken",
            problem=refreshed.broken_reason,
            action="Reconnect the store from Integrations → Shopify.",
        )
    return status
