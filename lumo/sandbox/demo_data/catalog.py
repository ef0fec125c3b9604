"""Shopify product-CSV rows into products: a product spans several rows, one per variant."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from lumo.sandbox.demo_data.money import parse_milli
from lumo.sandbox.demo_data.sources import CatalogInput

logger = logging.getLogger(__name__)

VARIANT_COLUMNS = (
    "Option1 Value",
    "Option2 Value",
    "Option3 Value",
    "Variant SKU",
    "Variant Price",
)


@dataclass
class CatalogVariant:
    position: int
    options: tuple[str | None, str | None, str | None]
    sku: str
    price_milli: int
    inventory_quantity: int

    @property
    def title(self) -> str:
        return " / ".join(value for value in self.options if value)


@dataclass
class CatalogProduct:
    catalog: str
    handle: str
    title: str
    body_html: str
    vendor: str
    product_type: str
    tags: list[str]
    published: bool
    status: str
    option_names: list[str]
    variants: list[CatalogVariant] = field(default_factory=list)


@dataclass
class Catalog:
    products: list[CatalogProduct]
    rows_read: int
    image_rows: int


def split_tags(text: str) -> list[str]:
    """Shopify writes tags as one comma-separated string."""
    return [tag.strip() for tag in text.split(",") if tag.strip()]


def default_sku(handle: str, options: tuple[str | None, ...]) -> str:
    """The samples leave Variant SKU blank; a demo line item reads better with one."""
    words = [handle, *(value for value in options if value and value != "Default Title")]
    return re.sub(r"[^A-Z0-9]+", "-", "-".join(words).upper()).strip("-")


def parse_catalog(data: CatalogInput) -> Catalog:
    """Groups rows by Handle; a continuation row adds a variant, or only an image."""
    products: list[CatalogProduct] = []
    by_handle: dict[str, CatalogProduct] = {}
    rows_read = image_rows = 0
    for catalog_name, rows in data.files:
        for row in rows:
            rows_read += 1
            handle = (row.get("Handle") or "").strip()
            if not handle:
                image_rows += 1
                continue
            product = by_handle.get(handle)
            if product is None:
                product = _start_product(catalog_name, handle, row)
                by_handle[handle] = product
                products.append(product)
            if not any((row.get(column) or "").strip() for column in VARIANT_COLUMNS):
                image_rows += 1
                continue
            product.variants.append(_variant(product, row))
    logger.info(
        "catalog: %d products, %d variants from %d rows",
        len(products),
        sum(len(product.variants) for product in products),
        rows_read,
    )
    return Catalog(products=products, rows_read=rows_read, image_rows=image_rows)


def _start_product(catalog_name: str, handle: str, row: dict[str, str]) -> CatalogProduct:
    published = (row.get("Published") or "").strip().lower() == "true"
    status = (row.get("Status") or "").strip().lower()
    if status not in ("active", "draft", "archived"):
        status = "active" if published else "draft"
    names = [(row.get(f"Option{n} Name") or "").strip() for n in (1, 2, 3)]
    return CatalogProduct(
        catalog=catalog_name,
        handle=handle,
        title=(row.get("Title") or "").strip() or handle,
        body_html=(row.get("Body (HTML)") or "").strip(),
        vendor=(row.get("Vendor") or "").strip(),
        product_type=(row.get("Type") or "").strip(),
        tags=split_tags(row.get("Tags") or ""),
        published=published,
        status=status,
        option_names=[name for name in names if name],
    )


def _variant(product: CatalogProduct, row: dict[str, str]) -> CatalogVariant:
    values = [(row.get(f"Option{n} Value") or "").strip() or None for n in (1, 2, 3)]
    options = (values[0], values[1], values[2])
    price = (row.get("Variant Price") or "").strip()
    quantity = (row.get("Variant Inventory Qty") or "").strip()
    sku = (row.get("Variant SKU") or "").strip() or default_sku(product.handle, options)
    return CatalogVariant(
        position=len(product.variants) + 1,
        options=options,
        sku=sku,
        price_milli=parse_milli(price) if price else 0,
        inventory_quantity=int(float(quantity)) if quantity else 0,
    )
