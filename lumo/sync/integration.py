"""Removing the Shopify integration (re-exported from `lumo.sync.connection`)."""

from lumo.sync.connection import remove_integration

__all__ = ["remove_integration"]
