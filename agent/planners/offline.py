"""The offline planner: rule-based, no model and no network, English and Japanese.

It reads the request in steps: normalise the text; find periods and compared numbers; claim
tag names, quoted values, phrases (built-in, field synonyms, glossary) and catalogue names;
decide which phrases are negated; attach each period and number to the phrase it belongs to;
build one condition per phrase and join them with AND (OR where the request says "or").
"""

from __future__ import annotations

import difflib
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from agent.facts import WorkspaceFacts
from agent.glossary import GlossaryTerm, resolve_definition
from agent.language import Period, Quantity, find_periods, find_quantities, is_japanese, normalize
from agent.planners import lexicon as lx
from agent.planners.base import Clarification, Plan
from lumo.segments.errors import SegmentError
from lumo.segments.fields import FieldType
from lumo.segments.model import (
    And,
    Condition,
    DateOffset,
    FunctionCondition,
    Node,
    Not,
    Op,
    Or,
    Segment,
)
from lumo.segments.printer import format_node

logger = logging.getLogger(__name__)

TAG = "tag"
PRODUCT = "product"
UNKNOWN_QUOTED = "unknown_quoted"

PERIOD_TAKERS = {
    lx.ORDER,
    lx.ABANDONED,
    lx.FRIEND_ADDED,
    lx.CUSTOMER_ADDED,
    lx.FIRST_ORDER,
    lx.SPENT,
    PRODUCT,
    lx.GLOSSARY,
}
MONEY_TAKERS = {lx.SPENT, lx.AOV, lx.ABANDONED, lx.ORDER, lx.GLOSSARY}
COUNT_TAKERS = {lx.ORDER, lx.GLOSSARY, PRODUCT}

_EN_NEGATOR = re.compile(
    r"\b(?:not|never|no|without|exclude|excluding|except|non|other than|minus|remove|drop|"
    r"neither|nor|aren't|isn't)\b|n't\b"
)
_LIST_NEGATOR = re.compile(
    r"\b(?:exclude|excluding|except|without|other than|minus|remove|"
    r"drop)\b|以外|除"
)
_JA_NEGATOR = re.compile(r"^[^、。,]*?(?:ない|ず(?:に|、|$)|なし|無し|以外|除)")
_CLAUSE = re.compile(r" and | or |,| who | that | but | whose |、|。")
_OR_GAP = re.compile(r"\bor\b|または|もしくは|あるいは|^\s*か[、,]?\s*$|^\s*or\s*$")
_QUOTED = re.compile(
    r"(?:(?<=[\s(:])|^)'([^']+)'(?=[\s),.?!:]|$)|\"([^\"]+)\"|「([^」]+)」|『([^』]+)』"
)
_REFINE_EN = re.compile(
    r"^(?:(?:and|but|now|also|then|ok(?:ay)?|please|great|good)[ ,]+)*"
    r"(?:only|just|exclude|excluding|except|without|remove|drop|narrow|limit|keep|of (?:those|"
    r"them|these)|among (?:them|those|these)|from (?:those|them|these)|who (?:also|still)|"
    r"that also|and also|plus|add)\b"
)
_REFINE_JA = re.compile(
    r"^(?:その中で|その中から|そのうち|このうち|この中で|さらに|そこから|ただし|"
    r"あと)|(?:に絞って|に絞り込んで|に絞り込む|を除外して|を除外|を除いて|だけにして|"
    r"のみにして)[。]?$"
)

