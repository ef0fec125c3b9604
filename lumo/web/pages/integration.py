"""What the Shopify pages show, read from the models: health, history, progress, properties."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from lumo.categories import Category, Direction, Property
from lumo.extensions import db
from lumo.models import PropertySetting, ShopifyConnection, SyncRun, WebhookDelivery
from lumo.sync.runs import live_running_run
from lumo.sync.status import run_label

logger = logging.getLogger(__name__)

KIND_LABELS = {
    "initial": "Initial sync",
    "manual": "Re-sync",
    "automatic": "Automatic (webhooks)",
    "reconcile": "Reconciliation",
}


@dataclass(frozen=True)
class Health:
    """One line on how the connection is doing, and what to do about it when it is not fine."""

    healthy: bool
    summary: str
    advice: str = ""
    action_label: str = ""
    action_endpoint: str = ""


@dataclass(frozen=True)
class PropertyRow:
    category: Category
    prop: Property
    enabled: bool

    @property
    def direction_label(self) -> str:
        return (
            "Lumo → Shopify" if self.prop.direction == Direction.TO_SHOPIFY else ("Shopify → Lumo")
        )

    @property
    def listed(self) -> bool:
        """Offered properties appear in Synced Data only once the merchant adds them."""
        return not self.prop.offered or self.enabled

    def matches(self, query: str) -> bool:
        words = (
            self.category.label,
            self.prop.label,
            self.prop.key,
            self.prop.shopify_path,
            self.prop.lumo_field,
            "personal information" if self.prop.personal else "",
        )
        lowered = query.casefold()
        return any(lowered in word.casefold() for word in words)


@dataclass(frozen=True)
class CategoryProgress:
    """One category's bar: `state` is waiting, running or done (categories sync in turn)."""

    key: str
    label: str
    done: int
    total: int | None
    state: str = "waiting"


def connection_for(workspace_id: int) -> ShopifyConnection | None:
    return db.session.scalar(
        select(ShopifyConnection).where(ShopifyConnection.workspace_id == workspace_id)
    )


def connection_health(
    connection: ShopifyConnection | None, missing_webhooks: Sequence[str] = ()
) -> Health:
    """Say whether syncing works and, when it does not, the next step that fixes it."""
    if connection is None or connection.state == "uninstalled":
        return Health(
            False,
            "No Shopify store is connected.",
            "Connect your store to start syncing customers, orders and products.",
            "Connect a store",
            "pages.shopify.setup",
        )
    if connection.state == "pending":
        return Health(
            False,
            f"Connecting {connection.shop_domain} was started but not finished.",
            "Approve the Lumo app in Shopify, or start the connection again from Setup.",
            "Go to Setup",
            "pages.shopify.setup",
        )
    if connection.state == "broken":
        return Health(
            False,
            f"Shopify refused Lumo's access to {connection.shop_domain}.",
            (connection.broken_reason or "The access token no longer works.")
            + " Reconnect the store from Setup to grant access again.",
            "Reconnect",
            "pages.shopify.setup",
        )
    if connection.webhooks_registered_at is None or missing_webhooks:
        return Health(
            False,
            f"{connection.shop_domain} is connected, but Shopify webhooks are not all registered.",
            "Changes made in Shopify will only arrive with a re-sync. Run a re-sync; it "
            "registers the webhooks again.",
            "Re-sync data",
            "pages.shopify.resync_confirm",
        )
    return Health(True, f"{connection.shop_domain} is connected and syncing.")


def recent_runs(workspace_id: int, limit: int = 20) -> list[SyncRun]:
    return list(
        db.session.scalars(
            select(SyncRun)
            .where(SyncRun.workspace_id == workspace_id)
            .order_by(SyncRun.started_at.desc(), SyncRun.id.desc())
            .limit(limit)
        )
    )


def running_run(workspace_id: int) -> SyncRun | None:
    """The bulk or reconcile sync in progress; webhook (automatic) runs have no progress bar.

    A run whose job died is ended here and not shown as running (see `live_running_run`).
    """
    return live_running_run(workspace_id)


def last_complete_run(workspace_id: int, kinds: Sequence[str] | None = None) -> SyncRun | None:
    query = select(SyncRun).where(
        SyncRun.workspace_id == workspace_id, SyncRun.status == "complete"
    )
    if kinds:
        query = query.where(SyncRun.kind.in_(list(kinds)))
    return db.session.scalar(
        query.order_by(SyncRun.finished_at.desc(), SyncRun.id.desc()).limit(1)
    )


def status_label(run: SyncRun) -> str:
    """The words the Sync History uses: "Sync complete", "Re-syncing", "Re-sync failed"."""
    return run_label(run)


def count_of(value: Any) -> int | None:
    """A category's figure in `counts`/`progress`: a number, or a dict holding one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, Mapping):
        for key in ("rows", "stored", "done", "count", "synced"):
            if isinstance(value.get(key), int | float):
                return int(value[key])
    return None


def total_of(value: Any) -> int | None:
    if isinstance(value, Mapping):
        for key in ("total", "expected", "shopify"):
            if isinstance(value.get(key), int | float):
                return int(value[key])
    return None


def run_total(run: SyncRun) -> int:
    return sum(count_of(value) or 0 for value in (run.counts or {}).values())


def category_progress(run: SyncRun, categories: Sequence[Category]) -> list[CategoryProgress]:
    """One bar per category that syncs in bulk, in sync order, with what is known so far."""
    progress = run.progress or {}
    # The engine adds each category to `progress` as it starts it: the newest is the one running.
    current = list(progress)[-1] if progress else None
    rows = []
    for category in categories:
        if not category.bulk and category.key not in progress:
            continue
        value = progress.get(category.key)
        if category.key not in progress:
            state = "waiting"
        else:
            state = "running" if category.key == current else "done"
        done = count_of(value) or 0
        rows.append(CategoryProgress(category.key, category.label, done, total_of(value), state))
    return rows


def failed_deliveries(workspace_id: int, since: timedelta = timedelta(days=1)) -> int:
    """Shopify webhooks of the last day that could not be applied."""
    return int(
        db.session.scalar(
            select(func.count())
            .select_from(WebhookDelivery)
            .where(
                WebhookDelivery.workspace_id == workspace_id,
                WebhookDelivery.status == "failed",
                WebhookDelivery.received_at >= datetime.now(UTC) - since,
            )
        )
        or 0
    )


def property_rows(workspace_id: int, categories: Sequence[Category]) -> list[PropertyRow]:
    """Every property with its effective state: the merchant's setting, else the default."""
    settings = {
        (row.category, row.property_key): row.enabled
        for row in db.session.scalars(
            select(PropertySetting).where(PropertySetting.workspace_id == workspace_id)
        )
    }
    return [
        PropertyRow(
            category,
            prop,
            True
            if prop.required
            else settings.get((category.key, prop.key), prop.default_enabled),
        )
        for category in categories
        for prop in category.properties
    ]
