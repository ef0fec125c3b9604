"""Loads Lumo's plugins: the built-ins under `plugins/` and third-party entry points.

Built-in categories go through the same manager as outside plugins, so our own code proves the
hooks. A plugin that fails to import or register is reported by name and reason and skipped;
the rest still load.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import pkgutil
from collections.abc import Iterable
from dataclasses import dataclass, replace
from types import ModuleType
from typing import Any

import pluggy

from lumo import hookspecs
from lumo.categories import Category

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "lumo.plugins"

#: Built-in plugin packages; every module inside each is registered as its own plugin.
BUILTIN_PACKAGES: tuple[str, ...] = (
    "plugins.customers",
    "plugins.orders",
    "plugins.line_items",
    "plugins.abandoned_checkouts",
    "plugins.carts",
    "plugins.products",
    "plugins.line_friends",
    "plugins.line_status",
)


@dataclass(frozen=True)
class PluginFailure:
    name: str
    reason: str


class PluginError(RuntimeError):
    """Plugins contradict each other (for example two categories with one key)."""


class LumoPluginManager(pluggy.PluginManager):
    """A pluggy manager that also remembers which plugins failed to load, and why."""

    def __init__(self) -> None:
        super().__init__("lumo")
        self.add_hookspecs(hookspecs)
        self.failures: list[PluginFailure] = []

    def categories(self) -> list[Category]:
        """Every declared category, sorted for display and sync order."""
        found: dict[str, Category] = {}
        for plugin, declared in _results_by_plugin(self, "lumo_categories"):
            for category in declared or []:
                if category.key in found:
                    raise PluginError(
                        f"Plugins {found[category.key].plugin!r} and {plugin!r} both declare "
                        f"the category {category.key!r}; disable one with LUMO_DISABLED_PLUGINS."
                    )
                found[category.key] = replace(category, plugin=plugin)
        return sorted(found.values(), key=lambda c: (c.order, c.key))

    def category(self, key: str) -> Category:
        for category in self.categories():
            if category.key == key:
                return category
        raise KeyError(f"No plugin declares the category {key!r}.")


def _results_by_plugin(pm: pluggy.PluginManager, hook_name: str) -> Iterable[tuple[str, Any]]:
    """Call one collecting hook plugin by plugin, so each answer is tied to its plugin's name."""
    caller = getattr(pm.hook, hook_name)
    for impl in caller.get_hookimpls():
        yield impl.plugin_name, impl.function()


def build_plugin_manager(
    disabled: Iterable[str] = (), *, trace: bool = False, entry_points: bool = True
) -> LumoPluginManager:
    """Register the built-ins and discovered plugins, skipping `disabled` names."""
    pm = LumoPluginManager()
    skip = {name.strip() for name in disabled if name.strip()}

    for package in BUILTIN_PACKAGES:
        for name, module in _builtin_modules(pm, package):
            if name in skip or package.removeprefix("plugins.") in skip:
                continue
            _register(pm, module, name)

    if entry_points:
        for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            if entry_point.name in skip:
                continue
            try:
                plugin = entry_point.load()
            except Exception as error:  # any import-time failure of foreign code
                _record_failure(pm, entry_point.name, f"could not be imported: {error!r}")
                continue
            _register(pm, plugin, entry_point.name)

    if trace:
        pm.trace.root.setwriter(lambda message: logger.debug("hook %s", message.rstrip()))
        pm.enable_tracing()

    pm.check_pending()
    return pm


def _builtin_modules(pm: LumoPluginManager, package: str) -> Iterable[tuple[str, ModuleType]]:
    try:
        root = importlib.import_module(package)
    except Exception as error:
        _record_failure(pm, package, f"could not be imported: {error!r}")
        return
    for info in pkgutil.iter_modules(root.__path__):
        name = f"{package}.{info.name}"
        try:
            yield name.removeprefix("plugins."), importlib.import_module(name)
        except Exception as error:
            _record_failure(pm, name, f"could not be imported: {error!r}")


def _register(pm: LumoPluginManager, plugin: object, name: str) -> None:
    try:
        pm.register(plugin, name=name)
        pm.check_pending()
    except Exception as error:  # pluggy raises several validation errors
        if pm.is_registered(plugin):
            pm.unregister(plugin)
        _record_failure(pm, name, f"was not registered: {error}")


def _record_failure(pm: LumoPluginManager, name: str, reason: str) -> None:
    pm.failures.append(PluginFailure(name, reason))
    logger.error("plugin %s %s; Lumo goes on without it", name, reason)
