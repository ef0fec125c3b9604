"""JSON for friends and Lumo friend tags, scoped to the signed-in account's workspace.

Friends: `GET /api/friends`, `GET /api/friends/<id>`, `GET|POST /api/friends/<id>/messages`,
`GET|POST /api/friends/<id>/lumo-tags`, `DELETE /api/friends/<id>/lumo-tags/<tag id>`,
`POST /api/friends/<id>/link-invitation`, `DELETE /api/friends/<id>/link`.
Lumo tags: `GET|POST /api/lumo-tags`, `GET|PATCH|DELETE /api/lumo-tags/<id>`,
`POST /api/lumo-tags/<id>/friends` (add) and `POST /api/lumo-tags/<id>/friends/remove`.
Writes need the CSRF token in an `X-CSRFToken` header. Another workspace's friend or Lumo tag
answers 404, exactly like one that does not exist.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from lumo.extensions import db
from lumo.friends import lumo_tags
from lumo.friends.directory import (
    MAX_PAGE,
    MAX_PAGE_SIZE,
    FriendFilters,
    friend_detail,
    list_friends,
    message_json,
)
from lumo.friends.errors import (
    FriendNotFound,
    FriendsError,
    LineNotConfigured,
    LinkRefused,
    LumoTagNameInvalid,
    LumoTagNameTaken,
    LumoTagNotFound,
    ShopifyNotConnected,
)
from lumo.friends.linking import (
    send_account_link_invitation,
    send_storefront_link_invitation,
    unlink,
)
from lumo.friends.messages import send_text
from lumo.line import LineError, LineValidationError
from lumo.models import LumoTag
from lumo.web.auth import current_workspace_id

logger = logging.getLogger(__name__)

bp = Blueprint("api_friends", __name__, url_prefix="/api")

MAX_BULK_IDS = 50_000
#: The largest id a URL or body may name (64-bit columns); larger is no such row.
MAX_ID = 2**63 - 1


class BadRequest(ValueError):
    """The JSON body or query string is not what the endpoint needs; the message says why."""


def signed_in(view: Callable[..., ResponseReturnValue]) -> Callable[..., ResponseReturnValue]:
    """Like `login_required`, but answers 401 JSON instead of redirecting to the sign-in page."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> ResponseReturnValue:
        if not current_user.is_authenticated:
            return jsonify(error="Sign in to Lumo first."), 401
        return view(*args, **kwargs)

    return wrapper


@bp.errorhandler(FriendNotFound)
@bp.errorhandler(LumoTagNotFound)
def _not_found(error: FriendsError) -> ResponseReturnValue:
    return jsonify(error=str(error)), 404


@bp.errorhandler(LumoTagNameTaken)
def _taken(error: LumoTagNameTaken) -> ResponseReturnValue:
    return jsonify(error=str(error)), 409


@bp.errorhandler(LumoTagNameInvalid)
@bp.errorhandler(LinkRefused)
@bp.errorhandler(BadRequest)
@bp.errorhandler(LineValidationError)
def _bad_request(error: Exception) -> ResponseReturnValue:
    db.session.rollback()
    return jsonify(error=str(error)), 400


@bp.errorhandler(LineNotConfigured)
@bp.errorhandler(ShopifyNotConnected)
def _not_set_up(error: FriendsError) -> ResponseReturnValue:
    return jsonify(error=str(error)), 409


@bp.errorhandler(LineError)
def _line_failed(error: LineError) -> ResponseReturnValue:
    db.session.rollback()
    logger.warning("LINE call from the friends API failed: %s", type(error).__name__)
    return jsonify(error=str(error)), 502


# -- friends --------------------------------------------------------------------------------


@bp.get("/friends")
@signed_in
def friends_index() -> ResponseReturnValue:
    args = request.args
    linked = args.get("linked")
    if linked not in (None, "", "true", "false"):
        raise BadRequest("linked must be true or false.")
    status = args.get("follow_status") or None
    if status not in (None, "following", "blocked"):
        raise BadRequest("follow_status must be following or blocked.")
    raw_tag = args.get("lumo_tag") or None
    filters = FriendFilters(
        search=args.get("q") or None,
        follow_status=status,
        linked=None if not linked else linked == "true",
        lumo_tag=_id_or_name(raw_tag),
    )
    page = _int_arg("page", 1, maximum=MAX_PAGE)
    per_page = _int_arg("per_page", 50, maximum=MAX_PAGE_SIZE, clamp=True)
    return jsonify(list_friends(current_workspace_id(), filters, page=page, per_page=per_page))


