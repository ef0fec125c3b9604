"""A conversation with the agent: context across turns, questions back, and shown work.

`ask` runs one turn: it resolves a pending clarifying question, plans against the last
Segment of the conversation (so "only the ones who follow us" narrows it), validates, counts
and previews the Segment, and stores both turns in `agent_messages`. The returned dict is the
JSON answer of `POST /api/agent/messages`.
"""

from __future__ import annotations

import logging
import re
import time
import unicodedata
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import select

from agent.broadcasts import draft_broadcast, suggest_broadcasts
from agent.describe import describe_segment
from agent.facts import load_facts
from agent.language import is_japanese, normalize
from agent.limits import check_values
from agent.planners import Plan, Planner, choose_planner
from agent.preview_table import preview_table
from agent.privacy import scrub, scrub_text, without_personal
from agent.unsupported import find_contact_request
from lumo.extensions import db
from lumo.models import AgentConversation, AgentMessage, Workspace
from lumo.segments import service
from lumo.segments.errors import SegmentError
from lumo.segments.model import Segment
from lumo.segments.printer import format_segment

logger = logging.getLogger(__name__)

PREVIEW_LIMIT = 10
MAX_REQUEST = 2000
#: Conversation ids live in a 32-bit integer column.
MAX_CONVERSATION_ID = 2**31 - 1
#: The parts of an answer that are free text and may echo the marketer's words.
_FREE_TEXT = ("text", "error", "unsupported", "notes", "assumptions", "clarifying_question")


class ConversationNotFound(LookupError):
    """The conversation id is not one of this workspace's conversations."""


