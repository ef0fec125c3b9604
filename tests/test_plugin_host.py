"""The plugin host: built-ins as plugins, third-party discovery, failures reported."""

from __future__ import annotations

import inspect
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from lumo import hookspecs
from lumo.categories import PropertyType, WebhookAction
from lumo.mapping import MapContext, RecordShape
from lumo.plugin_manager import build_plugin_manager

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "lumo-gift-cards"

SIX_CATEGORIES = {
    "customers",
    "orders",
    "line_items",
    "abandoned_checkouts",
    "carts",
    "products",
}


def install_entry_point(site: Path, name: str, target: str) -> None:
    """Write the metadata pip would write for a package exposing a `lumo.plugins` entry point."""
    dist = site / f"{name}-0.1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1.0\n")
    (dist / "entry_points.txt").write_text(f"[lumo.plugins]\n{name} = {target}\n")


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for module in [m for m in sys.modules if m.startswith(("lumo_gift_cards", "broken_"))]:
        del sys.modules[module]


def test_the_six_categories_are_declared_by_builtin_plugins() -> None:
    pm = build_plugin_manager(entry_points=False)

    categories = {c.key: c for c in pm.categories()}

    assert set(categories) >= SIX_CATEGORIES
    assert all(c.plugin.endswith(".category") for c in categories.values())
    assert categories["carts"].bulk is False


@pytest.mark.parametrize("category_key", ["customers", "abandoned_checkouts"])
def test_email_and_phone_are_personal_and_off_by_default(category_key: str) -> None:
    category = build_plugin_manager(entry_points=False).category(category_key)

    for key in ("email", "phone"):
        prop = category.get_property(key)
        assert prop.personal is True
        assert prop.default_enabled is False

    assert {p.key for p in category.personal_properties} == {"email", "phone"}


def test_every_category_declares_typed_properties_with_paths() -> None:
    for category in build_plugin_manager(entry_points=False).categories():
        assert category.properties, category.key
        for prop in category.properties:
            assert prop.shopify_path and prop.lumo_field, (category.key, prop.key)
            assert isinstance(prop.type, PropertyType)


def test_a_third_party_plugin_appears_through_its_entry_point(site: Path) -> None:
    (site / "lumo_gift_cards.py").write_text((EXAMPLE / "lumo_gift_cards.py").read_text())
    install_entry_point(site, "lumo_gift_cards", "lumo_gift_cards")

    pm = build_plugin_manager()

    gift_cards = pm.category("gift_cards")
    assert gift_cards.plugin == "lumo_gift_cards"
    assert pm.hook.lumo_bulk_query(category=gift_cards, enabled=frozenset({"balance"}))
    rows = pm.hook.lumo_map_record(
        category=gift_cards,
        record={"id": "gid://shopify/GiftCard/7", "balance": {"amount": "12.50"}},
        shape=RecordShape.BULK,
        context=MapContext(workspace_id=3, enabled=frozenset({"balance"})),
    )
    assert rows[0].values == {"workspace_id": 3, "shopify_id": 7, "balance": Decimal("12.50")}
    # The built-ins still answer for their own categories.
    assert {c.key for c in pm.categories()} >= SIX_CATEGORIES | {"gift_cards"}


def test_a_plugin_that_fails_to_import_is_reported_and_the_rest_load(site: Path) -> None:
    (site / "broken_plugin.py").write_text("raise RuntimeError('missing API key')\n")
    install_entry_point(site, "broken_plugin", "broken_plugin")

    pm = build_plugin_manager()

    assert [f.name for f in pm.failures] == ["broken_plugin"]
    assert "missing API key" in pm.failures[0].reason
    assert {c.key for c in pm.categories()} >= SIX_CATEGORIES


def test_a_plugin_with_a_misspelt_hook_is_reported(site: Path) -> None:
    (site / "broken_hooks.py").write_text(
        "from lumo import hookimpl\n\n@hookimpl\ndef lumo_categorys():\n    return []\n"
    )
    install_entry_point(site, "broken_hooks", "broken_hooks")

    pm = build_plugin_manager()

    assert [f.name for f in pm.failures] == ["broken_hooks"]
    assert "lumo_categorys" in pm.failures[0].reason


def test_a_disabled_plugin_is_not_loaded() -> None:
    pm = build_plugin_manager(["carts"], entry_points=False)

    assert "carts" not in {c.key for c in pm.categories()}


def test_every_hook_is_documented_for_plugin_authors() -> None:
    hooks = [
        (name, func)
        for name, func in inspect.getmembers(hookspecs, inspect.isfunction)
        if name.startswith("lumo_")
    ]

    assert hooks
    guide = (Path(__file__).resolve().parent.parent / "docs" / "plugins.md").read_text()
    for name, func in hooks:
        assert func.__doc__ and len(func.__doc__.split()) >= 20, name
        assert name in guide, f"docs/plugins.md does not mention {name}"


def test_every_delete_topic_has_a_plugin_that_names_the_row() -> None:
    pm = build_plugin_manager(entry_points=False)
    context = MapContext(workspace_id=4, enabled=frozenset())

    for category in pm.categories():
        if WebhookAction.DELETE not in category.webhook_topics.values():
            continue
        key = pm.hook.lumo_deleted_key(category=category, payload={"id": 42}, context=context)
        # An order's delete names the order; its line items go by their parent's id.
        expected = "order_shopify_id" if category.key == "line_items" else "shopify_id"
        assert key == {"workspace_id": 4, expected: 42}, category.key


def test_every_hook_has_a_test_of_its_own() -> None:
    tests = Path(__file__).resolve().parent
    sources = (
        "\n".join(
            path.read_text()
            for path in tests.rglob("test_*.py")
            if path.name != Path(__file__).name
        )
        + (tests / "test_plugin_host.py").read_text().split("def test_every_hook_has_a_test")[0]
    )
    hooks = [name for name, _ in inspect.getmembers(hookspecs, inspect.isfunction)]

    for name in hooks:
        if name.startswith("lumo_"):
            assert name in sources, f"no test calls the hook {name}"
