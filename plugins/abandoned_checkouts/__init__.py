"""The abandoned checkouts category."""
