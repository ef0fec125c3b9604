"""Customers: the retailer's ids and countries, with made-up names and behaviour-based tags."""

from __future__ import annotations

from dataclasses import dataclass

from lumo.sandbox.demo_data.ids import stable_hash
from lumo.sandbox.demo_data.transactions import RetailCustomer

# The source names no one. Names are picked by a stable hash of the customer number: about 60%
# Japanese (written in kanji, as a Japanese shop's customer list is), the rest English.
JAPANESE_SURNAMES = (
    ("佐藤", "sato"), ("鈴木", "suzuki"), ("高橋", "takahashi"), ("田中", "tanaka"),
    ("伊藤", "ito"), ("渡辺", "watanabe"), ("山本", "yamamoto"), ("中村", "nakamura"),
    ("小林", "kobayashi"), ("加藤", "kato"), ("吉田", "yoshida"), ("山田", "yamada"),
    ("佐々木", "sasaki"), ("山口", "yamaguchi"), ("松本", "matsumoto"), ("井上", "inoue"),
    ("木村", "kimura"), ("林", "hayashi"), ("清水", "shimizu"), ("山崎", "yamazaki"),
    ("森", "mori"), ("池田", "ikeda"), ("橋本", "hashimoto"), ("阿部", "abe"),
    ("石川", "ishikawa"), ("前田", "maeda"), ("藤田", "fujita"), ("小川", "ogawa"),
    ("岡田", "okada"), ("後藤", "goto"),
)  # fmt: skip
JAPANESE_GIVEN_NAMES = (
    ("陽翔", "haruto"), ("蓮", "ren"), ("湊", "minato"), ("大和", "yamato"), ("悠真", "yuma"),
    ("颯太", "sota"), ("健太", "kenta"), ("翔太", "shota"), ("拓海", "takumi"),
    ("大輔", "daisuke"), ("誠", "makoto"), ("直樹", "naoki"), ("陽菜", "hina"), ("結衣", "yui"),
    ("葵", "aoi"), ("美咲", "misaki"), ("さくら", "sakura"), ("凛", "rin"), ("芽依", "mei"),
    ("彩花", "ayaka"), ("優子", "yuko"), ("恵", "megumi"), ("由美", "yumi"),
    ("真由美", "mayumi"), ("花子", "hanako"), ("明美", "akemi"), ("愛", "ai"),
    ("千尋", "chihiro"), ("舞", "mai"), ("七海", "nanami"),
)  # fmt: skip
ENGLISH_GIVEN_NAMES = (
    "Oliver", "George", "Harry", "Jack", "Jacob", "Noah", "Charlie", "Thomas", "William",
    "James", "Emily", "Olivia", "Amelia", "Isla", "Ava", "Jessica", "Sophie", "Lily", "Grace",
    "Chloe", "Daniel", "Samuel", "Joshua", "Ella", "Hannah", "Lucy", "Mia", "Alfie", "Oscar",
    "Ruby",
)  # fmt: skip
ENGLISH_SURNAMES = (
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Robinson",
    "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood",
    "Jackson", "Clarke", "Patel", "Khan", "Lewis", "Hughes", "Turner", "Hill", "Moore",
    "Cooper", "Ward", "Morris",
)  # fmt: skip
EMAIL_DOMAINS = ("example.com", "example.net", "example.org")  # reserved for examples

# The source's country names; None where the name is no single ISO country.
COUNTRY_CODES: dict[str, str | None] = {
    "United Kingdom": "GB", "Germany": "DE", "France": "FR", "EIRE": "IE", "Spain": "ES",
    "Netherlands": "NL", "Belgium": "BE", "Switzerland": "CH", "Australia": "AU",
    "Portugal": "PT", "Channel Islands": None, "Norway": "NO", "Finland": "FI", "Italy": "IT",
    "Cyprus": "CY", "Unspecified": None, "Japan": "JP", "Sweden": "SE", "Austria": "AT",
    "Hong Kong": "HK", "Poland": "PL", "Israel": "IL", "Denmark": "DK", "Singapore": "SG",
    "Canada": "CA", "Iceland": "IS", "Greece": "GR", "Malta": "MT",
    "European Community": None, "Lebanon": "LB", "Lithuania": "LT", "Brazil": "BR",
    "United Arab Emirates": "AE", "USA": "US", "Bahrain": "BH", "Czech Republic": "CZ",
    "Saudi Arabia": "SA", "RSA": "ZA",
}  # fmt: skip

