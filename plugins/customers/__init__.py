"""The customers category: Shopify customers and their Shopify customer tags."""
