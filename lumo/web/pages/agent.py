"""The Marketing Agent's chat page; the conversation itself runs through /api/agent/."""

from __future__ import annotations

import logging

from flask import Blueprint, abort, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import login_required
from sqlalchemy import select

from lumo.extensions import db
from lumo.models import AgentConversation, AgentMessage
from lumo.web.auth import current_workspace_id

logger = logging.getLogger(__name__)

bp = Blueprint("agent", __name__, url_prefix="/agent")

AGENT_API = "/api/agent/messages"


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
    return render_template(
        "agent/chat.html",
        conversations=conversations,
        conversation=conversation,
        messages=messages,
        agent_api=AGENT_API,
    )
