"""The carts category (Shopify sends carts by webhook only; there is no API to list them)."""