@bp.get(f"/friends/<int(max={MAX_ID}):friend_id>")
@signed_in
def friends_show(friend_id: int) -> ResponseReturnValue:
    return jsonify(friend=friend_detail(current_workspace_id(), friend_id))


@bp.get(f"/friends/<int(max={MAX_ID}):friend_id>/messages")
@signed_in
def friend_messages(friend_id: int) -> ResponseReturnValue:
    detail = friend_detail(current_workspace_id(), friend_id)
    return jsonify(messages=detail["messages"])


@bp.post(f"/friends/<int(max={MAX_ID}):friend_id>/messages")
@signed_in
def friend_send_message(friend_id: int) -> ResponseReturnValue:
    body = _json_body()
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        raise BadRequest('Send {"text": "…"} with the message to send.')
    reply_token = body.get("reply_token")
    if reply_token is not None and not isinstance(reply_token, str):
        raise BadRequest("reply_token must be text when given.")
    message = send_text(current_workspace_id(), friend_id, text, reply_token=reply_token)
    return jsonify(message=message_json(message)), 201


@bp.get(f"/friends/<int(max={MAX_ID}):friend_id>/lumo-tags")
@signed_in
def friend_lumo_tags(friend_id: int) -> ResponseReturnValue:
    tags = lumo_tags.lumo_tags_of(current_workspace_id(), friend_id)
    return jsonify(lumo_tags=[_tag_json(tag) for tag in tags])


@bp.post(f"/friends/<int(max={MAX_ID}):friend_id>/lumo-tags")
@signed_in
def friend_add_lumo_tag(friend_id: int) -> ResponseReturnValue:
    body = _json_body()
    wanted: int | str
    if _is_id(body.get("lumo_tag_id")):
        wanted = int(body["lumo_tag_id"])
    elif isinstance(body.get("name"), str):
        wanted = body["name"]
    else:
        raise BadRequest('Send {"lumo_tag_id": id} or {"name": "…"} (created if new).')
    tag = lumo_tags.add_lumo_tag(current_workspace_id(), friend_id, wanted)
    return jsonify(lumo_tag=_tag_json(tag)), 201


@bp.delete(f"/friends/<int(max={MAX_ID}):friend_id>/lumo-tags/<int(max={MAX_ID}):lumo_tag_id>")
@signed_in
def friend_remove_lumo_tag(friend_id: int, lumo_tag_id: int) -> ResponseReturnValue:
    removed = lumo_tags.remove_lumo_tag(current_workspace_id(), friend_id, lumo_tag_id)
    return jsonify(removed=removed)


@bp.post(f"/friends/<int(max={MAX_ID}):friend_id>/link-invitation")
@signed_in
def friend_link_invitation(friend_id: int) -> ResponseReturnValue:
    method = _json_body().get("method", "account_link")
    workspace_id = current_workspace_id()
    if method == "account_link":
        url = send_account_link_invitation(workspace_id, friend_id)
    elif method == "storefront":
        url = send_storefront_link_invitation(workspace_id, friend_id)
    else:
        raise BadRequest("method must be account_link or storefront.")
    return jsonify(sent=True, method=method, url=url)


@bp.delete(f"/friends/<int(max={MAX_ID}):friend_id>/link")
@signed_in
def friend_unlink(friend_id: int) -> ResponseReturnValue:
    workspace_id = current_workspace_id()
    friend_detail(workspace_id, friend_id)  # 404 for friends of other workspaces
    removed = unlink(workspace_id, friend_id=friend_id)
    db.session.commit()
    return jsonify(removed=removed)


# -- Lumo tags ------------------------------------------------------------------------------


@bp.get("/lumo-tags")
@signed_in
def lumo_tags_index() -> ResponseReturnValue:
    rows = lumo_tags.list_lumo_tags(current_workspace_id())
    return jsonify(lumo_tags=[_tag_json(tag, count) for tag, count in rows])


@bp.post("/lumo-tags")
@signed_in
def lumo_tags_create() -> ResponseReturnValue:
    tag = lumo_tags.create_lumo_tag(current_workspace_id(), _name(_json_body()))
    return jsonify(lumo_tag=_tag_json(tag, 0)), 201