_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "to",
        "in",
        "on",
        "at",
        "for",
        "from",
        "by",
        "with",
        "who",
        "whom",
        "whose",
        "that",
        "which",
        "what",
        "and",
        "or",
        "but",
        "if",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "has",
        "have",
        "had",
        "having",
        "do",
        "does",
        "did",
        "done",
        "any",
        "some",
        "all",
        "every",
        "our",
        "us",
        "we",
        "my",
        "me",
        "i",
        "you",
        "your",
        "their",
        "them",
        "they",
        "those",
        "these",
        "this",
        "it",
        "its",
        "there",
        "here",
        "than",
        "then",
        "also",
        "only",
        "just",
        "still",
        "now",
        "please",
        "show",
        "me",
        "find",
        "get",
        "give",
        "list",
        "select",
        "pick",
        "want",
        "need",
        "would",
        "like",
        "people",
        "person",
        "persons",
        "friends",
        "friend",
        "customers",
        "customer",
        "users",
        "user",
        "members",
        "shoppers",
        "buyers",
        "clients",
        "audience",
        "segment",
        "everyone",
        "everybody",
        "anyone",
        "someone",
        "ones",
        "one",
        "s",
        "can",
        "could",
        "should",
        "will",
        "may",
        "might",
        "let",
        "lets",
        "let's",
        "please",
        "kindly",
        "okay",
        "ok",
        "so",
        "very",
        "really",
        "more",
        "most",
        "less",
        "least",
        "at",
        "least",
        "times",
        "time",
        "ago",
        "days",
        "day",
        "weeks",
        "week",
        "months",
        "month",
        "years",
        "year",
        "yet",
        "ever",
        "already",
        "recently",
        "again",
        "been",
        "haven't",
        "hasn't",
        "didn't",
        "don't",
        "doesn't",
        "not",
        "no",
        "never",
        "without",
        "exclude",
        "excluding",
        "except",
        "other",
        "line",
        "account",
        "store",
        "shop",
        "items",
        "item",
        "stuff",
        "things",
        "made",
        "make",
        "placed",
        "place",
        "send",
        "sending",
        "message",
        "messages",
        "broadcast",
        "draft",
        "write",
        "them",
        "products",
        "product",
        "goods",
        "anything",
        "something",
        "stuff",
        "brand",
        "brands",
        "vendor",
        "vendors",
        "type",
        "types",
        "category",
        "categories",
        "item",
        "items",
        "from",
        "via",
        "through",
        "who've",
        "they've",
        "we've",
    ]
)
_JA_STOPWORDS = frozenset(
    [
        "友だち",
        "友達",
        "顧客",
        "お客様",
        "お客さん",
        "会員",
        "全員",
        "ユーザー",
        "以上",
        "以下",
        "未満",
        "人たち",
        "人達",
        "方々",
        "抽出",
        "絞り込み",
        "絞り込んで",
        "教えて",
        "探して",
        "出して",
        "一覧",
        "リスト",
        "セグメント",
        "対象",
        "配信",
        "送りたい",
        "表示",
        "選んで",
        "作って",
        "中",
        "人",
        "方",
        "日",
        "回",
        "件",
        "前",
        "間",
        "今",
        "月",
        "年",
        "週",
        "度",
        "上",
        "下",
        "円",
        "全て",
        "すべて",
        "最近",
        "まだ",
        "一度",
        "以内",
        "現在",
        "今も",
        "利用者",
        "購入者",
        "顧客様",
        "みなさん",
        "皆さん",
        "内",
        "の中",
        "ください",
        "下さい",
        "欲しい",
        "ほしい",
        "見せて",
        "誰",
        "抽出して",
    ]
)


@dataclass
class Mention:
    concept: str
    start: int
    end: int
    ref: str = ""
    kind: str = ""
    negated: bool = False
    list_negated: bool = False
    period: Period | None = None
    quantity: Quantity | None = None
    products: list[Mention] = field(default_factory=list)
    attached: bool = False
    from_glossary: bool = False


class OfflinePlanner:
    """Deterministic planning from the workspace's vocabulary; see the module docstring."""

    name = "offline"

    def plan(
        self,
        text: str,
        facts: WorkspaceFacts,
        *,
        previous: Segment | None = None,
        hints: dict[str, str] | None = None,
    ) -> Plan:
        return _Run(text, facts, previous, hints or {}).plan()