def ask(
    workspace_id: int,
    text: str,
    *,
    conversation_id: int | None = None,
    planner: Planner | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """One turn of the conversation; returns the agent's answer as JSON-ready data."""
    text = (text or "").strip()[:MAX_REQUEST]
    stored = scrub_text(text)
    text = without_personal(text)
    conversation = _conversation(workspace_id, conversation_id, stored)
    last = _last_agent_payload(conversation)
    previous = _segment_of(_last_agent_payload(conversation, with_segment=True))
    pending = (last or {}).get("pending")

    planner = planner or choose_planner(current_app.config)
    facts = load_facts(workspace_id, now=now)
    started = time.perf_counter()
    request, hints = text, {}
    chosen = _chosen_option(text, pending)
    if chosen is not None and pending is not None:
        hints = dict(pending.get("hints") or {})
        key, _, value = chosen.partition("=")
        hints[key] = value
        request = pending["request"]
        previous = _segment_of({"segment": pending.get("previous")})
    plan = _contact_refusal(request, planner) or planner.plan(
        request, facts, previous=previous, hints=hints
    )
    if pending is not None and pending.get("options") and chosen is None:
        # A reply that picks no option is a new request; the question is set aside, said so.
        plan.notes.insert(0, _left_open(plan.language == "ja"))
        logger.info("agent question in conversation %s left open", conversation.id)
    elapsed = (time.perf_counter() - started) * 1000

    answer = build_answer(workspace_id, plan, now=now)
    answer["planning_ms"] = round(elapsed, 2)
    if plan.clarification is not None and plan.clarification.options:
        answer["pending"] = {
            "request": plan.clarification.request or request,
            "hints": hints,
            "options": plan.clarification.options,
            "previous": previous.to_json() if previous is not None else None,
        }
    _redact(answer)
    _store(conversation, stored, answer)
    answer["conversation_id"] = conversation.id
    logger.info(
        "agent turn in conversation %s (workspace %s): %s by %s planner in %.1f ms",
        conversation.id,
        workspace_id,
        plan.intent,
        plan.planner,
        elapsed,
    )
    return answer


def _contact_refusal(request: str, planner: Planner) -> Plan | None:
    """Requests for emails or phones are answered here, before any planner sees them."""
    japanese = is_japanese(request)
    refusal = find_contact_request(normalize(request), japanese)
    if refusal is None:
        return None
    return Plan(
        language="ja" if japanese else "en",
        intent="unsupported",
        unsupported=refusal,
        planner=planner.name,
    )


def build_answer(workspace_id: int, plan: Plan, *, now: datetime | None = None) -> dict[str, Any]:
    """Show the work: Segment in words and text form, size, reachability, preview, actions."""
    ja = plan.language == "ja"
    answer: dict[str, Any] = {
        "language": plan.language,
        "intent": plan.intent,
        "planner": plan.planner,
        "text": "",
        "segment": None,
        "count": None,
        "reachability": None,
        "preview": [],
        "assumptions": list(plan.assumptions),
        "glossary_applied": list(plan.glossary_applied),
        "clarifying_question": _question_json(plan),
        "unsupported": plan.unsupported,
        "actions": [],
        "broadcast_draft": None,
        "suggestions": [],
        "notes": list(plan.notes),
        "refined": plan.refined,
        "error": None,
    }
    if plan.intent == "unsupported":
        answer["text"] = _notes(plan) + (plan.unsupported or "")
        return answer
    if plan.intent == "suggest":
        answer["suggestions"] = suggest_broadcasts(workspace_id, plan.language, now=now)
        answer["text"] = _notes(plan) + _suggest_text(answer["suggestions"], ja)
        return answer
    if plan.segment is None:
        question = plan.clarification.question if plan.clarification else ""
        answer["text"] = _notes(plan) + question
        return answer

    segment = plan.segment
    try:
        check_values(segment)
        checked, _ = service.prepare(workspace_id, segment, now=now)
        funnel = service.reachability(workspace_id, checked, now=now)
        preview = service.preview(workspace_id, checked, PREVIEW_LIMIT, now=now)
    except SegmentError as error:
        answer["error"] = str(error)
        answer["segment"] = _segment_json(segment, plan.language)
        answer["text"] = _notes(plan) + (
            f"このセグメントは使えません：{error}"
            if ja
            else f"This Segment can't be used: {error}"
        )
        return answer

    answer["segment"] = _segment_json(segment, plan.language)
    answer["count"] = funnel["matched_friends"]
    answer["reachability"] = funnel
    answer["preview"] = preview
    answer["preview_table"] = preview_table(preview, _timezone(workspace_id), plan.language)
    answer["actions"] = _actions(segment, ja)
    if plan.wants_broadcast:
        answer["broadcast_draft"] = draft_broadcast(workspace_id, segment, plan.language, now=now)
    answer["text"] = _notes(plan) + _summary(answer, plan, ja)
    return answer


# -- pieces of the answer ---------------------------------------------------------------------


def _segment_json(segment: Segment, language: str) -> dict[str, Any]:
    return {
        "json": segment.to_json(),
        "text": format_segment(segment),
        "plain": describe_segment(segment, language),
    }


def _summary(answer: dict[str, Any], plan: Plan, ja: bool) -> str:
    funnel = answer["reachability"]
    plain = answer["segment"]["plain"]
    applied = ", ".join(entry["term"] for entry in plan.glossary_applied)
    if ja:
        matched, reachable = funnel["matched_friends"], funnel["reachable_friends"]
        text = f"{plain}：{matched}人（うち配信可能{reachable}人）。"
        if applied:
            text += f"用語集「{applied}」を使いました。"
        if plan.refined:
            text = "前のセグメントを絞り込みました。" + text
        if plan.clarification is not None:
            text += plan.clarification.question
        return text
    matched, reachable = funnel["matched_friends"], funnel["reachable_friends"]
    text = f"{plain} {friends_match(matched)}; {reachable:,} can receive a broadcast."
    if applied:
        text += f" Glossary used: {applied}."
    if plan.refined:
        text = "Narrowed the previous Segment. " + text
    if plan.clarification is not None:
        text += " " + plan.clarification.question
    return text


def friends_match(count: int) -> str:
    """ "1 friend matches" / "3 friends match", for English answers."""
    return f"{count:,} friend matches" if count == 1 else f"{count:,} friends match"


def _question_json(plan: Plan) -> dict[str, Any] | None:
    """The question with, for each option, the reply that picks it (its label)."""
    if plan.clarification is None:
        return None
    question = plan.clarification.as_json()
    question["options"] = [
        {**option, "reply": option.get("label", str(number))}
        for number, option in enumerate(question["options"], start=1)
    ]
    return question


def _timezone(workspace_id: int) -> str | None:
    workspace = db.session.get(Workspace, workspace_id)
    return workspace.timezone if workspace is not None else None


def _suggest_text(suggestions: list[dict[str, Any]], ja: bool) -> str:
    if not suggestions:
        return (
            "今週おすすめできる配信対象は見つかりませんでした。"
            if ja
            else "Nothing stands out this week: no recent abandoned carts, lapsed VIPs or "
            "new unlinked friends."
        )
    lines = [
        f"{s['title']}（{s['reachable']}人）" if ja else f"{s['title']} ({s['reachable']})"
        for s in suggestions
    ]
    return (
        ("今週の配信候補：" + "、".join(lines))
        if ja
        else ("This week you could send to: " + "; ".join(lines) + ".")
    )


def _notes(plan: Plan) -> str:
    return "".join(note + " " for note in plan.notes)


def _actions(segment: Segment, ja: bool) -> list[dict[str, Any]]:
    # Actions on a Segment without conditions would touch every friend; they are refused.
    if segment.where is None:
        return []
    text = format_segment(segment)
    return [
        {
            "action": "save-segment",
            "label": "セグメントとして保存" if ja else "Save as Segment",
            "endpoint": "/api/agent/actions/save-segment",
            "body": {"segment": text, "name": ""},
        },
        {
            "action": "add-lumo-tag",
            "label": "全員にLumoタグを付ける" if ja else "Add a Lumo tag to everyone",
            "endpoint": "/api/agent/actions/add-lumo-tag",
            "body": {"segment": text, "tag": ""},
        },
        {
            "action": "draft-broadcast",
            "label": "配信文を作成" if ja else "Draft a broadcast",
            "endpoint": "/api/agent/actions/draft-broadcast",
            "body": {"segment": text, "language": "ja" if ja else "en"},
        },
    ]


# -- storage and context ----------------------------------------------------------------------


def _conversation(workspace_id: int, conversation_id: int | None, text: str) -> AgentConversation:
    if conversation_id is not None:
        if not 1 <= conversation_id <= MAX_CONVERSATION_ID:
            raise ConversationNotFound(
                f"There is no conversation {conversation_id} here; start a new one by leaving "
                "conversation_id out."
            )
        found = db.session.scalar(
            select(AgentConversation).where(
                AgentConversation.id == conversation_id,
                AgentConversation.workspace_id == workspace_id,
            )
        )
        if found is None:
            raise ConversationNotFound(
                f"There is no conversation {conversation_id} here; start a new one by leaving "
                "conversation_id out."
            )
        return found
    conversation = AgentConversation(workspace_id=workspace_id, title=text[:200] or None)
    db.session.add(conversation)
    db.session.flush()
    return conversation


def _last_agent_payload(
    conversation: AgentConversation, *, with_segment: bool = False
) -> dict[str, Any] | None:
    """The latest agent turn's payload (or the latest that has a Segment)."""
    payloads = db.session.scalars(
        select(AgentMessage.payload)
        .where(AgentMessage.conversation_id == conversation.id, AgentMessage.role == "agent")
        .order_by(AgentMessage.id.desc())
        .limit(20)
    )
    for payload in payloads:
        if not with_segment or (payload and payload.get("segment")):
            return payload
        if not with_segment:
            break
    return None


def _segment_of(payload: dict[str, Any] | None) -> Segment | None:
    if not payload or not payload.get("segment"):
        return None
    data = payload["segment"]
    try:
        return Segment.from_json(data.get("json", data))
    except SegmentError:
        return None


#: Words that name one kind of tag when the marketer answers "Shopify or Lumo?".
_KIND_WORDS = {
    "customer_tags": r"shopify|ショッピファイ|ショップ|shop|store|ストア|customers?|顧客|お客様",
    "lumo_tags": r"lumo|ルモ|friends?|友だち|友達|line",
}
#: Words that may surround the pick without adding to it ("the Lumo one", "Shopifyの方です").
_FILLER = (
    r"i|mean|meant|want|use|the|a|one|ones|please|option|choice|number|no\.?|it|its|is|"
    r"tags?|タグ|の|方|ほう|で|です|でお願いします|お願いします|を|が|番|番目|に|して|ください|"
    r"ok|okay|yes|はい"
)
_STRIP = re.compile(r"[\s\W_]+")


def _squash(text: str) -> str:
    """Lower-cased NFKC text without spaces or punctuation, for comparing replies."""
    return _STRIP.sub("", unicodedata.normalize("NFKC", text).lower())


def _chosen_option(text: str, pending: dict[str, Any] | None) -> str | None:
    """The hint of the option the reply clearly picks, or None when it is a new request.

    A reply picks an option by its number, by its label, or by naming its kind of tag
    ("Shopify", "Lumo タグ") with nothing but filler and the tag's own name around it.
    "カゴ落ちした友だち" mentions friends but asks something else, so it picks nothing.
    """
    if not pending or not pending.get("options"):
        return None
    options = pending["options"]
    reply = unicodedata.normalize("NFKC", text).lower().strip()
    number = re.fullmatch(
        r"(?:option|no\.?|#)?\s*\(?([1-9])\)?\s*(?:番目?|つ目)?\s*[.。)]?"
        r"(?:\s*(?:です|でお願いします|お願いします|please))?[.。!！]?",
        reply,
    )
    if number:
        index = int(number.group(1))
        return str(options[index - 1]["hint"]) if index <= len(options) else None
    squashed = _squash(reply)
    if not squashed:
        return None
    by_label = [o for o in options if _squash(str(o.get("label", ""))) == squashed]
    if len(by_label) == 1:
        return str(by_label[0]["hint"])
    picked: set[str] = set()
    rest = reply
    for kind, words in _KIND_WORDS.items():
        pattern = re.compile(rf"(?<![a-z])(?:{words})(?![a-z])")
        if pattern.search(rest):
            picked.add(kind)
            rest = pattern.sub(" ", rest)
    for option in options:
        name = str(option.get("hint", "")).partition("=")[0].partition(":")[2]
        if name:
            rest = rest.replace(name.lower(), " ")
    rest = re.sub(rf"(?<![a-z])(?:{_FILLER})(?![a-z])", " ", rest)
    if len(picked) != 1 or _squash(rest):
        return None
    kind = picked.pop()
    matching = [o for o in options if str(o.get("hint", "")).partition("=")[2] == kind]
    return str(matching[0]["hint"]) if len(matching) == 1 else None


def _left_open(ja: bool) -> str:
    return (
        "（先ほどの質問には答えがなかったため保留にし、新しいご依頼として答えます。）"
        if ja
        else "(I took this as a new request and left my earlier question open.)"
    )


def _redact(answer: dict[str, Any]) -> None:
    """Emails and phones the marketer typed never reach storage, even echoed in the answer.

    The Segment, counts and preview are kept as they are: no Segment field takes an email or
    a phone number, and the preview shows only names and ids.
    """
    for key in _FREE_TEXT:
        if answer.get(key) is not None:
            answer[key] = scrub(answer[key])
    pending = answer.get("pending")
    if pending is not None:
        pending["request"] = scrub_text(pending["request"])


def _store(conversation: AgentConversation, text: str, answer: dict[str, Any]) -> None:
    db.session.add(
        AgentMessage(
            workspace_id=conversation.workspace_id,
            conversation_id=conversation.id,
            role="marketer",
            text=text,
        )
    )
    message = AgentMessage(
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        role="agent",
        text=answer["text"],
        payload=_json_safe(answer),
    )
    db.session.add(message)
    db.session.commit()
    answer["message_id"] = message.id


def _json_safe(value: Any) -> Any:
    import json

    return json.loads(json.dumps(value, default=str))
