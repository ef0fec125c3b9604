"""Which properties of each category sync for a workspace (the Synced Data screen's switches).

A `PropertySetting` row overrides the plugin's default; no row means the default. Turning a
property off removes the values already stored for it, so switching email or phone off erases
them from Lumo.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app
from sqlalchemy import delete, select, update

from lumo.app import plugin_manager
from lumo.categories import Category, Property
from lumo.extensions import db
from lumo.mapping import MapContext
from lumo.models import PropertySetting, ShopifyConnection, Workspace
from lumo.sync.upsert import rowcount, table

logger = logging.getLogger(__name__)

TAGS_TABLE = "shopify_customer_tags"


class PropertyChangeRefused(ValueError):
    """The property cannot be switched (it is required, or it does not exist)."""


def categories() -> list[Category]:
    return plugin_manager(current_app).categories()


def category(key: str) -> Category:
    return plugin_manager(current_app).category(key)


def enabled_properties(workspace_id: int, category_: Category) -> frozenset[str]:
    """The keys of the properties this workspace syncs for `category_`."""
    overrides = dict(
        db.session.execute(
            select(PropertySetting.property_key, PropertySetting.enabled).where(
                PropertySetting.workspace_id == workspace_id,
                PropertySetting.category == category_.key,
            )
        ).all()
    )
    return frozenset(
        prop.key
        for prop in category_.properties
        if prop.required or overrides.get(prop.key, prop.default_enabled)
    )


def map_context(workspace_id: int, category_: Category) -> MapContext:
    """Everything a mapping hook needs to know about the workspace."""
    connection = db.session.scalar(
        select(ShopifyConnection).where(ShopifyConnection.workspace_id == workspace_id)
    )
    currency = connection.shop_currency if connection else None
    zone = connection.shop_timezone if connection else None
    if currency is None:
        workspace = db.session.get(Workspace, workspace_id)
        currency = workspace.currency if workspace else None
    return MapContext(
        workspace_id=workspace_id,
        enabled=enabled_properties(workspace_id, category_),
        shop_currency=currency,
        shop_timezone=zone,
    )


def property_settings(workspace_id: int) -> list[dict[str, Any]]:
    """Every category's properties with their current switch, for the Synced Data screen."""
    listing = []
    for cat in categories():
        enabled = enabled_properties(workspace_id, cat)
        listing.append(
            {
                "category": cat.key,
                "label": cat.label,
                "description": cat.description,
                "bulk": cat.bulk,
                "properties": [
                    {
                        "key": prop.key,
                        "label": prop.label,
                        "type": str(prop.type),
                        "personal": prop.personal,
                        "required": prop.required,
                        "offered": prop.offered,
                        "default_enabled": prop.default_enabled,
                        "enabled": prop.key in enabled,
                        "description": prop.description,
                    }
                    for prop in cat.properties
                ],
            }
        )
    return listing


def set_property_enabled(
    workspace_id: int, category_key: str, property_key: str, enabled: bool
) -> bool:
    """Switch one property (committed); turning it off deletes its stored values.

    Returns whether the setting changed. A property turned on fills in at the next sync.
    """
    try:
        cat = category(category_key)
        prop = cat.get_property(property_key)
    except KeyError as error:
        raise PropertyChangeRefused(str(error.args[0])) from error
    if prop.required:
        raise PropertyChangeRefused(
            f"{prop.label} is always synced: Lumo needs it to connect records."
        )

    was = property_key in enabled_properties(workspace_id, cat)
    setting = db.session.scalar(
        select(PropertySetting).where(
            PropertySetting.workspace_id == workspace_id,
            PropertySetting.category == category_key,
            PropertySetting.property_key == property_key,
        )
    )
    if setting is None:
        setting = PropertySetting(
            workspace_id=workspace_id, category=category_key, property_key=property_key
        )
        db.session.add(setting)
    setting.enabled = enabled
    db.session.flush()

    if was and not enabled:
        cleared = clear_property(workspace_id, cat, prop)
        logger.info(
            "workspace %s: %s.%s turned off, %d stored values removed",
            workspace_id,
            category_key,
            property_key,
            cleared,
        )
    db.session.commit()
    return was != enabled


def clear_property(workspace_id: int, category_: Category, prop: Property) -> int:
    """Remove every stored value of one property in one workspace."""
    if prop.lumo_field == TAGS_TABLE:
        tags = table(TAGS_TABLE)
        result = db.session.execute(delete(tags).where(tags.c.workspace_id == workspace_id))
        return rowcount(result)

    target = table(category_.table)
    if prop.lumo_field.startswith("extra."):
        name = prop.lumo_field.removeprefix("extra.")
        cleared = 0
        rows = db.session.execute(
            select(target.c.id, target.c.extra).where(
                target.c.workspace_id == workspace_id, target.c.extra.is_not(None)
            )
        ).all()
        for row_id, extra in rows:
            if extra and name in extra:
                kept = {k: v for k, v in extra.items() if k != name}
                db.session.execute(
                    update(target).where(target.c.id == row_id).values(extra=kept or None)
                )
                cleared += 1
        return cleared

    if prop.lumo_field not in target.c:
        return 0
    result = db.session.execute(
        update(target)
        .where(target.c.workspace_id == workspace_id, target.c[prop.lumo_field].is_not(None))
        .values({prop.lumo_field: None})
    )
    return rowcount(result)
