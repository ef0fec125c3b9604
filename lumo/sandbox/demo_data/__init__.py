"""The demo store: Shopify's sample catalogs sold through a real UK retailer's invoices."""

from lumo.sandbox.demo_data.build import load_demo_store
from lumo.sandbox.demo_data.store import DemoStore, LoadReport

__all__ = ["DemoStore", "LoadReport", "load_demo_store"]
