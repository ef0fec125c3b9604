"""The Marketing Agent's chat page; the conversation itself runs through /api/agent/."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, abort, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import login_required
from sqlalchemy import select

from agent.preview_table import preview_table
from lumo.extensions import db
from lumo.models import AgentConversation, AgentMessage, Workspace
from lumo.web.auth import current_workspace_id

logger = logging.getLogger(__name__)

bp = Blueprint("agent", __name__, url_prefix="/agent")

AGENT_API = "/api/agent/messages"
#: Conversation ids are `agent_conversations.id`, a 32-bit integer column.
MAX_CONVERSATION_ID = 2**31 - 1


@bp.before_request
@login_required
def _signed_in() -> None:
    """The chat is for a signed-in merchant."""


@bp.get("/")
def chat() -> ResponseReturnValue:
    workspace_id = current_workspace_id()
    conversations = list(
        db.session.scalars(
            select(AgentConversation)
            .where(AgentConversation.workspace_id == workspace_id)
            .order_by(AgentConversation.created_at.desc(), AgentConversation.id.desc())
            .limit(20)
        )
    )
    conversation = None
    messages: list[AgentMessage] = []
    chosen = request.args.get("conversation", type=int)
    if chosen is not None:
        if not 1 <= chosen <= MAX_CONVERSATION_ID:
            abort(404)
        conversation = db.session.scalar(
            select(AgentConversation).where(
                AgentConversation.id == chosen, AgentConversation.workspace_id == workspace_id
            )
        )
        if conversation is None:
            abort(404)
        messages = list(
            db.session.scalars(
                select(AgentMessage)
                .where(
                    AgentMessage.workspace_id == workspace_id,
                    AgentMessage.conversation_id == conversation.id,
                )
                .order_by(AgentMessage.id)
            )
        )
    timezone = _timezone(workspace_id)
    turns = [_turn(message, timezone) for message in messages]
    return render_template(
        "agent/chat.html",
        conversations=conversations,
        conversation=conversation,
        turns=turns,
        agent_api=AGENT_API,
    )


def _turn(message: AgentMessage, timezone: str | None) -> dict[str, Any]:
    """One stored turn with the agent's answer as the live chat shows it (preview as a table)."""
    answer = None
    if message.role == "agent" and isinstance(message.payload, dict):
        answer = {k: v for k, v in message.payload.items() if k != "pending"}
        answer.setdefault("text", message.text)
        if "preview_table" not in answer and isinstance(answer.get("preview"), list):
            answer["preview_table"] = preview_table(
                answer["preview"], timezone, str(answer.get("language") or "en")
            )
    return {"role": message.role, "text": message.text, "answer": answer}


def _timezone(workspace_id: int) -> str | None:
    workspace = db.session.get(Workspace, workspace_id)
    return workspace.timezone if workspace is not None else None
