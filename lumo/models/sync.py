"""Sync runs, webhook deliveries and the merchant's per-property settings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from lumo.extensions import Model
from lumo.models.base import BigId, UTCDateTime, utcnow


class PropertySetting(Model):
    """Whether one property of one category syncs; absent rows mean the plugin's default."""

    __tablename__ = "property_settings"
    __table_args__ = (
        Index("ux_property_settings", "workspace_id", "category", "property_key", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    category: Mapped[str] = mapped_column(String(64))
    property_key: Mapped[str] = mapped_column(String(128))
    enabled: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class SyncRun(Model):
    """One sync: `kind` is initial, manual, automatic (webhooks) or reconcile.

    `status` is running, complete or failed; `progress` maps category → rows done while it runs
    and `counts` the final figures.
    """

    __tablename__ = "sync_runs"
    __table_args__ = (
        Index("ix_sync_runs_ws_started", "workspace_id", "started_at"),
        # At most one running bulk or reconcile sync per workspace: the DB-level sync lock.
        Index(
            "ux_sync_runs_one_running",
            "workspace_id",
            unique=True,
            sqlite_where=text("status = 'running' AND kind != 'automatic'"),
            postgresql_where=text("status = 'running' AND kind != 'automatic'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="running")
    error: Mapped[str | None] = mapped_column(Text)
    progress: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    counts: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    job_id: Mapped[str | None] = mapped_column(String(64))
    #: Last sign of life of a running sync; a run silent for long is taken as dead.
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebhookDelivery(Model):
    """A webhook as received: the raw body is kept until it is applied, and kept on a failed
    delivery so it can be re-run or inspected; an applied or ignored one keeps no body.

    `status` is received, applied, ignored (unknown topic, duplicate or stale) or failed
    (with `error`). An event id is unique per workspace and source, so one store or LINE
    channel can never pre-empt another's event; deliveries no workspace claims (an unknown
    shop) are deduplicated among themselves.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ux_deliveries_ws_source_event", "workspace_id", "source", "event_id", unique=True),
        Index(
            "ux_deliveries_unclaimed_event",
            "source",
            "event_id",
            unique=True,
            sqlite_where=text("workspace_id IS NULL"),
            postgresql_where=text("workspace_id IS NULL"),
        ),
        Index("ix_deliveries_ws_received", "workspace_id", "received_at"),
        Index("ix_deliveries_status", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int | None] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE")
    )
    source: Mapped[str] = mapped_column(String(16))
    topic: Mapped[str] = mapped_column(String(128))
    event_id: Mapped[str] = mapped_column(String(128))
    webhook_id: Mapped[str | None] = mapped_column(String(128))
    shop_domain: Mapped[str | None] = mapped_column(String(255))
    triggered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16), default="received")
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sync_run_id: Mapped[int | None] = mapped_column(Integer)


class RedactedCustomer(Model):
    """A customer `customers/redact` erased, and when.

    A delivery Shopify sent before that moment (one still waiting to be applied, or a late
    retry) is not applied, so it cannot bring the erased data back; what the customer does
    afterwards is new and syncs as usual.
    """

    __tablename__ = "shopify_redacted_customers"
    __table_args__ = (
        Index("ux_redacted_customers", "workspace_id", "customer_shopify_id", unique=True),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    customer_shopify_id: Mapped[int] = mapped_column(BigInteger)
    redacted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
