"""API clients for one workspace: its LINE channel and its connected Shopify store.

The sync engine may offer its own Shopify client helper; this one exists so the friends feature
(write-back, linking) works on its own. Both read base URLs from the app's settings so the
stand-ins and the real services differ only by configuration.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from flask import current_app
from sqlalchemy import select

from lumo.extensions import db
from lumo.friends.errors import LineNotConfigured, ShopifyNotConnected
from lumo.line import LineClient
from lumo.models import ShopifyConnection, Workspace
from lumo.shopify import ShopifyClient

logger = logging.getLogger(__name__)

LINE_TIMEOUT = 10.0


def line_client_for(workspace: Workspace, *, max_retries: int = 2) -> LineClient:
    """A Messaging API client with the workspace's (decrypted) channel access token."""
    token = workspace.line_channel_access_token
    if not token:
        raise LineNotConfigured(
            f"Workspace {workspace.id} has no LINE channel access token; add it under "
            "Settings → LINE (from the LINE Developers console, Messaging API tab)."
        )
    return LineClient(
        token,
        api_base_url=current_app.config["LINE_API_BASE_URL"],
        data_api_base_url=current_app.config["LINE_DATA_API_BASE_URL"],
        timeout=LINE_TIMEOUT,
        max_retries=max_retries,
    )


def connected_store(workspace_id: int) -> ShopifyConnection | None:
    """The workspace's Shopify connection when it is usable (connected, with a token)."""
    connection = db.session.scalar(
        select(ShopifyConnection).where(ShopifyConnection.workspace_id == workspace_id)
    )
    if connection is None or connection.state != "connected" or not connection.access_token:
        return None
    return connection


def shopify_client_for(
    workspace_id: int, *, sleep: Callable[[float], None] = time.sleep
) -> ShopifyClient:
    """A client for the workspace's store; a refused token marks the connection broken."""
    from lumo.sync.connection import client_for

    connection = connected_store(workspace_id)
    if connection is None:
        raise ShopifyNotConnected(
            f"Workspace {workspace_id} has no connected Shopify store; connect one from "
            "Integrations → Shopify."
        )
    return client_for(connection, sleep=sleep)
