"""Requests for data Lumo does not have get a plain answer instead of a guessed Segment."""

from __future__ import annotations

import re

_TOPICS: list[tuple[re.Pattern[str], str, str]] = [
    (
        re.compile(
            r"\b(?:age[ds]?|aged|years? old|year-olds?|in their \d+s|teen(?:ager)?s?|"
            r"millennials|gen ?z|seniors?|elderly|\d+s women|\d+s men)\b|年齢|\d+歳|\d+代|"
            r"\d+才|若者|高齢"
        ),
        "age",
        "年齢",
    ),
    (
        re.compile(
            r"\b(?:gender|male|female|men|women|man|woman|girls?|boys?|ladies|moms?|mothers?"
            r"|dads?|fathers?)\b|性別|男性|女性|ママ|主婦"
        ),
        "gender",
        "性別",
    ),
    (
        re.compile(
            r"\b(?:open(?:ed|s)?|click(?:ed|s)?|read)\b.{0,25}\b(?:e-?mails?|newsletters?|"
            r"mail(?:ing)?s?|campaigns?)\b|\be-?mail (?:opens?|clicks?|opened|clicked|"
            r"engagement)\b|メール(?:を)?(?:開封|クリック|開い)|開封率|開封した"
        ),
        "email opens and clicks",
        "メールの開封・クリック",
    ),
    (
        re.compile(
            r"\b(?:instagram|insta|facebook|twitter|tiktok|youtube|pinterest|threads)\b|"
            r"インスタ|フェイスブック|ツイッター|ティックトック|ユーチューブ"
        ),
        "other channels (Instagram, Facebook, TikTok …)",
        "他のチャネル（Instagram・Facebook・TikTokなど）",
    ),
    (re.compile(r"\b(?:birthdays?|born in)\b|誕生日|誕生月"), "birthdays", "誕生日"),
    (
        re.compile(
            r"\b(?:lives? in|living in|located in|prefecture|city of|near (?:our|the) "
            r"store|zip code|postal code|address)\b|住所|都道府県|在住|住んで|郵便番号"
        ),
        "where people live",
        "住所・地域",
    ),
    (
        re.compile(
            r"\b(?:visited|viewed|browsed|page ?views?|looked at)\b|閲覧|サイト訪問|見た人"
        ),
        "browsing (page and product views)",
        "閲覧履歴（ページ・商品の閲覧）",
    ),
    (
        re.compile(
            r"\b(?:read (?:our|the|my) (?:line )?messages?|opened (?:our|the) line)\b|既読"
        ),
        "who read LINE messages",
        "LINEメッセージの既読",
    ),
]

_HAVE_EN = (
    "Lumo knows Shopify customers (tags, orders, amount spent, dates), orders and what was in "
    "them, products, abandoned checkouts and carts, plus LINE follow status, friend-added date, "
    "ID linking and Lumo tags."
)
_HAVE_JA = (
    "Lumoが持っているのは、Shopifyの顧客（タグ・購入回数・購入金額・日付）、注文と購入商品、商品、"
    "カゴ落ち・カート、そしてLINEのフォロー状態・友だち追加日・ID連携・Lumoタグです。"
)


_CONTACT = re.compile(
    r"\be-?mail address(?:es)?|\be-?mail of\b|\b(?:tele)?phone numbers?|\bmobile numbers?|"
    r"\bcell(?:phone)? numbers?|\bcontact (?:details?|info(?:rmation)?|data)\b|"
    r"\b(?:show|list|export|give|get|download|see)\b[^.?!]{0,40}\b(?:e-?mails|phones)\b|"
    r"メールアドレス|メアド|電話番号|携帯番号|連絡先"
)


def find_contact_request(text: str, japanese: bool) -> str | None:
    """The answer when the (normalised) request asks for emails, phones or other contact data.

    The agent never sees or shows personal contact data, whatever the Synced Data settings.
    """
    if not _CONTACT.search(text):
        return None
    if japanese:
        return (
            "メールアドレスや電話番号などの個人の連絡先は、マーケティングエージェントには渡されず、"
            "ここで表示することもありません（同期は初期設定でオフで、Synced Dataで有効にした場合も"
            "同じです）。" + _HAVE_JA + "その範囲の条件ならセグメントを作れます。"
        )
    return (
        "Personal contact data such as email addresses and phone numbers is not available to "
        "the agent and is never shown here: syncing it is off unless the merchant turns it on "
        "in Synced Data, and even then it stays out of the chat. "
        + _HAVE_EN
        + " Ask for an audience with those and I'll build the Segment."
    )


def find_unsupported(text: str, japanese: bool) -> str | None:
    """A plain answer when the (normalised) request needs data Lumo does not have."""
    contact = find_contact_request(text, japanese)
    if contact is not None:
        return contact
    for pattern, english, japanese_name in _TOPICS:
        if pattern.search(text):
            if japanese:
                return (
                    f"{japanese_name}のデータはLumoにないため、この条件では絞り込めません。"
                    + _HAVE_JA
                    + "その範囲で言い換えていただければセグメントを作ります。"
                )
            return (
                f"Lumo has no data on {english}, so I can't select people by it. {_HAVE_EN} "
                "Ask again with those and I'll build the Segment."
            )
    return None
