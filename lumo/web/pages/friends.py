"""Friends: the list with search and filters, a friend's page and the friend's chat view."""

from __future__ import annotations

import logging
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import login_required
from sqlalchemy import Select, exists, func, or_, select

from lumo.extensions import db
from lumo.models import (
    AbandonedCheckout,
    Cart,
    Customer,
    CustomerFriendLink,
    CustomerTag,
    FriendLumoTag,
    LineFriend,
    LineMessage,
    LumoTag,
    Order,
)
from lumo.web.auth import current_workspace_id
from lumo.web.pages import services

logger = logging.getLogger(__name__)

bp = Blueprint("friends", __name__, url_prefix="/friends")

PAGE_SIZE = 50
#: The largest id a URL may name (64-bit columns); a larger number is no such friend (404).
MAX_ID = 2**63 - 1
FOLLOW_STATUSES = ("following", "blocked")


@bp.before_request
@login_required
def _signed_in() -> None:
    """Every friends page is for a signed-in merchant."""


def filter_friends(workspace_id: int, args: Any) -> Select[LineFriend]:
    """The friends query for the list's search box and filters (status, linked, Lumo tag)."""
    query = select(LineFriend).where(LineFriend.workspace_id == workspace_id)

    text = (args.get("q") or "").strip()
    if text:
        query = query.where(
            or_(
                LineFriend.display_name.icontains(text, autoescape=True),
                LineFriend.line_user_id.icontains(text, autoescape=True),
            )
        )

    status = args.get("status") or ""
    if status in FOLLOW_STATUSES:
        query = query.where(LineFriend.follow_status == status)

    is_linked = exists().where(
        CustomerFriendLink.workspace_id == workspace_id,
        CustomerFriendLink.friend_id == LineFriend.id,
    )
    linked = args.get("linked") or ""
    if linked == "yes":
        query = query.where(is_linked)
    elif linked == "no":
        query = query.where(~is_linked)

    tag = args.get("tag") or ""
    if tag.isascii() and tag.isdigit() and len(tag) <= 18:
        query = query.where(
            exists().where(
                FriendLumoTag.workspace_id == workspace_id,
                FriendLumoTag.friend_id == LineFriend.id,
                FriendLumoTag.lumo_tag_id == int(tag),
            )
        )
    return query


def workspace_lumo_tags(workspace_id: int) -> list[LumoTag]:
    return list(
        db.session.scalars(
            select(LumoTag).where(LumoTag.workspace_id == workspace_id).order_by(LumoTag.name_key)
        )
    )


def lumo_tags_of(workspace_id: int, friend_ids: list[int]) -> dict[int, list[LumoTag]]:
    """Each friend's Lumo tags, in one query for a whole page of friends."""
    found: dict[int, list[LumoTag]] = {friend_id: [] for friend_id in friend_ids}
    if not friend_ids:
        return found
    rows = db.session.execute(
        select(FriendLumoTag.friend_id, LumoTag)
        .join(LumoTag, LumoTag.id == FriendLumoTag.lumo_tag_id)
        .where(FriendLumoTag.workspace_id == workspace_id, FriendLumoTag.friend_id.in_(friend_ids))
        .order_by(LumoTag.name_key)
    )
    for friend_id, tag in rows:
        found[friend_id].append(tag)
    return found


def _friend_or_404(friend_id: int) -> LineFriend:
    friend = db.session.scalar(
        select(LineFriend).where(
            LineFriend.id == friend_id, LineFriend.workspace_id == current_workspace_id()
        )
    )
    if friend is None:
        abort(404)
    return friend


def page_number(raw: str | None, pages: int) -> int:
    """The page asked for, clamped to 1…`pages`; anything that is not a number is page 1."""
    if not raw or not (raw.isascii() and raw.isdigit()):
        return 1
    # A number longer than the page count cannot be a page; never convert a huge one.
    if len(raw.lstrip("0")) > len(str(pages)):
        return pages
    return max(1, min(pages, int(raw)))


@bp.get("/")
def index() -> ResponseReturnValue:
    workspace_id = current_workspace_id()
    query = filter_friends(workspace_id, request.args)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = page_number(request.args.get("page"), pages)
    friends = list(
        db.session.scalars(
            query.order_by(LineFriend.friend_added_at.desc(), LineFriend.id.desc())
            .limit(PAGE_SIZE)
            .offset((page - 1) * PAGE_SIZE)
        )
    )
    ids = [friend.id for friend in friends]
    linked = set(
        db.session.scalars(
            select(CustomerFriendLink.friend_id).where(
                CustomerFriendLink.workspace_id == workspace_id,
                CustomerFriendLink.friend_id.in_(ids),
            )
        )
    )
    args = {key: value for key, value in request.args.items() if key != "page" and value}
    return render_template(
        "friends/index.html",
        friends=friends,
        total=total,
        page=page,
        pages=pages,
        linked=linked,
        tags_by_friend=lumo_tags_of(workspace_id, ids),
        lumo_tags=workspace_lumo_tags(workspace_id),
        args=args,
    )


