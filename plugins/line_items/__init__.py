"""The order line items category: what each order contained."""
