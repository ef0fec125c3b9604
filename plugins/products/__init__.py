"""The products category."""
