"""Which catalog variant stands for each of the retailer's stock codes, decided by its name."""

from __future__ import annotations

import re
from dataclasses import dataclass

from lumo.sandbox.demo_data import ids
from lumo.sandbox.demo_data.catalog import CatalogProduct, CatalogVariant
from lumo.sandbox.demo_data.ids import stable_hash

# A retailer item is sold as a catalog product that shares a product word with its description
# (a "T-LIGHT HOLDER" as a light or candle, a "JUMBO BAG" as the bag). Failing that, one whose
# description names jewellery or something worn goes to that sample catalog, everything else
# (most of the gift and homeware range) to home-and-garden. A stable hash of the stock code picks
# among the candidates, then the variant, so a stock code always maps to the same variant.

# Retail words (singular, lower case) -> the catalog word they stand for. Only nouns that say
# what a thing is; colours and adjectives would match unrelated products.
PRODUCT_WORDS = {
    "candle": "candle", "tealight": "candle", "light": "light", "lamp": "light",
    "lantern": "light", "pot": "pot", "planter": "pot", "vase": "pot", "plant": "plant",
    "pillow": "pillow", "cushion": "pillow", "sofa": "sofa", "couch": "sofa",
    "armchair": "armchair", "chair": "chair", "table": "table", "drawer": "drawer",
    "bed": "bed", "bedroom": "bedroom", "fence": "fence", "trowel": "trowel", "garden": "garden",
    "wooden": "wood", "wood": "wood", "copper": "copper", "beanbag": "beanbag", "jacket": "jacket",
    "shirt": "shirt", "blouse": "blouse", "jumper": "jumper", "skirt": "skirt", "bag": "bag",
    "bracelet": "bracelet", "necklace": "necklace", "earring": "earring", "bangle": "bangle",
    "choker": "choker", "pendant": "pendant", "bead": "bead", "gemstone": "gem", "gem": "gem",
}  # fmt: skip
JEWELRY = re.compile(
    r"\b(NECKLACE|BRACELET|EARRINGS?|BANGLE|PENDANT|CHOKER|BROOCH|CHARM|BEADS?|RINGS?|"
    r"DIAMANTE|JEWELL?E?RY|HAIR\s?(CLIP|SLIDE|BAND|GRIP)S?)\b"
)
APPAREL = re.compile(
    r"\b(BAGS?|SHIRT|T-SHIRT|TEE|JACKET|SCARF|HATS?|APRON|SLIPPERS?|GLOVES?|SOCKS|PURSE|"
    r"WALLET|TOTE|BACKPACK|RUCKSACK|SHOPPER|UMBRELLA|PONCHO|MITTENS|WELLIES)\b"
)
CATALOG_FOR_RETAIL = {"jewelry": "jewelery", "apparel": "apparel", "home": "home-and-garden"}


@dataclass(frozen=True, slots=True)
class SoldVariant:
    """What an order line needs to know about the catalog variant a stock code stands for."""

    product_id: int
    variant_id: int
    title: str
    variant_title: str | None
    sku: str


def sold_variant(product: CatalogProduct, variant: CatalogVariant) -> SoldVariant:
    title = variant.title
    return SoldVariant(
        product_id=ids.product_id(product.handle),
        variant_id=ids.variant_id(product.handle, variant.position),
        title=product.title,
        variant_title=None if title in ("", "Default Title") else title,
        sku=variant.sku,
    )


def words(text: str) -> set[str]:
    """Lower-case words with a plural s dropped: "EARRINGS" and "earring" meet."""
    found = set()
    for word in re.findall(r"[a-z]+", text.lower()):
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        found.add(word)
    return found


def retail_kind(description: str) -> str:
    text = description.upper()
    if JEWELRY.search(text):
        return "jewelry"
    if APPAREL.search(text):
        return "apparel"
    return "home"


class VariantMap:
    """Remembers each stock code's variant, chosen among active products with variants."""

    def __init__(self, products: list[CatalogProduct], descriptions: dict[str, str]) -> None:
        # Draft and archived products cannot be bought in a Shopify store.
        sellable = [p for p in products if p.variants and p.status == "active"]
        if not sellable:
            raise ValueError("The demo catalog has no active product with a variant to sell.")
        self.descriptions = descriptions
        self.by_catalog: dict[str, list[CatalogProduct]] = {}
        for product in sellable:
            self.by_catalog.setdefault(product.catalog, []).append(product)
        self.everything = sellable
        self.by_word: dict[str, list[CatalogProduct]] = {}
        for product in sellable:
            named = words(" ".join([product.title, product.product_type, *product.tags]))
            for word in sorted({PRODUCT_WORDS[word] for word in named if word in PRODUCT_WORDS}):
                self.by_word.setdefault(word, []).append(product)
        self.chosen: dict[str, SoldVariant] = {}

    def choose(self, code: str) -> SoldVariant:
        choice = self.chosen.get(code)
        if choice is None:
            pool = self.candidates(self.descriptions.get(code, ""))
            product = pool[stable_hash("stock-product", code) % len(pool)]
            variants = product.variants
            variant = variants[stable_hash("stock-variant", code) % len(variants)]
            choice = sold_variant(product, variant)
            self.chosen[code] = choice
        return choice

    def candidates(self, description: str) -> list[CatalogProduct]:
        named = {PRODUCT_WORDS[word] for word in words(description) if word in PRODUCT_WORDS}
        pool: list[CatalogProduct] = []
        for word in sorted(named):
            pool.extend(p for p in self.by_word.get(word, []) if p not in pool)
        if pool:
            return pool
        kind = retail_kind(description)
        return self.by_catalog.get(CATALOG_FOR_RETAIL[kind]) or self.everything
