"""Segment list fields over what the linked customer bought: product types and vendors."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select

from lumo import hookimpl
from lumo.segments.builders import CUSTOMER, label_list
from lumo.segments.compiler import CompileContext
from lumo.segments.fields import FieldType, SegmentField
from plugins.line_items.segment_fields import ORDERS, PRODUCTS, purchase_criteria, purchases


def _bought(column: Any) -> Any:
    def ids_with(context: CompileContext, key: str | None) -> Select[Any]:
        query = (
            select(ORDERS.c.customer_shopify_id)
            .select_from(purchases())
            .where(*purchase_criteria(context), ORDERS.c.customer_shopify_id.is_not(None))
        )
        if key is None:
            return query.where(column.is_not(None), column != "")
        return query.where(func.lower(column) == key)

    return ids_with


FIELDS = [
    SegmentField(
        name="product_types_purchased",
        type=FieldType.LIST,
        description="Product types of everything the linked customer has bought (any case).",
        build=label_list(_bought(PRODUCTS.c.product_type), CUSTOMER),
        synonyms=("product type", "category bought", "商品タイプ", "商品カテゴリ"),
        example="product_types_purchased CONTAINS 'Tシャツ'",
    ),
    SegmentField(
        name="product_vendors_purchased",
        type=FieldType.LIST,
        description="Vendors (brands) of everything the linked customer has bought (any case).",
        build=label_list(_bought(PRODUCTS.c.vendor), CUSTOMER),
        synonyms=("vendor", "brand", "ブランド", "メーカー", "ベンダー"),
        example="product_vendors_purchased CONTAINS 'Lumo Wear'",
    ),
]


@hookimpl
def lumo_segment_fields() -> list[SegmentField]:
    return list(FIELDS)
