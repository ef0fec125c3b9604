"""What a data category is: its properties, its storage and its Shopify webhook topics.

Category plugins return `Category` records from the `lumo_categories` hook; the host reads them
to build the Synced Data screen, decide what to fetch, and route webhooks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class PropertyType(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    MONEY = "money"
    DATETIME = "datetime"
    TAGS = "tags"
    BOOLEAN = "boolean"
    URL = "url"


class Direction(StrEnum):
    """Which way a property's value flows."""

    FROM_SHOPIFY = "shopify_to_lumo"
    TO_SHOPIFY = "lumo_to_shopify"


class WebhookAction(StrEnum):
    UPSERT = "upsert"
    DELETE = "delete"


@dataclass(frozen=True)
class Property:
    """One syncable field of a category.

    `shopify_path` is where the value lives in Shopify's GraphQL object (dotted), `lumo_field`
    the column it lands in (or `extra.<key>` for merchant-added properties). Personal properties
    (email, phone) are never stored, logged or sent to a model unless the merchant enables them.
    `offered` properties are not synced until the merchant adds them on the Synced Data screen.
    """

    key: str
    label: str
    shopify_path: str
    lumo_field: str
    type: PropertyType = PropertyType.TEXT
    personal: bool = False
    default_enabled: bool = True
    offered: bool = False
    required: bool = False
    direction: Direction = Direction.FROM_SHOPIFY
    description: str = ""


@dataclass(frozen=True)
class Category:
    """A kind of Shopify record Lumo keeps a copy of.

    `table` names the model's table. `webhook_topics` maps each Shopify topic the category
    listens to onto what it means for stored rows. `bulk` is false for categories Shopify cannot
    list (carts arrive by webhook only). `order` sorts categories on screens and in syncs
    (parents before children).
    """

    key: str
    label: str
    table: str
    properties: tuple[Property, ...]
    webhook_topics: Mapping[str, WebhookAction] = field(default_factory=dict)
    bulk: bool = True
    description: str = ""
    order: int = 100
    plugin: str = ""

    def get_property(self, key: str) -> Property:
        for prop in self.properties:
            if prop.key == key:
                return prop
        raise KeyError(f"Category {self.key!r} has no property {key!r}.")

    @property
    def personal_properties(self) -> tuple[Property, ...]:
        return tuple(p for p in self.properties if p.personal)
