"""Broadcast drafts grounded in the synced data, and what to send this week.

A draft is a list of LINE message objects checked against LINE's limits (at most 5 messages,
text at most 5000 UTF-16 units) by `lumo.line.messages.validate_messages`. Product names and
other store text are quoted into drafts as data; nothing is sent from here.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from lumo.extensions import db
from lumo.line.messages import MAX_MESSAGES_PER_REQUEST, MAX_TEXT_LENGTH, utf16_length
from lumo.line.messages import validate_messages as validate_line_messages
from lumo.models import AbandonedCheckout, CustomerFriendLink, Order, OrderLineItem, Product
from lumo.segments import service
from lumo.segments.errors import SegmentError
from lumo.segments.model import Segment, iter_conditions
from lumo.segments.printer import format_segment

logger = logging.getLogger(__name__)

#: How many members a draft looks at to find their products (enough for a clear picture).
SAMPLE_MEMBERS = 2000
NEW_PRODUCT_DAYS = 30


def draft_broadcast(
    workspace_id: int, segment: Segment, language: str = "en", *, now: datetime | None = None
) -> dict[str, Any]:
    """A draft for the Segment's audience: kind, messages, and what it was based on."""
    ja = language == "ja"
    names = {
        c.function if hasattr(c, "function") else c.field  # type: ignore[union-attr]
        for c in iter_conditions(segment.where)
    }
    members = service.member_ids(workspace_id, segment, limit=SAMPLE_MEMBERS, now=now)
    customers = _linked_customers(workspace_id, members)

    if names & {"abandoned_checkout_date", "abandoned_checkouts", "has_active_cart"}:
        products = most_abandoned_products(workspace_id, customers)
        kind, text = "cart_reminder", _cart_text(products, ja)
        based_on = {"most_abandoned_products": products}
    elif names & {
        "orders_placed",
        "number_of_orders",
        "products_purchased",
        "amount_spent",
    } and not _lapsed(segment):
        types = favourite_product_types(workspace_id, customers)
        fresh = new_products(workspace_id, types, now=now)
        kind, text = "new_in_favourites", _new_products_text(fresh, types, ja)
        based_on = {"favourite_product_types": types, "new_products": fresh}
    elif _lapsed(segment):
        best = bestsellers(workspace_id)
        kind, text = "win_back", _win_back_text(best, ja)
        based_on = {"bestsellers": best}
    else:
        fresh = new_products(workspace_id, [], now=now)
        kind, text = "news", _news_text(fresh, ja)
        based_on = {"new_products": fresh}

    messages = validate_line_messages([_text_message(text)])
    logger.info(
        "broadcast draft %s for workspace %s: %d members", kind, workspace_id, len(members)
    )
    return {
        "kind": kind,
        "segment_text": format_segment(segment),
        "audience": len(members),
        "messages": messages,
        "based_on": based_on,
        "limits": {"max_messages": MAX_MESSAGES_PER_REQUEST, "max_text_length": MAX_TEXT_LENGTH},
    }


