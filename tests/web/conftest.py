"""Fixtures for the page tests: a second workspace with its own sign-in."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from lumo.extensions import db
from lumo.workspaces import create_workspace


@pytest.fixture
def other_workspace(app: Flask) -> Any:
    """Another merchant's workspace: nothing of it may show on the signed-in merchant's pages."""
    created = create_workspace("Other shop", timezone="America/New_York", currency="USD")
    db.session.commit()
    return created


@pytest.fixture(autouse=True)
def _no_real_hosts(app: Flask) -> None:
    """Point Shopify and LINE at a closed loopback port: page tests never leave the machine."""
    closed = "http://127.0.0.1:9"
    app.config["SHOPIFY_SHOP_URL_TEMPLATE"] = closed + "/{shop}"
    app.config["LINE_API_BASE_URL"] = closed
    app.config["LINE_DATA_API_BASE_URL"] = closed