class _Run:
    def __init__(
        self, text: str, facts: WorkspaceFacts, previous: Segment | None, hints: dict[str, str]
    ) -> None:
        self.raw = text
        self.text = normalize(text)
        self.facts = facts
        self.previous = previous
        self.hints = hints
        self.japanese = is_japanese(text)
        self.result = Plan(language="ja" if self.japanese else "en")
        self.taken: list[tuple[int, int]] = []
        self.mentions: list[Mention] = []
        self.glossary = {term.term: term for term in facts.glossary}

    # -- the steps ----------------------------------------------------------------------------

    def plan(self) -> Plan:
        from agent.unsupported import find_unsupported

        if not self.text:
            return self._clarify(
                self._say(
                    "What audience are you looking for? For example: friends who abandoned their "
                    "cart in the last 7 days.",
                    "どんな対象を探しますか？例：過去7日にカゴ落ちした友だち",
                )
            )
        unsupported = find_unsupported(self.text, self.japanese)
        if unsupported:
            self.result.intent = "unsupported"
            self.result.unsupported = unsupported
            return self.result

        periods = find_periods(self.text, self.facts.today)
        self.taken.extend((p.start, p.end) for p in periods)
        quantities = find_quantities(self.text, list(self.taken))
        self.taken.extend((q.start, q.end) for q in quantities)

        self._claim_quoted()
        self._claim_tags()
        self._claim_phrases()
        self._claim_catalog()
        if any(m.concept == lx.SUGGEST for m in self.mentions):
            self.result.intent = "suggest"
            return self.result
        self.result.wants_broadcast = any(m.concept == lx.BROADCAST for m in self.mentions)

        question = self._tag_questions()
        if question is not None:
            return question
        self._mark_negations()
        self._attach_periods(periods)
        self._attach_quantities(quantities)
        self._attach_products()

        node = self._combine()
        unknown = self._unknown_words()
        refine = self.previous is not None and self._is_refinement()
        if node is None and not refine:
            if unknown:
                return self._unknown_question(unknown)
            named = any(m.concept in (lx.EVERYONE, lx.BROADCAST) for m in self.mentions)
            if not named and not self._subject_only():
                return self._unknown_question([])
        if refine and self.previous is not None:
            self.result.refined = True
            node = _and(self.previous.where, node)
        self.result.segment = Segment(node)
        if unknown:
            self.result.clarification = Clarification(
                self._say(
                    f"I didn't understand {_words(unknown)} and left it out. Is it a product, "
                    "a tag or something else?",
                    f"「{'」「'.join(unknown)}」が分からなかったため条件から外しました。商品名・タグ・"
                    "その他のどれですか？",
                ),
                request=self.raw,
            )
        return self.result

    # -- claiming words ------------------------------------------------------------------------

    def _free(self, start: int, end: int) -> bool:
        return all(end <= a or start >= b for a, b in self.taken)

    def _claim(self, mention: Mention) -> None:
        self.taken.append((mention.start, mention.end))
        self.mentions.append(mention)

    def _claim_quoted(self) -> None:
        for match in _QUOTED.finditer(self.text):
            value = next(group for group in match.groups() if group is not None).strip()
            if not value or not self._free(match.start(), match.end()):
                continue
            key = value.lower()
            if key in self.facts.shopify_tags or key in self.facts.lumo_tags:
                self._claim(Mention(TAG, match.start(), match.end(), ref=key))
                continue
            found = self._catalog_exact(key)
            if found is not None:
                kind, name = found
                self._claim(Mention(PRODUCT, match.start(), match.end(), ref=name, kind=kind))
                continue
            self._claim(Mention(UNKNOWN_QUOTED, match.start(), match.end(), ref=value))

    def _claim_tags(self) -> None:
        keys = sorted(
            set(self.facts.shopify_tags) | set(self.facts.lumo_tags), key=len, reverse=True
        )
        for key in keys:
            normal = normalize(key)
            if len(normal) < 2:
                continue
            for match in _find_word(normal, self.text, plural=True):
                if self._free(*match):
                    self._claim(Mention(TAG, match[0], match[1], ref=key))

    def _claim_phrases(self) -> None:
        found: list[tuple[int, int, int, lx.Phrase]] = []
        for phrase in _lexicon(self.facts):
            for match in phrase.pattern.finditer(self.text):
                if match.end() > match.start():
                    found.append((match.start(), match.end(), phrase.priority, phrase))
        found.sort(key=lambda item: (-item[2], -(item[1] - item[0]), item[0]))
        for start, end, _, phrase in found:
            if self._free(start, end):
                self._claim(Mention(phrase.concept, start, end, ref=phrase.ref))

    def _claim_catalog(self) -> None:
        names: list[tuple[str, str, str]] = []
        for kind, values in (
            ("product_title", self.facts.product_titles),
            ("vendor", self.facts.vendors),
            ("product_type", self.facts.product_types),
        ):
            names.extend((normalize(name), kind, name) for name in values)
        names.sort(key=lambda item: -len(item[0]))
        for normal, kind, name in names:
            if len(normal) < 3:
                continue
            for start, end in _find_word(normal, self.text, plural=True):
                if self._free(start, end):
                    self._claim(Mention(PRODUCT, start, end, ref=name, kind=kind))
        if not self.japanese:
            self._claim_catalog_fuzzy(names)

    def _claim_catalog_fuzzy(self, names: list[tuple[str, str, str]]) -> None:
        """Misspelt or plural catalogue names: close matches of the leftover word runs."""
        by_size: dict[int, list[tuple[str, str, str]]] = {}
        for item in names:
            by_size.setdefault(len(item[0].split()), []).append(item)
        for _, words in self._leftover_runs():
            for size in range(min(4, len(words)), 0, -1):
                for offset in range(len(words) - size + 1):
                    chunk = words[offset : offset + size]
                    start = chunk[0][0]
                    end = chunk[-1][1]
                    if not self._free(start, end):
                        continue
                    phrase = self.text[start:end]
                    if all(w[2] in _STOPWORDS for w in chunk):
                        continue
                    best = _closest(phrase, by_size.get(size, []))
                    if best is not None:
                        normal, kind, name = best
                        self._claim(Mention(PRODUCT, start, end, ref=name, kind=kind))

    def _leftover_runs(self) -> list[tuple[int, list[tuple[int, int, str]]]]:
        runs: list[list[tuple[int, int, str]]] = [[]]
        for match in re.finditer(r"[a-z0-9][a-z0-9'&.-]*", self.text):
            word = match.group(0)
            if not self._free(match.start(), match.end()) or word in _STOPWORDS:
                if runs[-1]:
                    runs.append([])
                continue
            runs[-1].append((match.start(), match.end(), word))
        return [(run[0][0], run) for run in runs if run]

    def _catalog_exact(self, key: str) -> tuple[str, str] | None:
        for kind, values in (
            ("product_title", self.facts.product_titles),
            ("vendor", self.facts.vendors),
            ("product_type", self.facts.product_types),
        ):
            for name in values:
                if name.lower() == key:
                    return kind, name
        return None

    # -- tags -----------------------------------------------------------------------------

    def _tag_questions(self) -> Plan | None:
        markers = [
            m
            for m in self.mentions
            if m.concept in (lx.SHOPIFY_TAG_WORD, lx.LUMO_TAG_WORD, lx.TAG_WORD)
        ]
        for mention in [m for m in self.mentions if m.concept in (TAG, UNKNOWN_QUOTED)]:
            marker = _nearest(mention, markers, 30)
            if mention.concept == UNKNOWN_QUOTED:
                if marker is None:
                    return self._unknown_question([mention.ref])
                mention.concept = TAG
                mention.ref = mention.ref.lower()
            kind = self._tag_kind(mention, marker)
            if kind == "ask":
                return self._ask_tag_kind(mention.ref)
            if kind == "unknown":
                return self._unknown_tag(mention.ref)
            mention.kind = kind
        for marker in markers:
            if (
                marker.concept == lx.TAG_WORD
                and _nearest(marker, [m for m in self.mentions if m.concept == TAG], 30) is None
            ):
                following = re.match(r"\s*([^\s,、。]+)", self.text[marker.end :])
                if following and self._free(marker.end, marker.end + following.end()):
                    return self._unknown_tag(following.group(1))
        return None

    def _tag_kind(self, mention: Mention, marker: Mention | None) -> str:
        key = mention.ref
        hinted = self.hints.get(f"tag:{key}")
        if hinted in ("customer_tags", "lumo_tags"):
            return hinted
        if marker is not None and marker.concept == lx.SHOPIFY_TAG_WORD:
            if key not in self.facts.shopify_tags:
                self.result.assumptions.append(
                    self._say(
                        "No Shopify customer has the tag "
                        f"'{key}' yet, so this part matches no one "
                        "for now.",
                        f"Shopify顧客タグ「{key}」が付いた顧客はまだいません。",
                    )
                )
            return "customer_tags"
        if marker is not None and marker.concept == lx.LUMO_TAG_WORD:
            if key not in self.facts.lumo_tags:
                self.result.assumptions.append(
                    self._say(
                        f"No friend has the Lumo tag '{key}' yet, "
                        "so this part matches no one for now.",
                        f"Lumoタグ「{key}」が付いた友だちはまだいません。",
                    )
                )
            return "lumo_tags"
        in_shopify = key in self.facts.shopify_tags
        in_lumo = key in self.facts.lumo_tags
        if in_shopify and in_lumo:
            return "ask"
        if in_shopify:
            return "customer_tags"
        if in_lumo:
            return "lumo_tags"
        return "unknown"

    def _ask_tag_kind(self, key: str) -> Plan:
        shopify = self.facts.shopify_tags[key]
        lumo = self.facts.lumo_tags[key]
        question = self._say(
            f"'{shopify.name}' is both a Shopify customer tag (on "
            f"{_many(shopify.count, 'customer')}) and a Lumo friend tag (on "
            f"{_many(lumo.count, 'friend')}). Which one do you mean?",
            f"「{shopify.name}」はShopify顧客タグ（{shopify.count}人の顧客）とLumoの友だちタグ"
            f"（{lumo.count}人の友だち）の両方にあります。どちらですか？",
        )
        options = [
            {
                "label": self._say(
                    f"Shopify customer tag '{shopify.name}'", f"Shopify顧客タグ「{shopify.name}」"
                ),
                "hint": f"tag:{key}=customer_tags",
            },
            {
                "label": self._say(f"Lumo friend tag '{lumo.name}'", f"Lumoタグ「{lumo.name}」"),
                "hint": f"tag:{key}=lumo_tags",
            },
        ]
        return self._clarify(question, options)

    def _unknown_tag(self, name: str) -> Plan:
        known = {
            **{k: v.name for k, v in self.facts.shopify_tags.items()},
            **{k: v.name for k, v in self.facts.lumo_tags.items()},
        }
        close = difflib.get_close_matches(name.lower(), list(known), n=3, cutoff=0.5)
        hint = ""
        if close:
            hint = self._say(
                " Did you mean " + " or ".join(f"'{known[c]}'" for c in close) + "?",
                "「" + "」「".join(known[c] for c in close) + "」のことですか？",
            )
        return self._clarify(
            self._say(
                f"There is no Shopify customer tag or Lumo tag called '{name}' in this workspace."
                + hint,
                f"「{name}」というShopify顧客タグもLumoタグもありません。" + hint,
            )
        )

    # -- negation and attachment ---------------------------------------------------------------

    def _mark_negations(self) -> None:
        ordered = sorted(self.mentions, key=lambda m: m.start)
        for index, mention in enumerate(ordered):
            before = ordered[index - 1] if index else None
            after = ordered[index + 1] if index + 1 < len(ordered) else None
            low = max(before.end if before else 0, mention.start - 40)
            window = self.text[low : mention.start]
            cut = list(_CLAUSE.finditer(window))
            if cut:
                window = window[cut[-1].end() :]
            negator = _EN_NEGATOR.search(window)
            if negator:
                mention.negated = True
                mention.list_negated = bool(_LIST_NEGATOR.search(negator.group(0)))
            tail = self.text[mention.end : min(mention.end + 9, after.start if after else 10**6)]
            found = _JA_NEGATOR.search(tail)
            if found:
                mention.negated = True
                mention.list_negated = bool(_LIST_NEGATOR.search(found.group(0)))
                self.taken.append((mention.end, mention.end + found.end()))
            if before is not None and before.list_negated and not mention.negated:
                gap = self.text[before.end : mention.start].strip()
                if re.fullmatch(r"(?:,|and|or|&|、|や|と)?\s*(?:the|any)?", gap):
                    mention.negated = mention.list_negated = True
        for index in range(len(ordered) - 1, 0, -1):
            later, earlier = ordered[index], ordered[index - 1]
            gap = self.text[earlier.end : later.start].strip()
            if later.list_negated and not earlier.negated and gap in ("と", "や", "、", "か"):
                earlier.negated = earlier.list_negated = True

    def _takers(self, kinds: set[str]) -> list[Mention]:
        out = []
        for mention in self.mentions:
            if mention.concept not in kinds:
                continue
            if mention.concept == lx.GLOSSARY and not self._glossary_takes(mention, kinds):
                continue
            out.append(mention)
        return out

    def _glossary_takes(self, mention: Mention, kinds: set[str]) -> bool:
        term = self.glossary.get(mention.ref)
        if term is None:
            return False
        definition = term.definition
        if kinds is PERIOD_TAKERS:
            return bool(re.search(r"date|-\d+[dwmy]", definition))
        if kinds is COUNT_TAKERS:
            return "count" in definition or "number_of_orders" in definition
        return "amount" in definition

    def _score(self, mention: Mention, start: int, end: int) -> int:
        if end <= mention.start:
            distance = mention.start - end
            preferred = self.japanese
        else:
            distance = max(0, start - mention.end)
            preferred = not self.japanese
        return distance + (0 if preferred else 25)

    def _attach_periods(self, periods: list[Period]) -> None:
        for period in periods:
            takers = [m for m in self._takers(PERIOD_TAKERS) if m.period is None]
            if not takers:
                self.result.assumptions.append(
                    self._say(
                        f"I didn't know what '{period.words.strip()}' "
                        "applies to, so I left it out.",
                        f"「{period.words.strip()}」が何に掛かるか分からなかったため外しました。",
                    )
                )
                continue
            best = min(takers, key=lambda m: self._score(m, period.start, period.end))
            best.period = period

    def _attach_quantities(self, quantities: list[Quantity]) -> None:
        for quantity in quantities:
            unit = quantity.unit
            kinds = (
                MONEY_TAKERS
                if unit == "money"
                else COUNT_TAKERS
                if unit == "count"
                else MONEY_TAKERS | COUNT_TAKERS
            )
            takers = [m for m in self._takers(kinds) if m.quantity is None]
            if unit == "":
                takers = [
                    m
                    for m in takers
                    if m.concept != lx.GLOSSARY
                    or self._glossary_takes(
                        m, MONEY_TAKERS if _is_money(quantity) else COUNT_TAKERS
                    )
                ]
            if takers:
                best = min(takers, key=lambda m: self._score(m, quantity.start, quantity.end))
                best.quantity = quantity
                continue
            concept = (
                lx.SPENT if unit == "money" or (unit == "" and _is_money(quantity)) else lx.ORDER
            )
            self.mentions.append(Mention(concept, quantity.start, quantity.end, quantity=quantity))

    def _attach_products(self) -> None:
        orders = [m for m in self.mentions if m.concept == lx.ORDER]
        for product in [m for m in self.mentions if m.concept == PRODUCT]:
            owner = _nearest(product, orders, 60)
            if owner is None:
                continue
            owner.products.append(product)
            product.attached = True
            if owner.period is None and product.period is not None:
                owner.period, product.period = product.period, None
            if owner.quantity is None and product.quantity is not None:
                owner.quantity, product.quantity = product.quantity, None

    # -- building conditions ---------------------------------------------------------------

    def _combine(self) -> Node | None:
        built: list[tuple[Mention, Node]] = []
        for mention in sorted(self.mentions, key=lambda m: m.start):
            node = self._build(mention)
            if node is not None:
                built.append((mention, node))
        built = self._drop_overridden(built)
        if not built:
            return None
        groups: list[list[Node]] = [[built[0][1]]]
        for (left, _), (right, node) in zip(built, built[1:], strict=False):
            gap = self.text[left.end : right.start]
            if _OR_GAP.search(gap) and not _LIST_NEGATOR.search(gap):
                groups[-1].append(node)
            else:
                groups.append([node])
        parts = [group[0] if len(group) == 1 else Or(tuple(group)) for group in groups]
        return parts[0] if len(parts) == 1 else _and(*parts)

    def _drop_overridden(self, built: list[tuple[Mention, Node]]) -> list[tuple[Mention, Node]]:
        """A number the marketer wrote beats a glossary default on the same field."""
        explicit = {_field_of(node) for mention, node in built if not mention.from_glossary}
        kept = []
        for mention, node in built:
            if mention.from_glossary and _field_of(node) in explicit and _field_of(node):
                self.result.assumptions.append(
                    self._say(
                        f"Your own condition on {_field_of(node)} replaces the glossary's "
                        f"'{mention.ref}' default.",
                        f"{_field_of(node)} はご指定の条件を用い、"
                        f"用語集「{mention.ref}」の既定値は使いません。",
                    )
                )
                continue
            kept.append((mention, node))
        return kept

    def _build(self, mention: Mention) -> Node | None:
        node = self._positive(mention)
        if node is None:
            return None
        if mention.negated and mention.concept not in (
            lx.ORDER,
            lx.FOLLOWING,
            lx.BLOCKED,
            lx.LINKED,
            lx.UNLINKED,
        ):
            return Not(node)
        return node

    def _positive(self, m: Mention) -> Node | None:
        concept = m.concept
        if concept == TAG:
            return Condition(m.kind, Op.CONTAINS, self._tag_name(m))
        if concept == PRODUCT:
            if m.attached:
                return None
            return self._purchase([m], m.period, m.quantity)
        if concept == lx.ORDER:
            return self._order(m)
        if concept == lx.ABANDONED:
            return self._abandoned(m)
        if concept == lx.ACTIVE_CART:
            return Condition("has_active_cart", Op.EQ, True)
        if concept in (lx.FOLLOWING, lx.BLOCKED):
            following = (concept == lx.FOLLOWING) != m.negated
            return Condition("line_follow_status", Op.EQ, "following" if following else "blocked")
        if concept in (lx.LINKED, lx.UNLINKED):
            return Condition("shopify_linked", Op.EQ, (concept == lx.LINKED) != m.negated)
        if concept == lx.FRIEND_ADDED:
            return self._dated("line_friend_added_date", m, fallback_following=True)
        if concept == lx.CUSTOMER_ADDED:
            return self._dated("customer_added_date", m)
        if concept == lx.FIRST_ORDER:
            return self._dated("first_order_date", m)
        if concept == lx.SPENT:
            return self._spent(m)
        if concept == lx.AOV:
            if m.quantity is None:
                return None
            return Condition("average_order_value", m.quantity.op, m.quantity.value)
        if concept == lx.GLOSSARY:
            return self._glossary(m)
        if concept == lx.BOOLEAN_FIELD:
            return Condition(m.ref, Op.EQ, True)
        return None

    def _tag_name(self, m: Mention) -> str:
        tags = self.facts.shopify_tags if m.kind == "customer_tags" else self.facts.lumo_tags
        info = tags.get(m.ref)
        return info.name if info else m.ref

    def _order(self, m: Mention) -> Node | None:
        period, quantity = m.period, m.quantity
        if m.products:
            nodes: list[Node] = [
                Not(self._purchase([p], period, quantity))
                if p.negated and not m.negated
                else self._purchase([p], period, quantity)
                for p in m.products
            ]
            joined = nodes[0] if len(nodes) == 1 else self._join_products(m.products, nodes)
            return Not(joined) if m.negated else joined
        money = quantity is not None and _is_money(quantity)
        if quantity is not None and not money:
            if period is None:
                node: Node = Condition("number_of_orders", quantity.op, quantity.value)
            else:
                node = FunctionCondition(
                    "orders_placed",
                    (
                        Condition("count", quantity.op, quantity.value),
                        Condition("date", period.op, period.value),
                    ),
                )
            return Not(node) if m.negated else node
        if money and not self._per_order(m):
            assert quantity is not None
            if period is None:
                node = Condition("amount_spent", quantity.op, quantity.value)
            else:
                node = FunctionCondition(
                    "orders_placed",
                    (
                        Condition("date", period.op, period.value),
                        Condition("sum_amount", quantity.op, quantity.value),
                    ),
                )
            return Not(node) if m.negated else node
        if money:
            assert quantity is not None
            params = [Condition("amount", quantity.op, quantity.value)]
            if period is not None:
                params.insert(0, Condition("date", period.op, period.value))
            node = FunctionCondition("orders_placed", tuple(params))
            return Not(node) if m.negated else node
        if period is not None:
            if period.op is Op.GT and isinstance(period.value, DateOffset):
                if m.negated:
                    self.result.assumptions.append(
                        self._say(
                            "Read as customers who ordered before but not since then; people who "
                            "never ordered are not included.",
                            "以前に購入があり、その期間は購入していない顧客と解釈しました（未購入の人は含みません）。",
                        )
                    )
                    return Condition("last_order_date", Op.LT, period.value)
                return Condition("last_order_date", Op.GT, period.value)
            node = FunctionCondition(
                "orders_placed", (Condition("date", period.op, period.value),)
            )
            return Not(node) if m.negated else node
        if m.negated:
            return Condition("number_of_orders", Op.EQ, 0)
        return Condition("number_of_orders", Op.GE, 1)

    def _per_order(self, m: Mention) -> bool:
        """ "an order over ¥10000" is about one order; "bought over ¥10000" is a total."""
        words = self.text[max(0, m.start - 12) : m.end + 8]
        return bool(
            re.search(
                r"\b(?:an|one|a single|single|any) orders?\b|\borders? (?:of|over|"
                r"above|worth)|1回の|一回の|1回で|一度の|1注文",
                words,
            )
        )

    def _join_products(self, products: list[Mention], nodes: list[Node]) -> Node:
        ordered = sorted(zip(products, nodes, strict=True), key=lambda pair: pair[0].start)
        first = ordered[0][0]
        last = ordered[-1][0]
        gap = self.text[first.end : last.start]
        if _OR_GAP.search(gap):
            return Or(tuple(node for _, node in ordered))
        return _and(*(node for _, node in ordered)) or nodes[0]

    def _purchase(
        self, products: list[Mention], period: Period | None, quantity: Quantity | None
    ) -> Node:
        product = products[0]
        params = [Condition(product.kind, Op.EQ, product.ref)]
        if period is not None:
            params.append(Condition("date", period.op, period.value))
        if quantity is not None and not _is_money(quantity):
            params.append(Condition("count", quantity.op, quantity.value))
        return FunctionCondition("products_purchased", tuple(params))

    def _abandoned(self, m: Mention) -> Node:
        period, quantity = m.period, m.quantity
        if quantity is not None and _is_money(quantity):
            params = [Condition("amount", quantity.op, quantity.value)]
            if period is not None:
                params.insert(0, Condition("date", period.op, period.value))
            return FunctionCondition("abandoned_checkouts", tuple(params))
        if period is None:
            return Condition("abandoned_checkout_date", Op.IS_SET)
        if period.op in (Op.GT, Op.GE):
            return Condition("abandoned_checkout_date", period.op, period.value)
        return FunctionCondition(
            "abandoned_checkouts", (Condition("date", period.op, period.value),)
        )

    def _dated(self, name: str, m: Mention, *, fallback_following: bool = False) -> Node | None:
        if m.period is None:
            if fallback_following and re.search(r"follow", self.text[m.start : m.end]):
                return Condition("line_follow_status", Op.EQ, "following")
            return None
        return Condition(name, m.period.op, m.period.value)

    def _spent(self, m: Mention) -> Node | None:
        quantity = m.quantity
        if quantity is None:
            return None
        if m.period is not None:
            return FunctionCondition(
                "orders_placed",
                (
                    Condition("date", m.period.op, m.period.value),
                    Condition("sum_amount", quantity.op, quantity.value),
                ),
            )
        return Condition("amount_spent", quantity.op, quantity.value)

    def _glossary(self, m: Mention) -> Node | None:
        term = self.glossary.get(m.ref)
        if term is None:
            return None
        try:
            segment, notes = resolve_definition(term, self.facts)
        except SegmentError as error:
            self.result.assumptions.append(
                self._say(
                    f"The glossary entry '{term.term}' could not be used ({error}); fix it in the "
                    "glossary.",
                    f"用語集「{term.term}」の定義が使えませんでした（{error}）。用語集を直してください。",
                )
            )
            return None
        if segment.where is None:
            return None
        node = segment.where
        if m.period is not None:
            node = _override(node, "date", m.period.op, m.period.value)
        if m.quantity is not None:
            kind = "amount" if _is_money(m.quantity) else "count"
            node = _override(node, kind, m.quantity.op, m.quantity.value)
        m.from_glossary = m.period is None and m.quantity is None
        self.result.glossary_applied.append(
            {"term": term.term, "definition": format_node(node), "explanation": term.explanation}
        )
        self.result.assumptions.extend(notes)
        return node

    # -- unknown words and refinement ------------------------------------------------------------

    def _unknown_words(self) -> list[str]:
        unknown: list[str] = []
        if self.japanese:
            for match in re.finditer(
                r"[\u30a0-\u30ff\u4e00-\u9fffa-z][\u30a0-\u30ff\u4e00-\u9fffa-z0-9ー]+", self.text
            ):
                if not self._free(match.start(), match.end()):
                    continue
                word = match.group(0)
                if word in _JA_STOPWORDS or all(w in _JA_STOPWORDS for w in _ja_parts(word)):
                    continue
                unknown.append(word)
            return unknown
        for match in re.finditer(r"[a-z][a-z'&-]*", self.text):
            word = match.group(0).strip("'")
            if self._free(match.start(), match.end()) and word not in _STOPWORDS and len(word) > 1:
                if word.endswith("'s") and word[:-2] in _STOPWORDS:
                    continue
                unknown.append(word)
        return unknown

    def _subject_only(self) -> bool:
        return bool(
            re.search(
                r"\b(?:friends|customers|people|followers|everyone)\b|友だち|友達|顧客|"
                r"お客様|全員",
                self.text,
            )
        )

    def _is_refinement(self) -> bool:
        if self.japanese:
            return bool(_REFINE_JA.search(self.text))
        return bool(_REFINE_EN.search(self.text))

    def _unknown_question(self, words: list[str]) -> Plan:
        if not words:
            return self._clarify(
                self._say(
                    "I couldn't find an audience in that. Try something like 'VIP customers who "
                    "haven't ordered in 90 days' or 'friends who abandoned their cart'.",
                    "対象がよく分かりませんでした。例：「過去90日購入していないVIP顧客」「カゴ落ちした友だち」",
                )
            )
        vocabulary = (
            list(self.facts.product_titles)
            + list(self.facts.vendors)
            + [t.name for t in self.facts.shopify_tags.values()]
            + [t.name for t in self.facts.lumo_tags.values()]
            + [term.term for term in self.facts.glossary]
        )
        close = difflib.get_close_matches(words[0], vocabulary, n=3, cutoff=0.6)
        hint = ""
        if close:
            hint = self._say(
                " Did you mean " + " or ".join(f"'{c}'" for c in close) + "?",
                "「" + "」「".join(close) + "」のことですか？",
            )
        return self._clarify(
            self._say(
                f"I don't know {_words(words)}: it is not "
                "a product, vendor, tag or glossary word in "
                "this workspace." + hint,
                f"「{'」「'.join(words)}」は商品名・ブランド・タグ・用語集のどれにも見つかりません。"
                + hint,
            )
        )

    def _clarify(self, question: str, options: list[dict[str, str]] | None = None) -> Plan:
        self.result.intent = "clarify"
        self.result.segment = None
        self.result.clarification = Clarification(question, options or [], request=self.raw)
        return self.result

    def _say(self, english: str, japanese: str) -> str:
        return japanese if self.japanese else english


