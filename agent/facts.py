"""What the planners may know about a workspace: its tags, catalogue, glossary and clock.

Loaded once per request from the synced tables. Only labels and names travel here (tag names,
product titles, vendors): never a customer's name, email or phone.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from lumo.extensions import db
from lumo.models import (
    Customer,
    CustomerTag,
    FriendLumoTag,
    LumoTag,
    OrderLineItem,
    Product,
    Workspace,
)
from lumo.segments.fields import SegmentFieldRegistry

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TagInfo:
    """A tag as it is spelled in the workspace, and how many carry it."""

    name: str
    count: int


@dataclass
class WorkspaceFacts:
    """The vocabulary and numbers a planner plans against, for one workspace at one moment."""

    workspace_id: int
    now: datetime
    timezone: str
    currency: str
    registry: SegmentFieldRegistry
    shopify_tags: dict[str, TagInfo] = field(default_factory=dict)
    lumo_tags: dict[str, TagInfo] = field(default_factory=dict)
    product_titles: list[str] = field(default_factory=list)
    vendors: list[str] = field(default_factory=list)
    product_types: list[str] = field(default_factory=list)
    glossary: list[Any] = field(default_factory=list)
    _thresholds: dict[tuple[str, int], Decimal | None] = field(default_factory=dict)

    @property
    def today(self) -> date:
        return self.now.astimezone(ZoneInfo(self.timezone)).date()

    def top_threshold(self, column: str, percent: int) -> Decimal | None:
        """The smallest value inside the top `percent`% of customers by `column`, from the data.

        Customers with nothing (NULL or 0) count in the population. None when there is no
        customer with a positive value.
        """
        key = (column, percent)
        if key not in self._thresholds:
            self._thresholds[key] = _top_threshold(self.workspace_id, column, percent)
        return self._thresholds[key]


_PERCENTILE_COLUMNS = {
    "amount_spent": Customer.amount_spent,
    "number_of_orders": Customer.number_of_orders,
}


def _top_threshold(workspace_id: int, column: str, percent: int) -> Decimal | None:
    target = _PERCENTILE_COLUMNS[column]
    population = db.session.scalar(
        select(func.count()).select_from(Customer).where(Customer.workspace_id == workspace_id)
    )
    if not population:
        return None
    rank = max(1, math.ceil(population * percent / 100))
    value = db.session.scalar(
        select(func.coalesce(target, 0))
        .where(Customer.workspace_id == workspace_id)
        .order_by(func.coalesce(target, 0).desc())
        .offset(rank - 1)
        .limit(1)
    )
    if value is None or Decimal(str(value)) <= 0:
        return None
    return Decimal(str(value))


def load_facts(
    workspace_id: int,
    *,
    registry: SegmentFieldRegistry | None = None,
    now: datetime | None = None,
) -> WorkspaceFacts:
    """Read the workspace's tags (both kinds, with counts), catalogue names and glossary."""
    from agent.glossary import glossary_terms
    from lumo.segments.service import field_registry

    workspace = db.session.get(Workspace, workspace_id)
    if workspace is None:
        raise LookupError(f"There is no workspace {workspace_id}.")
    facts = WorkspaceFacts(
        workspace_id=workspace_id,
        now=now or datetime.now(UTC),
        timezone=workspace.timezone or "UTC",
        currency=workspace.currency or "JPY",
        registry=registry or field_registry(),
    )

    shopify_rows = db.session.execute(
        select(func.min(CustomerTag.tag), CustomerTag.tag_key, func.count())
        .where(CustomerTag.workspace_id == workspace_id)
        .group_by(CustomerTag.tag_key)
    )
    facts.shopify_tags = {key: TagInfo(name, int(total)) for name, key, total in shopify_rows}

    lumo_rows = db.session.execute(
        select(LumoTag.name, LumoTag.name_key, func.count(FriendLumoTag.id))
        .outerjoin(FriendLumoTag, FriendLumoTag.lumo_tag_id == LumoTag.id)
        .where(LumoTag.workspace_id == workspace_id)
        .group_by(LumoTag.id, LumoTag.name, LumoTag.name_key)
    )
    facts.lumo_tags = {key: TagInfo(name, int(total)) for name, key, total in lumo_rows}

    products = db.session.execute(
        select(Product.title, Product.vendor, Product.product_type).where(
            Product.workspace_id == workspace_id
        )
    ).all()
    item_titles = db.session.scalars(
        select(OrderLineItem.product_title)
        .where(OrderLineItem.workspace_id == workspace_id)
        .distinct()
        .limit(5000)
    )
    facts.product_titles = _distinct([p[0] for p in products] + list(item_titles))
    facts.vendors = _distinct([p[1] for p in products])
    facts.product_types = _distinct([p[2] for p in products])
    facts.glossary = glossary_terms(workspace_id)
    logger.debug(
        "agent facts for workspace %s: %d shopify tags, %d lumo tags, %d products",
        workspace_id,
        len(facts.shopify_tags),
        len(facts.lumo_tags),
        len(facts.product_titles),
    )
    return facts


def _distinct(names: list[str | None]) -> list[str]:
    seen: dict[str, str] = {}
    for name in names:
        if name and name.strip():
            seen.setdefault(name.strip().lower(), name.strip())
    return sorted(seen.values())
