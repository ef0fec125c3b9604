"""Lumo: LINE Official Account marketing with a Shopify integration and a Marketing Agent."""

from lumo.hookspecs import hookimpl

__all__ = ["create_app", "hookimpl"]


def __getattr__(name: str) -> object:
    # create_app is imported lazily so `from lumo import hookimpl` stays light for plugins.
    if name == "create_app":
        from lumo.app import create_app

        return create_app
    raise AttributeError(name)
