"""JSON API of the Marketing Agent: ask, act on the answer, and edit the glossary.

Every route needs a signed-in account and touches only its workspace; POSTs and PUTs carry the
CSRF token in the `X-CSRFToken` header (Flask-WTF checks it app-wide).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue
from flask_login import login_required

from lumo.extensions import db
from lumo.segments.errors import SegmentError
from lumo.web.auth import current_workspace_id

logger = logging.getLogger(__name__)

bp = Blueprint("api_agent", __name__, url_prefix="/api/agent")


#: Conversation ids are `agent_conversations.id`, a 32-bit integer column.
MAX_CONVERSATION_ID = 2**31 - 1


def _body() -> dict[str, Any]:
    try:
        data = request.get_json(silent=True)
    except RecursionError:
        # JSON nested thousands deep is no request the agent understands.
        return {}
    return data if isinstance(data, dict) else {}


def _problem(message: str, status: int = 400) -> ResponseReturnValue:
    return jsonify({"error": message}), status


@bp.post("/messages")
@login_required
def post_message() -> ResponseReturnValue:
    from agent.conversation import ConversationNotFound, ask

    body = _body()
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        return _problem('Send {"text": "…"} with the audience you are looking for.')
    conversation_id = body.get("conversation_id")
    if conversation_id is not None and (
        isinstance(conversation_id, bool)
        or not isinstance(conversation_id, int)
        or not 1 <= conversation_id <= MAX_CONVERSATION_ID
    ):
        return _problem(
            "conversation_id must be the id of one of your conversations (a positive whole "
            "number); leave it out to start a new one."
        )
    try:
        answer = ask(current_workspace_id(), text, conversation_id=conversation_id)
    except ConversationNotFound as error:
        return _problem(str(error), 404)
    answer.pop("pending", None)
    return jsonify(answer)


def _segment_argument(body: dict[str, Any]) -> Any:
    segment = body.get("segment")
    if isinstance(segment, str | dict):
        return segment
    raise SegmentError('Send the Segment as "segment": its text form or its JSON form.')


@bp.post("/actions/save-segment")
@login_required
def save_segment() -> ResponseReturnValue:
    from agent.actions import save_segment_action

    body = _body()
    try:
        result = save_segment_action(
            current_workspace_id(),
            _segment_argument(body),
            str(body.get("name") or ""),
            description=body.get("description"),
        )
    except SegmentError as error:
        db.session.rollback()
        return _problem(str(error))
    return jsonify(result), 201


@bp.post("/actions/add-lumo-tag")
@login_required
def add_lumo_tag() -> ResponseReturnValue:
    from agent.actions import add_lumo_tag_action

    body = _body()
    try:
        result = add_lumo_tag_action(
            current_workspace_id(), _segment_argument(body), str(body.get("tag") or "")
        )
    except SegmentError as error:
        db.session.rollback()
        return _problem(str(error))
    return jsonify(result)


@bp.post("/actions/draft-broadcast")
@login_required
def draft_broadcast() -> ResponseReturnValue:
    from agent.actions import draft_broadcast_action

    body = _body()
    try:
        result = draft_broadcast_action(
            current_workspace_id(), _segment_argument(body), str(body.get("language") or "en")
        )
    except SegmentError as error:
        return _problem(str(error))
    return jsonify(result)


@bp.get("/glossary")
@login_required
def get_glossary() -> ResponseReturnValue:
    from agent.glossary import glossary_terms

    terms = glossary_terms(current_workspace_id())
    db.session.commit()
    return jsonify({"entries": [term.as_json() for term in terms]})


@bp.put("/glossary")
@login_required
def put_glossary() -> ResponseReturnValue:
    from agent.glossary import GlossaryError, replace_glossary
    from lumo.segments.service import field_registry

    try:
        terms = replace_glossary(current_workspace_id(), _body().get("entries"), field_registry())
    except GlossaryError as error:
        db.session.rollback()
        return _problem(str(error))
    db.session.commit()
    return jsonify({"entries": [term.as_json() for term in terms]})
