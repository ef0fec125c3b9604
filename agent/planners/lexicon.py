"""The offline planner's words: built-in phrases, Segment field synonyms and the glossary.

Each entry maps a phrase (a regular expression over normalised text) to a concept the planner
knows how to turn into a condition. Field synonyms from the `lumo_segment_fields` hook join the
built-in phrases through `FIELD_CONCEPTS`; a boolean field from another plugin becomes
`field = true` without any code here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.glossary import GlossaryTerm
from agent.language import normalize
from lumo.segments.fields import FieldType, SegmentFieldRegistry


@dataclass(frozen=True)
class Phrase:
    pattern: re.Pattern[str]
    concept: str
    priority: int
    #: A field name (generic boolean fields) or a glossary term.
    ref: str = ""


# Concepts the planner builds conditions for.
ORDER = "order"
SPENT = "spent"
AOV = "aov"
ABANDONED = "abandoned"
ACTIVE_CART = "active_cart"
FOLLOWING = "following"
BLOCKED = "blocked"
LINKED = "linked"
UNLINKED = "unlinked"
FRIEND_ADDED = "friend_added"
CUSTOMER_ADDED = "customer_added"
FIRST_ORDER = "first_order"
SHOPIFY_TAG_WORD = "shopify_tag_word"
LUMO_TAG_WORD = "lumo_tag_word"
TAG_WORD = "tag_word"
GLOSSARY = "glossary"
BOOLEAN_FIELD = "boolean_field"
EVERYONE = "everyone"
SUGGEST = "suggest"
BROADCAST = "broadcast"

#: Which concept a field's synonyms stand for.
FIELD_CONCEPTS = {
    "abandoned_checkout_date": ABANDONED,
    "abandoned_checkouts": ABANDONED,
    "has_active_cart": ACTIVE_CART,
    "line_follow_status": FOLLOWING,
    "line_friend_added_date": FRIEND_ADDED,
    "shopify_linked": LINKED,
    "customer_added_date": CUSTOMER_ADDED,
    "first_order_date": FIRST_ORDER,
    "number_of_orders": ORDER,
    "orders_placed": ORDER,
    "products_purchased": ORDER,
    "amount_spent": SPENT,
    "average_order_value": AOV,
    "customer_tags": SHOPIFY_TAG_WORD,
    "lumo_tags": LUMO_TAG_WORD,
}
#: Synonyms the hook declares that mean something else in running text.
SKIPPED_SYNONYMS = frozenset(
    {
        "following",
        "blocked",
        "ブロック",
        "休眠",
        "repeat",
        "リピーター",
        "member",
        "product",
        "商品",
        "タグ",
        "cart",
        "カート",
        "new friend",
        "新規友だち",
        "recent order",
        "frequent buyer",
        "常連",
        "vendor",
        "brand",
        "ブランド",
        "メーカー",
        "ベンダー",
        "product type",
        "商品タイプ",
        "商品カテゴリ",
        "category bought",
    }
)

_EN = r"\b(?:{})\b"

BUILT_IN: list[tuple[str, str, int]] = [
    (
        r"what should (?:i|we) send|what to send|suggest(?:ion)?s? (?:for )?(?:a )?(?:broadcast|"
        r"campaign|segment)s?|any (?:broadcast )?ideas|"
        r"何を(?:配信|送)|配信(?:の)?(?:提案|アイデア)|"
        r"おすすめの(?:配信|セグメント)",
        SUGGEST,
        100,
    ),
    (
        r"\b(?:draft|write|send|compose) (?:them |a |an |the )?(?:broadcast|message|line message)"
        r"|\bbroadcast (?:to|for) them\b|配信文|"
        r"メッセージ(?:を)?(?:作|考え|書)|配信(?:を)?(?:作|考え)",
        BROADCAST,
        100,
    ),
    (
        r"\b(?:all|every|everyone|everybody)(?: (?:of )?(?:my |our |the )?(?:friends|followers|"
        r"customers|people))?\b|全員|すべての友だち|全ての友だち|友だち全員",
        EVERYONE,
        5,
    ),
    (
        r"\babandon(?:ed|s|ing)? (?:their |a |the |his |her |your )?(?:shopping )?(?:carts?|"
        r"checkouts?|baskets?)|\bcart abandon(?:ers|ment|ed)?\b|\babandoners\b|\babandoned\b|"
        r"\bleft (?:items|something|products) in (?:their|the) (?:cart|basket)\b|"
        r"\bdidn't (?:complete|finish) (?:their |the )?checkout\b|"
        r"カゴ落ち|かご落ち|カート放棄|カゴ放棄|購入途中離脱|かご落",
        ABANDONED,
        60,
    ),
    (
        r"\b(?:items? in (?:their|the|a) (?:cart|basket)|in (?:their|the) (?:carts?|baskets?)|"
        r"added (?:something |items |products )?to (?:their |the |a )?(?:cart|basket)|"
        r"active carts?|open carts?|carts? with items)\b|"
        r"カートに(?:商品を)?入れ|カートに商品|カート内|"
        r"カートに入っ",
        ACTIVE_CART,
        55,
    ),
    (
        r"\b(?:not blocked|haven't blocked(?: us)?|"
        r"never blocked(?: us)?|(?:still )?follow(?:s|ing)? "
        r"(?:us|the account|our (?:line )?account|our line)|followers?|following|reachable|"
        r"can (?:be )?reach(?:ed)?|can receive (?:messages|broadcasts))\b|"
        r"ブロックしていない|ブロックしてない|フォロー中|フォローしている|フォローしてくれている|配信可能|"
        r"メッセージが届く|フォロー",
        FOLLOWING,
        50,
    ),
    (
        r"\b(?:block(?:ed|ing|s)?(?: us)?|unfollow(?:ed|"
        r"s)?(?: us)?|not following)\b|ブロック(?:した|中|"
        r"している)?|ブロックされた",
        BLOCKED,
        49,
    ),
    (
        r"\b(?:unlinked|not (?:id[- ])?linked|not connected|haven't linked|without (?:a )?linked)"
        r"\b|未連携|連携していない|連携してない",
        UNLINKED,
        58,
    ),
    (
        r"\b(?:id[- ]linked|linked(?: (?:their|a|to (?:a|their)) (?:shopify )?(?:accounts?|"
        r"customers?))?|connected (?:their )?(?:shopify )?accounts?|account[- ]linked)\b|"
        r"連携済み|連携している|id ?連携|会員連携|連携",
        LINKED,
        57,
    ),
    (
        r"\b(?:added us|added (?:our|the) (?:line )?account|became (?:a |our )?friends?|"
        r"(?:joined|friended)(?: us)?|friends? added|added as (?:a )?friends?|"
        r"followed us|started following)\b|友だち追加|友達追加|友だちになった|友達になった|"
        r"友だち登録|友達登録|友だちに追加",
        FRIEND_ADDED,
        45,
    ),
    (
        r"\b(?:signed up|registered|created (?:an|their) (?:store )?accounts?|"
        r"became (?:a )?customers?|joined the (?:store|"
        r"shop))\b|会員登録|顧客登録|アカウント(?:を)?作成",
        CUSTOMER_ADDED,
        45,
    ),
    (
        r"\b(?:first (?:order|purchase)s?|ordered for the first time|bought for the first time|"
        r"purchased for the first time)\b|初回購入日|初めて購入|初めて買|初購入|初回購入",
        FIRST_ORDER,
        44,
    ),
    (
        r"\b(?:spen[dt](?:ing)?|total spend|lifetime value|ltv|amount spent|total purchases)\b|"
        r"累計購入金額|購入金額|累計金額|累計|お金を使|使った|使っている",
        SPENT,
        40,
    ),
    (r"\b(?:average order(?: value)?|aov|basket size)\b|客単価|平均注文額|平均購入額", AOV, 42),
    (
        r"\b(?:shopify (?:customer )?tags?|customer tags?)\b|"
        r"顧客タグ|shopify ?タグ|shopify ?の(?:顧客)?タグ",
        SHOPIFY_TAG_WORD,
        70,
    ),
    (
        r"\b(?:lumo (?:friend )?tags?|friend tags?)\b|"
        r"友だちタグ|友達タグ|lumo ?タグ|lumo ?の(?:友だち)?タグ",
        LUMO_TAG_WORD,
        70,
    ),
    (
        r"\b(?:tagged(?: (?:with|as))?|tags?|"
        r"labell?ed)\b|タグ(?:が付いた|付き|がついた|の付いた)?",
        TAG_WORD,
        20,
    ),
    (
        r"\b(?:ordered|orders?|ordering|purchased|purchases?|purchasing|bought|buy(?:s|ing)?|"
        r"shopped|placed an order|made a purchase|customers who shop)\b|購入|注文|買っ|買った|"
        r"買う|買い物|お買い上げ|買い",
        ORDER,
        30,
    ),
]


def build_lexicon(registry: SegmentFieldRegistry, glossary: list[GlossaryTerm]) -> list[Phrase]:
    """Every phrase, highest priority and longest first."""
    phrases = [
        Phrase(re.compile(pattern), concept, priority) for pattern, concept, priority in BUILT_IN
    ]
    for field in registry:
        concept = FIELD_CONCEPTS.get(field.name)
        if concept is None and field.type is FieldType.BOOLEAN:
            concept = BOOLEAN_FIELD
        if concept is None:
            continue
        for synonym in field.synonyms:
            if synonym in SKIPPED_SYNONYMS:
                continue
            phrases.append(Phrase(_word_pattern(synonym), concept, 35, field.name))
    for term in glossary:
        for word in term.words():
            phrases.append(Phrase(_word_pattern(word), GLOSSARY, 80, term.term))
    return phrases


def _word_pattern(word: str) -> re.Pattern[str]:
    normal = re.escape(normalize(word)).replace(r"\ ", r"[ -]?").replace(r"\-", r"[ -]?")
    if re.search(r"[a-z0-9]", normal[:1]) and re.search(r"[a-z0-9]", normal[-1:]):
        return re.compile(r"\b" + normal + r"(?:s|es)?\b")
    return re.compile(normal)
