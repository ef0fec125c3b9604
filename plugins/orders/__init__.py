"""The orders category."""
