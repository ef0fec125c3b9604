"""Marketing Agent conversations and the workspace's glossary of marketing words."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lumo.extensions import Model
from lumo.models.base import BigId, UTCDateTime, utcnow


class AgentConversation(Model):
    __tablename__ = "agent_conversations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AgentMessage(Model):
    """One turn: `role` is marketer or agent; `payload` holds the agent's Segment and work."""

    __tablename__ = "agent_messages"
    __table_args__ = (Index("ix_agent_messages_conv", "conversation_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("agent_conversations.id", ondelete="CASCADE")
    )
    role: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GlossaryEntry(Model):
    """What a vague marketing word means in this workspace, as a Segment text form."""

    __tablename__ = "glossary_entries"
    __table_args__ = (Index("ux_glossary_ws_term", "workspace_id", "term", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    term: Mapped[str] = mapped_column(String(100))
    synonyms: Mapped[list[str] | None] = mapped_column(JSON)
    definition: Mapped[str] = mapped_column(Text)
    explanation: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