def suggest_broadcasts(
    workspace_id: int, language: str = "en", *, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Audiences worth a message this week, from the data, biggest reachable audience first."""
    from agent.facts import load_facts

    ja = language == "ja"
    facts = load_facts(workspace_id, now=now)
    vip = next((tag.name for key, tag in facts.shopify_tags.items() if "vip" in key), None)
    lapsed_vip = (
        f"customer_tags CONTAINS '{_quote(vip)}' AND last_order_date < -90d"
        if vip
        else "amount_spent >= 1 AND last_order_date < -90d"
    )
    ideas = [
        (
            "recent_abandoned_carts",
            "abandoned_checkout_date > -7d AND line_follow_status = 'following'",
            (
                "Recent abandoned carts",
                "Remind them what they left behind.",
                "最近のカゴ落ち",
                "カートに残した商品をお知らせしましょう。",
            ),
        ),
        (
            "lapsed_vips",
            lapsed_vip + " AND line_follow_status = 'following'",
            (
                "Lapsed VIPs",
                "Good customers who have not ordered in 90 days.",
                "休眠中のVIP",
                "90日以上購入のない優良顧客です。",
            ),
        ),
        (
            "new_unlinked_friends",
            "line_friend_added_date > -14d AND shopify_linked = false AND "
            "line_follow_status = 'following'",
            (
                "New friends not yet linked",
                "Invite them to link their store account.",
                "ID連携していない新しい友だち",
                "ストアのアカウント連携を案内しましょう。",
            ),
        ),
        (
            "frequent_buyers",
            "orders_placed MATCHES (count >= 3, date > -90d) AND line_follow_status = 'following'",
            (
                "Frequent buyers",
                "Show them what is new in the types they buy.",
                "常連のお客様",
                "よく買う商品タイプの新商品を紹介しましょう。",
            ),
        ),
    ]
    suggestions: list[dict[str, Any]] = []
    for key, text, (title, why, title_ja, why_ja) in ideas:
        try:
            segment = service.as_segment(text)
            funnel = service.reachability(workspace_id, segment, now=now)
        except SegmentError:
            logger.exception("suggestion %s could not be evaluated", key)
            continue
        if funnel["matched_friends"] == 0:
            continue
        suggestions.append(
            {
                "key": key,
                "title": title_ja if ja else title,
                "why": why_ja if ja else why,
                "segment_text": text,
                "count": funnel["matched_friends"],
                "reachable": funnel["reachable_friends"],
                "draft": draft_broadcast(workspace_id, segment, language, now=now),
            }
        )
    suggestions.sort(key=lambda item: -int(item["reachable"]))
    logger.info("broadcast suggestions for workspace %s: %d", workspace_id, len(suggestions))
    return suggestions


# -- grounding in the data -----------------------------------------------------------------


def _linked_customers(workspace_id: int, friend_ids: list[int]) -> list[int]:
    if not friend_ids:
        return []
    rows = db.session.scalars(
        select(CustomerFriendLink.customer_shopify_id).where(
            CustomerFriendLink.workspace_id == workspace_id,
            CustomerFriendLink.friend_id.in_(friend_ids),
        )
    )
    return [int(row) for row in rows]


def most_abandoned_products(workspace_id: int, customers: list[int], top: int = 3) -> list[str]:
    """Product titles most often left in the customers' unrecovered checkouts."""
    if not customers:
        return []
    counter: Counter[str] = Counter()
    rows = db.session.scalars(
        select(AbandonedCheckout.product_titles).where(
            AbandonedCheckout.workspace_id == workspace_id,
            AbandonedCheckout.customer_shopify_id.in_(customers),
            AbandonedCheckout.completed_at.is_(None),
        )
    )
    for titles in rows:
        counter.update(title for title in titles or [] if isinstance(title, str))
    return [title for title, _ in counter.most_common(top)]


def favourite_product_types(workspace_id: int, customers: list[int], top: int = 2) -> list[str]:
    """The product types these customers bought most (by units)."""
    if not customers:
        return []
    rows = db.session.execute(
        select(Product.product_type, OrderLineItem.quantity)
        .join(
            Order,
            (Order.workspace_id == OrderLineItem.workspace_id)
            & (Order.shopify_id == OrderLineItem.order_shopify_id),
        )
        .join(
            Product,
            (Product.workspace_id == OrderLineItem.workspace_id)
            & (Product.shopify_id == OrderLineItem.product_shopify_id),
        )
        .where(
            OrderLineItem.workspace_id == workspace_id, Order.customer_shopify_id.in_(customers)
        )
    )
    counter: Counter[str] = Counter()
    for product_type, quantity in rows:
        if product_type:
            counter[product_type] += int(quantity or 1)
    return [name for name, _ in counter.most_common(top)]


def new_products(
    workspace_id: int, types: list[str], *, now: datetime | None = None, top: int = 3
) -> list[str]:
    """Active products published recently, in `types` when given (newest first)."""
    from lumo.models.base import utcnow

    since = (now or utcnow()) - timedelta(days=NEW_PRODUCT_DAYS)
    query = select(Product.title).where(
        Product.workspace_id == workspace_id,
        Product.published_at >= since,
        Product.status == "active",
    )
    if types:
        query = query.where(Product.product_type.in_(types))
    titles = db.session.scalars(query.order_by(Product.published_at.desc()).limit(top))
    return [title for title in titles if title]


def bestsellers(workspace_id: int, top: int = 3) -> list[str]:
    from sqlalchemy import func

    rows = db.session.execute(
        select(OrderLineItem.product_title, func.sum(OrderLineItem.quantity).label("units"))
        .where(
            OrderLineItem.workspace_id == workspace_id, OrderLineItem.product_title.is_not(None)
        )
        .group_by(OrderLineItem.product_title)
        .order_by(func.sum(OrderLineItem.quantity).desc())
        .limit(top)
    )
    return [str(title) for title, _ in rows]


def _lapsed(segment: Segment) -> bool:
    return any(
        getattr(c, "field", "") == "last_order_date"
        and getattr(c, "op", None) is not None
        and c.op.value in ("<", "<=")  # type: ignore[union-attr]
        for c in iter_conditions(segment.where)
    )


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'")


# -- wording ----------------------------------------------------------------------------------


def _listed(items: list[str], ja: bool) -> str:
    return "、".join(f"「{item}」" for item in items) if ja else ", ".join(items)


def _cart_text(products: list[str], ja: bool) -> str:
    if ja:
        if products:
            return (
                f"カートに{_listed(products, ja)}が残っています。在庫があるうちにぜひお買い求め"
                "ください。ご不明点はこのトークでお気軽にどうぞ。"
            )
        return "カートに商品が残っています。在庫があるうちにぜひお買い求めください。"
    if products:
        return (
            f"You left {_listed(products, ja)} in your cart. They're still waiting for you "
            "while stock lasts — reply here if you have any questions."
        )
    return "You left something in your cart. It's still waiting for you while stock lasts."


def _new_products_text(fresh: list[str], types: list[str], ja: bool) -> str:
    if ja:
        if fresh:
            return (
                "いつもありがとうございます。"
                f"お気に入りの{_listed(types, ja)}に新商品{_listed(fresh, ja)}が入荷しました。"
            )
        return "いつもありがとうございます。あなたにおすすめの新着商品をチェックしてみてください。"
    if fresh:
        return (
            f"Thanks for being a regular! New in {_listed(types, ja)}: {_listed(fresh, ja)}. "
            "Take a look before they sell out."
        )
    return "Thanks for being a regular! Take a look at what's new in the store this week."


def _win_back_text(best: list[str], ja: bool) -> str:
    if ja:
        extra = f"人気の{_listed(best, ja)}もおすすめです。" if best else ""
        return f"お久しぶりです！最近の新商品をご覧になりませんか。{extra}"
    extra = f" Our bestsellers right now: {_listed(best, ja)}." if best else ""
    return f"We miss you! Come and see what's new.{extra}"


def _news_text(fresh: list[str], ja: bool) -> str:
    if ja:
        return (
            f"新商品のお知らせ：{_listed(fresh, ja)}"
            if fresh
            else "今週のおすすめをお届けします。"
        )
    return f"New this month: {_listed(fresh, ja)}." if fresh else "Here's what's new this week."


def _text_message(text: str) -> dict[str, Any]:
    while utf16_length(text) > MAX_TEXT_LENGTH:
        text = text[: len(text) - 100] + "…"
    return {"type": "text", "text": text}
