"""The six synced Shopify categories, stored per workspace.

Shopify ids are kept as their numeric part (`gid://shopify/Customer/42` → 42) so GraphQL nodes
and REST-shaped webhook payloads land on the same row. `shopify_updated_at` guards against an
older webhook overwriting a newer row. `extra` holds properties the merchant added.

`workspace_id` has no foreign key here: an initial sync writes millions of rows, and checking
each against `workspaces` cost more than half again the write itself. Rows are only ever
written for a connected workspace, and `shop/redact` deletes them explicitly.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lumo.extensions import Model
from lumo.models.base import BigId, Money, UTCDateTime


class Customer(Model):
    __tablename__ = "shopify_customers"
    __table_args__ = (
        Index("ux_customers_ws_shopify", "workspace_id", "shopify_id", unique=True),
        Index("ix_customers_ws_last_order", "workspace_id", "last_order_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(Integer)
    shopify_id: Mapped[int] = mapped_column(BigInteger)
    first_name: Mapped[str | None] = mapped_column(String(255))
    last_name: Mapped[str | None] = mapped_column(String(255))
    display_name: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(64))
    number_of_orders: Mapped[int | None] = mapped_column(Integer)
    amount_spent: Mapped[Decimal | None] = mapped_column(Money)
    currency: Mapped[str | None] = mapped_column(String(3))
    first_order_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_order_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    state: Mapped[str | None] = mapped_column(String(20))
    shopify_created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    shopify_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: The manual re-sync that last saw this row; rows a re-sync did not see are deleted.
    last_sync_run_id: Mapped[int | None] = mapped_column(Integer)


class CustomerTag(Model):
    """A Shopify customer tag (set in Shopify, read-only here); `tag_key` is lowercased."""

    __tablename__ = "shopify_customer_tags"
    __table_args__ = (
        Index("ux_customer_tags", "workspace_id", "customer_shopify_id", "tag_key", unique=True),
        Index("ix_customer_tags_key", "workspace_id", "tag_key", "customer_shopify_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(Integer)
    customer_shopify_id: Mapped[int] = mapped_column(BigInteger)
    tag: Mapped[str] = mapped_column(String(255))
    tag_key: Mapped[str] = mapped_column(String(255))


class Order(Model):
    __tablename__ = "shopify_orders"
    __table_args__ = (
        Index("ux_orders_ws_shopify", "workspace_id", "shopify_id", unique=True),
        Index("ix_orders_ws_customer_at", "workspace_id", "customer_shopify_id", "ordered_at"),
        Index("ix_orders_ws_ordered_at", "workspace_id", "ordered_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(Integer)
    shopify_id: Mapped[int] = mapped_column(BigInteger)
    customer_shopify_id: Mapped[int | None] = mapped_column(BigInteger)
    name: Mapped[str | None] = mapped_column(String(64))
    total_price: Mapped[Decimal | None] = mapped_column(Money)
    currency: Mapped[str | None] = mapped_column(String(3))
    financial_status: Mapped[str | None] = mapped_column(String(32))
    fulfillment_status: Mapped[str | None] = mapped_column(String(32))
    ordered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    shopify_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: The manual re-sync that last saw this row; rows a re-sync did not see are deleted.
    last_sync_run_id: Mapped[int | None] = mapped_column(Integer)


class OrderLineItem(Model):
    __tablename__ = "shopify_order_line_items"
    __table_args__ = (
        Index("ux_line_items_ws_shopify", "workspace_id", "shopify_id", unique=True),
        Index("ix_line_items_ws_order", "workspace_id", "order_shopify_id"),
        Index("ix_line_items_ws_product", "workspace_id", "product_shopify_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(Integer)
    shopify_id: Mapped[int] = mapped_column(BigInteger)
    order_shopify_id: Mapped[int] = mapped_column(BigInteger)
    product_shopify_id: Mapped[int | None] = mapped_column(BigInteger)
    variant_shopify_id: Mapped[int | None] = mapped_column(BigInteger)
    product_title: Mapped[str | None] = mapped_column(String(512))
    variant_title: Mapped[str | None] = mapped_column(String(512))
    sku: Mapped[str | None] = mapped_column(String(255))
    quantity: Mapped[int | None] = mapped_column(Integer)
    price: Mapped[Decimal | None] = mapped_column(Money)
    currency: Mapped[str | None] = mapped_column(String(3))
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: The manual re-sync that last saw this row; rows a re-sync did not see are deleted.
    last_sync_run_id: Mapped[int | None] = mapped_column(Integer)


class AbandonedCheckout(Model):
    __tablename__ = "shopify_abandoned_checkouts"
    __table_args__ = (
        Index("ux_checkouts_ws_shopify", "workspace_id", "shopify_id", unique=True),
        Index("ix_checkouts_ws_customer_at", "workspace_id", "customer_shopify_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(Integer)
    shopify_id: Mapped[int] = mapped_column(BigInteger)
    token: Mapped[str | None] = mapped_column(String(255))
    customer_shopify_id: Mapped[int | None] = mapped_column(BigInteger)
    total_price: Mapped[Decimal | None] = mapped_column(Money)
    currency: Mapped[str | None] = mapped_column(String(3))
    item_count: Mapped[int | None] = mapped_column(Integer)
    product_titles: Mapped[list[str] | None] = mapped_column(JSON)
    recovery_url: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    shopify_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: The manual re-sync that last saw this row; rows a re-sync did not see are deleted.
    last_sync_run_id: Mapped[int | None] = mapped_column(Integer)


class Cart(Model):
    """A storefront cart. Shopify has no API listing carts: these come from webhooks only."""

    __tablename__ = "shopify_carts"
    __table_args__ = (
        Index("ux_carts_ws_token", "workspace_id", "token", unique=True),
        Index("ix_carts_ws_customer", "workspace_id", "customer_shopify_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(Integer)
    token: Mapped[str] = mapped_column(String(255))
    customer_shopify_id: Mapped[int | None] = mapped_column(BigInteger)
    item_count: Mapped[int | None] = mapped_column(Integer)
    total_price: Mapped[Decimal | None] = mapped_column(Money)
    currency: Mapped[str | None] = mapped_column(String(3))
    note: Mapped[str | None] = mapped_column(Text)
    shopify_created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    shopify_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Product(Model):
    __tablename__ = "shopify_products"
    __table_args__ = (Index("ux_products_ws_shopify", "workspace_id", "shopify_id", unique=True),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(Integer)
    shopify_id: Mapped[int] = mapped_column(BigInteger)
    title: Mapped[str | None] = mapped_column(String(512))
    handle: Mapped[str | None] = mapped_column(String(512))
    description: Mapped[str | None] = mapped_column(Text)
    vendor: Mapped[str | None] = mapped_column(String(255))
    product_type: Mapped[str | None] = mapped_column(String(255))
    tags: Mapped[list[str] | None] = mapped_column(JSON)
    status: Mapped[str | None] = mapped_column(String(20))
    inventory_quantity: Mapped[int | None] = mapped_column(Integer)
    price: Mapped[Decimal | None] = mapped_column(Money)
    currency: Mapped[str | None] = mapped_column(String(3))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    shopify_created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    shopify_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: The manual re-sync that last saw this row; rows a re-sync did not see are deleted.
    last_sync_run_id: Mapped[int | None] = mapped_column(Integer)