# -- helpers ----------------------------------------------------------------------------------

_LEXICON_CACHE: dict[tuple[int, int], list[lx.Phrase]] = {}


def _lexicon(facts: WorkspaceFacts) -> list[lx.Phrase]:
    key = (id(facts.registry), hash(tuple(facts.glossary)))
    phrases = _LEXICON_CACHE.get(key)
    if phrases is None:
        if len(_LEXICON_CACHE) > 32:
            _LEXICON_CACHE.clear()
        phrases = _LEXICON_CACHE[key] = lx.build_lexicon(facts.registry, facts.glossary)
    return phrases


def _find_word(needle: str, text: str, plural: bool = False) -> list[tuple[int, int]]:
    if not needle:
        return []
    ascii_edges = needle[:1].isascii() and needle[:1].isalnum()
    tail = r"(?:s|es)?" if plural else ""
    if ascii_edges and needle[-1:].isascii() and needle[-1:].isalnum():
        pattern = r"(?<![a-z0-9])" + re.escape(needle) + tail + r"(?![a-z0-9])"
    else:
        pattern = re.escape(needle)
    return [(m.start(), m.end()) for m in re.finditer(pattern, text)]


def _closest(phrase: str, names: list[tuple[str, str, str]]) -> tuple[str, str, str] | None:
    best: tuple[float, tuple[str, str, str]] | None = None
    for item in names:
        if item[0][:2] != phrase[:2]:
            continue
        ratio = difflib.SequenceMatcher(None, phrase, item[0]).ratio()
        if ratio >= 0.82 and (best is None or ratio > best[0]):
            best = (ratio, item)
    return best[1] if best else None


