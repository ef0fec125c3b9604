"""Workspaces (one LINE Official Account each), their sign-in accounts and Shopify connection."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lumo.crypto import EncryptedText
from lumo.extensions import Model
from lumo.models.base import UTCDateTime, utcnow


class Workspace(Model):
    __tablename__ = "workspaces"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Tokyo")
    currency: Mapped[str] = mapped_column(String(3), default="JPY")
    line_channel_id: Mapped[str | None] = mapped_column(String(64))
    line_channel_secret: Mapped[str | None] = mapped_column(EncryptedText)
    line_channel_access_token: Mapped[str | None] = mapped_column(EncryptedText)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    shopify_connection: Mapped[ShopifyConnection | None] = relationship(
        back_populates="workspace", uselist=False, cascade="all, delete-orphan"
    )


class Account(UserMixin, Model):
    """A person who signs in to Lumo's pages for one workspace (never a LINE friend)."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ShopifyConnection(Model):
    """The store connected to a workspace; at most one per workspace.

    `state` is one of: pending (OAuth started), connected, broken (token refused; see
    `broken_reason`) and uninstalled (token forgotten).
    """

    __tablename__ = "shopify_connections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), unique=True
    )
    shop_domain: Mapped[str] = mapped_column(String(255), index=True)
    access_token: Mapped[str | None] = mapped_column(EncryptedText)
    scopes: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(20), default="pending")
    broken_reason: Mapped[str | None] = mapped_column(Text)
    oauth_nonce: Mapped[str | None] = mapped_column(String(64))
    api_version: Mapped[str | None] = mapped_column(String(10))
    shop_timezone: Mapped[str | None] = mapped_column(String(64))
    shop_currency: Mapped[str | None] = mapped_column(String(3))
    webhooks_registered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The webhook topics Shopify accepted at the last registration.
    webhook_topics: Mapped[list[str] | None] = mapped_column(JSON)
    installed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    workspace: Mapped[Workspace] = relationship(back_populates="shopify_connection")