def _customer_context(workspace_id: int, friend: LineFriend) -> dict[str, Any]:
    link = db.session.scalar(
        select(CustomerFriendLink).where(
            CustomerFriendLink.workspace_id == workspace_id,
            CustomerFriendLink.friend_id == friend.id,
        )
    )
    if link is None:
        return {
            "link": None,
            "customer": None,
            "customer_tags": [],
            "orders": [],
            "carts": [],
            "checkouts": [],
        }
    shopify_id = link.customer_shopify_id
    customer = db.session.scalar(
        select(Customer).where(
            Customer.workspace_id == workspace_id, Customer.shopify_id == shopify_id
        )
    )
    customer_tags = list(
        db.session.scalars(
            select(CustomerTag.tag)
            .where(
                CustomerTag.workspace_id == workspace_id,
                CustomerTag.customer_shopify_id == shopify_id,
            )
            .order_by(CustomerTag.tag_key)
        )
    )
    orders = list(
        db.session.scalars(
            select(Order)
            .where(Order.workspace_id == workspace_id, Order.customer_shopify_id == shopify_id)
            .order_by(Order.ordered_at.desc(), Order.id.desc())
            .limit(20)
        )
    )
    carts = list(
        db.session.scalars(
            select(Cart)
            .where(Cart.workspace_id == workspace_id, Cart.customer_shopify_id == shopify_id)
            .order_by(Cart.shopify_updated_at.desc(), Cart.id.desc())
            .limit(10)
        )
    )
    checkouts = list(
        db.session.scalars(
            select(AbandonedCheckout)
            .where(
                AbandonedCheckout.workspace_id == workspace_id,
                AbandonedCheckout.customer_shopify_id == shopify_id,
            )
            .order_by(AbandonedCheckout.created_at.desc(), AbandonedCheckout.id.desc())
            .limit(10)
        )
    )
    return {
        "link": link,
        "customer": customer,
        "customer_tags": customer_tags,
        "orders": orders,
        "carts": carts,
        "checkouts": checkouts,
    }


@bp.get(f"/<int(max={MAX_ID}):friend_id>")
def show(friend_id: int) -> ResponseReturnValue:
    friend = _friend_or_404(friend_id)
    workspace_id = current_workspace_id()
    return render_template(
        "friends/show.html",
        friend=friend,
        friend_tags=lumo_tags_of(workspace_id, [friend.id])[friend.id],
        lumo_tags=workspace_lumo_tags(workspace_id),
        **_customer_context(workspace_id, friend),
    )


@bp.get(f"/<int(max={MAX_ID}):friend_id>/chat")
def chat(friend_id: int) -> ResponseReturnValue:
    friend = _friend_or_404(friend_id)
    workspace_id = current_workspace_id()
    messages = list(
        db.session.scalars(
            select(LineMessage)
            .where(LineMessage.workspace_id == workspace_id, LineMessage.friend_id == friend.id)
            .order_by(LineMessage.sent_at.desc(), LineMessage.id.desc())
            .limit(200)
        )
    )
    messages.reverse()
    return render_template(
        "friends/chat.html",
        friend=friend,
        messages=messages,
        friend_tags=lumo_tags_of(workspace_id, [friend.id])[friend.id],
        lumo_tags=workspace_lumo_tags(workspace_id),
    )


@bp.post(f"/<int(max={MAX_ID}):friend_id>/messages")
def reply(friend_id: int) -> ResponseReturnValue:
    friend = _friend_or_404(friend_id)
    text = (request.form.get("text") or "").strip()
    if not text:
        flash("Type a message before sending.")
    elif len(text) > 5000:
        flash("LINE text messages hold at most 5,000 characters; shorten the reply.")
    else:
        try:
            services.send_reply(current_workspace_id(), friend, text)
        except services.ActionRefused as error:
            flash(str(error))
    return redirect(url_for(".chat", friend_id=friend.id))


def _back(friend: LineFriend) -> ResponseReturnValue:
    target = ".chat" if request.values.get("back") == "chat" else ".show"
    return redirect(url_for(target, friend_id=friend.id))


@bp.post(f"/<int(max={MAX_ID}):friend_id>/lumo-tags")
def add_tag(friend_id: int) -> ResponseReturnValue:
    friend = _friend_or_404(friend_id)
    payload = request.get_json(silent=True) if request.is_json else None
    name = (payload or {}).get("name") if payload is not None else request.form.get("name")
    try:
        tag = services.add_lumo_tag(current_workspace_id(), friend.id, str(name or ""))
    except services.ActionRefused as error:
        if payload is not None:
            return jsonify(error=str(error)), 400
        flash(str(error))
        return _back(friend)
    if payload is not None:
        return jsonify(id=tag.id, name=tag.name), 201
    flash(f"Lumo tag “{tag.name}” added.")
    return _back(friend)


@bp.post(f"/<int(max={MAX_ID}):friend_id>/lumo-tags/<int(max={MAX_ID}):tag_id>/remove")
def remove_tag(friend_id: int, tag_id: int) -> ResponseReturnValue:
    friend = _friend_or_404(friend_id)
    tag = db.session.scalar(
        select(LumoTag).where(LumoTag.id == tag_id, LumoTag.workspace_id == current_workspace_id())
    )
    if tag is None:
        abort(404)
    try:
        services.remove_lumo_tag(current_workspace_id(), friend.id, tag.id)
    except services.ActionRefused as error:
        flash(str(error))
        return _back(friend)
    flash(f"Lumo tag “{tag.name}” removed.")
    return _back(friend)