def _nearest(mention: Mention, others: list[Mention], limit: int) -> Mention | None:
    best: tuple[int, Mention] | None = None
    for other in others:
        if other is mention:
            continue
        distance = (
            mention.start - other.end if other.end <= mention.start else other.start - mention.end
        )
        if 0 <= distance <= limit and (best is None or distance < best[0]):
            best = (distance, other)
    return best[1] if best else None


def _is_money(quantity: Quantity) -> bool:
    if quantity.unit:
        return quantity.unit == "money"
    value = quantity.value[0] if isinstance(quantity.value, tuple) else quantity.value
    return bool(value >= 100)


def _and(*nodes: Node | None) -> Node | None:
    flat: list[Node] = []
    for node in nodes:
        if node is None:
            continue
        flat.extend(node.children if isinstance(node, And) else (node,))
    if not flat:
        return None
    return flat[0] if len(flat) == 1 else And(tuple(flat))


def _field_of(node: Node) -> str:
    if isinstance(node, Condition):
        return node.field
    if isinstance(node, FunctionCondition):
        return node.function
    return ""


def _override(node: Node, kind: str, op: Op, value: Any) -> Node:
    """Replace the date, count or amount inside a glossary definition with the request's."""
    if isinstance(node, And | Or):
        children = tuple(_override(child, kind, op, value) for child in node.children)
        return And(children) if isinstance(node, And) else Or(children)
    if isinstance(node, Not):
        return Not(_override(node.child, kind, op, value))
    if isinstance(node, FunctionCondition):
        names = {"date": ("date",), "count": ("count",), "amount": ("sum_amount", "amount")}[kind]
        params = tuple(
            Condition(p.field, op, value) if p.field in names else p for p in node.params
        )
        if params == node.params and kind == "date":
            params = (*node.params, Condition("date", op, value))
        return FunctionCondition(node.function, params, node.matches)
    fields = {
        "date": (
            "last_order_date",
            "line_friend_added_date",
            "first_order_date",
            "customer_added_date",
        ),
        "count": ("number_of_orders",),
        "amount": ("amount_spent",),
    }[kind]
    if node.field in fields:
        return Condition(node.field, op, value)
    return node


def _words(words: list[str]) -> str:
    return " ".join(f"'{word}'" for word in words)


def _ja_parts(word: str) -> list[str]:
    return [
        part
        for part in re.split(r"(友だち|友達|顧客|お客様|会員|全員|ユーザー|人|方)", word)
        if part
    ]


__all__ = ["OfflinePlanner", "GlossaryTerm", "FieldType"]


def _many(count: int, noun: str) -> str:
    """ "1 friend", "2 friends": English counts with the noun in the right number."""
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"
