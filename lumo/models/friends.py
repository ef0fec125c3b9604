"""LINE friends, Lumo friend tags, links to Shopify customers and write-back records."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lumo.extensions import Model
from lumo.models.base import BigId, UTCDateTime, utcnow


class LineFriend(Model):
    """Someone who follows (or once followed) the workspace's LINE Official Account.

    `follow_status` is `following` or `blocked`; `friend_added_at` is the first follow and is
    kept when a friend unblocks.
    """

    __tablename__ = "line_friends"
    __table_args__ = (
        Index("ux_friends_ws_line_user", "workspace_id", "line_user_id", unique=True),
        Index("ix_friends_ws_status", "workspace_id", "follow_status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    line_user_id: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str | None] = mapped_column(String(255))
    picture_url: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(16))
    follow_status: Mapped[str] = mapped_column(String(16), default="following")
    friend_added_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    blocked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When LINE says the latest follow/unfollow happened: an older event never overrides it.
    follow_status_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class LumoTag(Model):
    """A Lumo friend tag: set in Lumo on friends, never confused with a Shopify customer tag."""

    __tablename__ = "lumo_tags"
    __table_args__ = (Index("ux_lumo_tags_ws_key", "workspace_id", "name_key", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    name_key: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FriendLumoTag(Model):
    __tablename__ = "friend_lumo_tags"
    __table_args__ = (
        Index("ux_friend_lumo_tags", "friend_id", "lumo_tag_id", unique=True),
        Index("ix_friend_lumo_tags_tag", "workspace_id", "lumo_tag_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    friend_id: Mapped[int] = mapped_column(ForeignKey("line_friends.id", ondelete="CASCADE"))
    lumo_tag_id: Mapped[int] = mapped_column(ForeignKey("lumo_tags.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CustomerFriendLink(Model):
    """One Shopify customer ↔ one LINE friend, per workspace; relinking replaces the pair."""

    __tablename__ = "customer_friend_links"
    __table_args__ = (
        Index("ux_links_ws_customer", "workspace_id", "customer_shopify_id", unique=True),
        Index("ux_links_ws_friend", "workspace_id", "friend_id", unique=True),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    customer_shopify_id: Mapped[int] = mapped_column(BigInteger)
    friend_id: Mapped[int] = mapped_column(ForeignKey("line_friends.id", ondelete="CASCADE"))
    method: Mapped[str] = mapped_column(String(20))
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LinkNonce(Model):
    """A single-use, expiring nonce of the LINE account-link flow."""

    __tablename__ = "link_nonces"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    nonce: Mapped[str] = mapped_column(String(255), unique=True)
    customer_shopify_id: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WriteBack(Model):
    """One attempt to write a friend's LINE status to its Shopify customer, and its outcome."""

    __tablename__ = "write_backs"
    __table_args__ = (Index("ix_write_backs_ws_created", "workspace_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    friend_id: Mapped[int | None] = mapped_column(BigInteger)
    customer_shopify_id: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    error: Mapped[str | None] = mapped_column(Text)
    values: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LineMessage(Model):
    """A message exchanged with a friend (received by webhook or sent by the merchant)."""

    __tablename__ = "line_messages"
    __table_args__ = (Index("ix_line_messages_friend", "workspace_id", "friend_id", "sent_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    friend_id: Mapped[int] = mapped_column(ForeignKey("line_friends.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(8))
    message_type: Mapped[str] = mapped_column(String(20), default="text")
    text: Mapped[str | None] = mapped_column(Text)
    line_message_id: Mapped[str | None] = mapped_column(String(64))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