# Tags as merchants really type them: the same tag in several casings.
VIP_SPELLINGS = ("VIP", "VIP", "vip", "Vip")
WHOLESALE_SPELLINGS = ("wholesale", "Wholesale", "WHOLESALE")
UK_SPELLINGS = ("UK", "UK", "uk")
INTERNATIONAL_SPELLINGS = ("international", "International")
RETURNS_SPELLINGS = ("returns", "Returned items")

WHOLESALE_LINE_UNITS = 500
WHOLESALE_TOTAL_UNITS = 5000
VIP_SHARE = 0.10
STATES = (("enabled", 65), ("disabled", 30), ("invited", 4), ("declined", 1))


@dataclass(frozen=True)
class Identity:
    first_name: str | None
    last_name: str | None
    email: str
    phone: str | None
    state: str


def identity(number: int) -> Identity:
    """A stable made-up name, email, phone and account state for a retail customer number."""
    h = stable_hash("customer", number)
    if h % 100 < 60:
        last_name, last_romaji = JAPANESE_SURNAMES[(h >> 8) % len(JAPANESE_SURNAMES)]
        first_name, first_romaji = JAPANESE_GIVEN_NAMES[(h >> 16) % len(JAPANESE_GIVEN_NAMES)]
    else:
        last_name = ENGLISH_SURNAMES[(h >> 8) % len(ENGLISH_SURNAMES)]
        first_name = ENGLISH_GIVEN_NAMES[(h >> 16) % len(ENGLISH_GIVEN_NAMES)]
        last_romaji, first_romaji = last_name.lower(), first_name.lower()

    domain = EMAIL_DOMAINS[(h >> 24) % len(EMAIL_DOMAINS)]
    style = (h >> 28) % 3
    if style == 0:
        local = f"{first_romaji}.{last_romaji}{number}"
    elif style == 1:
        local = f"{first_romaji[0]}{last_romaji}.{number}"
    else:
        local = f"{last_romaji}_{first_romaji}{number}"
    email = f"{local}@{domain}"

    # Numbers are unique per customer (Shopify requires it): 7919 is prime to 10**8.
    phone = f"+8190{(number * 7919) % 10**8:08d}" if (h >> 32) % 100 < 55 else None
    roll = (h >> 40) % 100
    state = "enabled"
    for name, share in STATES:
        if roll < share:
            state = name
            break
        roll -= share
    if (h >> 48) % 50 == 0:
        # Customers created at checkout without a name exist in every real store.
        return Identity(None, None, email, phone, state)
    return Identity(first_name, last_name, email, phone, state)


def vip_numbers(customers: list[RetailCustomer]) -> set[int]:
    """The top 10% of buying customers by amount spent net of refunds, over the whole history."""
    spenders = sorted(
        (customer for customer in customers if customer.net_spend_milli > 0),
        key=lambda customer: (-customer.net_spend_milli, customer.number),
    )
    count = max(1, round(len(spenders) * VIP_SHARE)) if spenders else 0
    return {customer.number for customer in spenders[:count]}


def is_wholesale(customer: RetailCustomer) -> bool:
    units = [line.quantity for invoice in customer.invoices for line in invoice.lines]
    return bool(units) and (
        max(units) >= WHOLESALE_LINE_UNITS or sum(units) >= WHOLESALE_TOTAL_UNITS
    )


def customer_tags(customer: RetailCustomer, vips: set[int]) -> list[str]:
    """Shopify customer tags a merchant would have set from what the customer did."""
    h = stable_hash("tags", customer.number)
    tags: list[str] = []
    if customer.number in vips:
        tags.append(VIP_SPELLINGS[h % len(VIP_SPELLINGS)])
    if is_wholesale(customer):
        tags.append(WHOLESALE_SPELLINGS[(h >> 8) % len(WHOLESALE_SPELLINGS)])
    code = COUNTRY_CODES.get(customer.country)
    if code == "GB":
        tags.append(UK_SPELLINGS[(h >> 16) % len(UK_SPELLINGS)])
    elif code is not None:
        tags.append(INTERNATIONAL_SPELLINGS[(h >> 16) % len(INTERNATIONAL_SPELLINGS)])
    if customer.refunded_any:
        tags.append(RETURNS_SPELLINGS[(h >> 24) % len(RETURNS_SPELLINGS)])
    return tags