@bp.get(f"/lumo-tags/<int(max={MAX_ID}):lumo_tag_id>")
@signed_in
def lumo_tags_show(lumo_tag_id: int) -> ResponseReturnValue:
    tag = lumo_tags.get_lumo_tag(current_workspace_id(), lumo_tag_id)
    return jsonify(lumo_tag=_tag_json(tag))


@bp.patch(f"/lumo-tags/<int(max={MAX_ID}):lumo_tag_id>")
@signed_in
def lumo_tags_rename(lumo_tag_id: int) -> ResponseReturnValue:
    tag = lumo_tags.rename_lumo_tag(current_workspace_id(), lumo_tag_id, _name(_json_body()))
    return jsonify(lumo_tag=_tag_json(tag))


@bp.delete(f"/lumo-tags/<int(max={MAX_ID}):lumo_tag_id>")
@signed_in
def lumo_tags_delete(lumo_tag_id: int) -> ResponseReturnValue:
    removed = lumo_tags.delete_lumo_tag(current_workspace_id(), lumo_tag_id)
    return jsonify(deleted=lumo_tag_id, removed_from_friends=removed)


@bp.post(f"/lumo-tags/<int(max={MAX_ID}):lumo_tag_id>/friends")
@signed_in
def lumo_tags_add_friends(lumo_tag_id: int) -> ResponseReturnValue:
    result = lumo_tags.add_lumo_tag_to_friends(
        current_workspace_id(), lumo_tag_id, _selection(_json_body())
    )
    return jsonify(added=result.changed, already=result.unchanged, not_found=result.not_found)


@bp.post(f"/lumo-tags/<int(max={MAX_ID}):lumo_tag_id>/friends/remove")
@signed_in
def lumo_tags_remove_friends(lumo_tag_id: int) -> ResponseReturnValue:
    result = lumo_tags.remove_lumo_tag_from_friends(
        current_workspace_id(), lumo_tag_id, _selection(_json_body())
    )
    return jsonify(removed=result.changed, absent=result.unchanged, not_found=result.not_found)


# -- helpers --------------------------------------------------------------------------------


def _json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise BadRequest("Send a JSON object.")
    return body


def _name(body: dict[str, Any]) -> str:
    name = body.get("name")
    if not isinstance(name, str):
        raise BadRequest('Send {"name": "…"} with the Lumo tag name.')
    return name


def _selection(body: dict[str, Any]) -> lumo_tags.FriendSelection:
    """Friends named by `friend_ids` (a list of ids) or by `segment` (text or JSON form)."""
    ids = body.get("friend_ids")
    segment = body.get("segment")
    if ids is not None and segment is not None:
        raise BadRequest("Send friend_ids or segment, not both.")
    if isinstance(ids, list):
        if len(ids) > MAX_BULK_IDS:
            raise BadRequest(f"Send at most {MAX_BULK_IDS} friend ids per request.")
        if not all(_is_id(i) for i in ids):
            raise BadRequest("friend_ids must be a list of friend ids (positive numbers).")
        return [int(i) for i in ids]
    if isinstance(segment, str | dict) and segment:
        return _segment_members(segment)
    raise BadRequest('Send {"friend_ids": [...]} or {"segment": "Segment text or JSON"}.')


def _segment_members(segment: str | dict[str, Any]) -> list[int]:
    from lumo.segments.errors import SegmentError

    try:
        return lumo_tags.segment_friend_ids(current_workspace_id(), segment)
    except SegmentError as error:
        raise BadRequest(f"The Segment could not be used: {error}") from error


def _int_arg(name: str, default: int, *, maximum: int, clamp: bool = False) -> int:
    """A whole number from the query string; past `maximum` it is refused (or clamped)."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()):
        raise BadRequest(f"{name} must be a whole number.")
    # Compared by length first, so a number of any length is never converted.
    if len(raw.lstrip("0")) > len(str(maximum)) or int(raw) > maximum:
        if clamp:
            return maximum
        raise BadRequest(f"{name} must be at most {maximum:,}.")
    return int(raw)


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


def _id_or_name(raw: str | None) -> int | str | None:
    """A Lumo tag filter: an id when it is one, else a name (a too-long number is a name)."""
    if raw and raw.isascii() and raw.isdigit() and len(raw) <= 18:
        return int(raw)
    return raw


def _tag_json(tag: LumoTag, friend_count: int | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"id": tag.id, "name": tag.name}
    if friend_count is not None:
        data["friend_count"] = friend_count
    return data
