"""Shopify records a sync could not map, kept so the merchant can see what was skipped."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lumo.extensions import Model
from lumo.models.base import UTCDateTime, utcnow


class RejectedRecord(Model):
    """One record of a bulk or catch-up sync that its plugin could not turn into rows.

    The sync skips it and goes on, so one odd record never blocks a whole store. Only the
    record's Shopify id and the reason are kept (the record itself stays in Shopify); a run
    keeps at most `lumo.sync.rejects.KEEP_PER_CATEGORY` of them per category.
    """

    __tablename__ = "sync_rejected_records"
    __table_args__ = (Index("ix_rejected_ws_run", "workspace_id", "sync_run_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    sync_run_id: Mapped[int] = mapped_column(ForeignKey("sync_runs.id", ondelete="CASCADE"))
    category: Mapped[str] = mapped_column(String(64))
    shopify_id: Mapped[str | None] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
