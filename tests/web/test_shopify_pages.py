"""Integrations → Shopify: Setup, Dashboard, Synced Data and removing the integration."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from lumo import hookimpl
from lumo.app import plugin_manager
from lumo.categories import Category, Direction, Property
from lumo.extensions import db
from lumo.models import (
    Customer,
    CustomerFriendLink,
    PropertySetting,
    ShopifyConnection,
    SyncRun,
)
from lumo.web.pages import services
from tests.web.factories import connect_store, link_customer, make_friend, make_run


def _setting(workspace_id: int, category: str, key: str) -> bool | None:
    row = db.session.scalar(
        select(PropertySetting).where(
            PropertySetting.workspace_id == workspace_id,
            PropertySetting.category == category,
            PropertySetting.property_key == key,
        )
    )
    return None if row is None else row.enabled


# Setup


def test_setup_explains_that_email_and_phone_are_off(signed_in: FlaskClient) -> None:
    page = signed_in.get("/integrations/shopify/setup").get_data(as_text=True)

    assert "Connect store" in page
    assert "Email addresses and phone numbers are off" in page
    assert "personal information" in page
    email_line = page.split("Email address", 1)[0].rsplit("<li", 1)[1]
    assert 'class="off"' in email_line


def test_connecting_sends_the_merchant_to_the_install_route(signed_in: FlaskClient) -> None:
    response = signed_in.post(
        "/integrations/shopify/connect", data={"shop": "https://Lumo-Demo.myshopify.com/"}
    )

    assert response.status_code == 302
    assert response.headers["Location"] == (
        "/integrations/shopify/install?shop=lumo-demo.myshopify.com"
    )


def test_a_bad_store_address_is_explained(signed_in: FlaskClient) -> None:
    response = signed_in.post(
        "/integrations/shopify/connect", data={"shop": "example.com"}, follow_redirects=True
    )

    assert "your-store.myshopify.com" in response.get_data(as_text=True)


def test_the_initial_sync_starts_from_setup(
    signed_in: FlaskClient, workspace: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    connect_store(workspace.id)
    db.session.commit()
    started: list[tuple[int, str]] = []
    monkeypatch.setattr(services, "start_sync", lambda ws, kind: started.append((ws, kind)))

    assert "Start initial sync" in signed_in.get("/integrations/shopify/setup").get_data(
        as_text=True
    )
    response = signed_in.post("/integrations/shopify/sync", data={"kind": "initial"})

    assert response.headers["Location"].endswith("/integrations/shopify/dashboard")
    assert started == [(workspace.id, "initial")]


def test_syncing_without_a_store_asks_to_connect_first(
    signed_in: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services, "start_sync", lambda ws, kind: pytest.fail("must not start"))

    response = signed_in.post("/integrations/shopify/resync", follow_redirects=True)

    assert "Connect a Shopify store before syncing" in response.get_data(as_text=True)


# Dashboard


def test_dashboard_reports_a_broken_connection_and_what_to_do(
    signed_in: FlaskClient, workspace: Any
) -> None:
    connect_store(workspace.id, state="broken", broken_reason="The access token was revoked.")
    db.session.commit()

    page = signed_in.get("/integrations/shopify/dashboard").get_data(as_text=True)

    assert "Shopify refused" in page
    assert "The access token was revoked." in page
    assert "Reconnect the store from Setup" in page


def test_dashboard_shows_history_labels_reasons_and_chart(
    signed_in: FlaskClient, workspace: Any
) -> None:
    connect_store(workspace.id)
    make_run(
        workspace.id,
        "initial",
        "complete",
        counts={"customers": 120, "orders": 300},
        started_at=datetime(2026, 3, 1, 23, 50, tzinfo=UTC),
        finished_at=datetime(2026, 3, 2, 0, 5, tzinfo=UTC),
    )
    make_run(
        workspace.id,
        "manual",
        "failed",
        error="Shopify throttled the export; try again in a few minutes.",
        started_at=datetime(2026, 3, 3, 1, 0, tzinfo=UTC),
        finished_at=datetime(2026, 3, 3, 1, 2, tzinfo=UTC),
    )
    db.session.commit()

    page = signed_in.get("/integrations/shopify/dashboard").get_data(as_text=True)

    assert "Sync complete" in page
    assert "Re-sync failed" in page
    assert "Compare with Shopify" in page
    assert "Shopify throttled the export" in page
    assert "2026-03-02 08:50" in page  # 23:50 UTC in Tokyo
    assert "420" in page
    assert '<svg class="chart"' in page
    assert "connected and syncing" in page
    assert "Last successful sync" in page
    assert "2026-03-02 09:05" in page


def test_missing_webhooks_are_reported_with_the_fix(
    signed_in: FlaskClient, workspace: Any
) -> None:
    connect_store(workspace.id, webhook_topics=["orders/create"])
    db.session.commit()

    page = signed_in.get("/integrations/shopify/dashboard").get_data(as_text=True)

    assert "webhooks are not all registered" in page
    assert "customers/update" in page  # listed as missing
    assert 'href="/integrations/shopify/resync"' in page


def test_a_running_sync_shows_a_progress_bar_per_category(
    signed_in: FlaskClient, workspace: Any
) -> None:
    connect_store(workspace.id)
    make_run(
        workspace.id,
        "manual",
        "running",
        progress={"customers": {"done": 40, "total": 100}, "orders": 7},
    )
    db.session.commit()

    page = signed_in.get("/integrations/shopify/dashboard").get_data(as_text=True)
    progress = signed_in.get("/integrations/shopify/progress").json

    assert "Re-syncing" in page
    assert '<progress id="progress-customers" max="100" value="40">' in page
    assert '<label for="progress-orders">' in page
    assert progress["running"] is True
    assert progress["label"] == "Re-syncing"
    by_key = {item["key"]: item for item in progress["categories"]}
    assert by_key["customers"] == {
        "key": "customers",
        "label": "Customers",
        "done": 40,
        "total": 100,
        "state": "done",
    }
    assert by_key["orders"]["done"] == 7
    assert by_key["orders"]["state"] == "running"
    assert by_key["abandoned_checkouts"]["state"] == "waiting"
    assert "carts" not in by_key  # carts cannot be exported in bulk


def test_finished_categories_show_full_bars_without_totals(
    signed_in: FlaskClient, workspace: Any
) -> None:
    connect_store(workspace.id)
    make_run(workspace.id, "initial", "running", progress={"products": 60, "customers": 12})
    db.session.commit()

    page = signed_in.get("/integrations/shopify/dashboard").get_data(as_text=True)

    assert '<progress id="progress-products" max="1" value="1">' in page
    assert '<progress id="progress-orders" max="1" value="0">' in page
    assert "60 records — done" in page


def test_progress_reports_the_finished_run(signed_in: FlaskClient, workspace: Any) -> None:
    make_run(workspace.id, "initial", "complete", finished_at=datetime.now(UTC))
    db.session.commit()

    progress = signed_in.get("/integrations/shopify/progress").json

    assert progress["running"] is False
    assert progress["label"] == "Sync complete"


def test_resync_is_behind_a_confirmation(
    signed_in: FlaskClient, workspace: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    connect_store(workspace.id)
    db.session.commit()
    started: list[str] = []
    monkeypatch.setattr(services, "start_sync", lambda ws, kind: started.append(kind))

    confirm = signed_in.get("/integrations/shopify/resync").get_data(as_text=True)
    assert "Re-sync data?" in confirm and started == []
    signed_in.post("/integrations/shopify/resync")

    assert started == ["manual"]


def test_a_second_sync_is_not_started_while_one_runs(
    signed_in: FlaskClient, workspace: Any
) -> None:
    connect_store(workspace.id)
    running = make_run(workspace.id, "manual", "running")
    running.heartbeat_at = datetime.now(UTC)  # alive: it showed a sign of life just now
    db.session.commit()

    response = signed_in.post("/integrations/shopify/resync", follow_redirects=True)

    assert "already running" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(SyncRun)) == 1


def test_troubleshooting_covers_the_four_symptoms(signed_in: FlaskClient) -> None:
    page = signed_in.get("/integrations/shopify/dashboard").get_data(as_text=True)

    for symptom in (
        "initial sync is slow",
        "not reflected",
        "phone numbers are not shown",
        "not up to date",
    ):
        assert symptom in page
    assert 'href="/integrations/shopify/synced-data?q=personal"' in page
    assert 'href="/integrations/shopify/resync"' in page


# Synced Data


def test_synced_data_lists_properties_with_rule_and_status(signed_in: FlaskClient) -> None:
    page = signed_in.get("/integrations/shopify/synced-data").get_data(as_text=True)

    email = page.split('data-property="customers.email"', 1)[1].split("</tr>", 1)[0]
    assert "Personal information" in email
    assert "Shopify → Lumo" in email
    assert ">Off<" in email
    assert "<code>email</code>" in email
    # Offered properties wait in the Add Shopify Property list.
    assert 'data-property="customers.note"' not in page
    assert 'value="customers:note"' in page


def test_synced_data_search_filters_the_table(signed_in: FlaskClient) -> None:
    page = signed_in.get("/integrations/shopify/synced-data?q=phone").get_data(as_text=True)

    assert 'data-property="customers.phone"' in page
    assert 'data-property="customers.first_name"' not in page


def test_turning_on_a_personal_property_needs_confirmation(
    signed_in: FlaskClient, workspace: Any
) -> None:
    first = signed_in.post(
        "/integrations/shopify/synced-data/customers/email", data={"enabled": "1"}
    )
    assert first.headers["Location"].endswith("/synced-data/customers/email/confirm")
    assert _setting(workspace.id, "customers", "email") is None

    confirm = signed_in.get(first.headers["Location"]).get_data(as_text=True)
    assert "Personal information" in confirm
    signed_in.post(
        "/integrations/shopify/synced-data/customers/email",
        data={"enabled": "1", "confirmed": "1"},
    )

    assert _setting(workspace.id, "customers", "email") is True


def test_turning_a_personal_property_off_forgets_stored_values(
    signed_in: FlaskClient, workspace: Any
) -> None:
    friend = make_friend(workspace.id, "Aiko")
    link_customer(workspace.id, friend, 42, email="aiko@example.test")
    db.session.add(
        PropertySetting(
            workspace_id=workspace.id, category="customers", property_key="email", enabled=True
        )
    )
    db.session.commit()

    signed_in.post("/integrations/shopify/synced-data/customers/email", data={"enabled": "0"})

    db.session.expire_all()
    assert _setting(workspace.id, "customers", "email") is False
    assert db.session.scalar(select(Customer.email)) is None


def test_adding_and_removing_an_offered_property(signed_in: FlaskClient, workspace: Any) -> None:
    signed_in.post("/integrations/shopify/synced-data/add", data={"property": "customers:note"})
    page = signed_in.get("/integrations/shopify/synced-data").get_data(as_text=True)
    assert 'data-property="customers.note"' in page
    assert "Remove Customers Note" in page

    signed_in.post("/integrations/shopify/synced-data/customers/note", data={"enabled": "0"})

    assert _setting(workspace.id, "customers", "note") is False
    page = signed_in.get("/integrations/shopify/synced-data").get_data(as_text=True)
    assert 'data-property="customers.note"' not in page


def test_required_properties_stay_on(signed_in: FlaskClient, workspace: Any) -> None:
    response = signed_in.post(
        "/integrations/shopify/synced-data/customers/id",
        data={"enabled": "0"},
        follow_redirects=True,
    )

    assert "always synced" in response.get_data(as_text=True)
    assert _setting(workspace.id, "customers", "id") is None


def test_unknown_properties_are_not_found(signed_in: FlaskClient) -> None:
    assert signed_in.post("/integrations/shopify/synced-data/customers/nope").status_code == 404
    assert signed_in.post("/integrations/shopify/synced-data/nope/email").status_code == 404


class _LineStatusPlugin:
    @hookimpl
    def lumo_categories(self) -> list[Category]:
        return [
            Category(
                key="test_line_status",
                label="LINE status",
                table="shopify_customers",
                properties=(
                    Property(
                        "follow",
                        "LINE follow status",
                        "metafield.line.status",
                        "line_friends.follow_status",
                        direction=Direction.TO_SHOPIFY,
                    ),
                ),
                bulk=False,
            )
        ]


def test_written_back_properties_show_the_lumo_to_shopify_rule(
    app: Flask, signed_in: FlaskClient
) -> None:
    plugin = _LineStatusPlugin()
    plugin_manager(app).register(plugin, name="test_line_status")
    try:
        page = signed_in.get("/integrations/shopify/synced-data").get_data(as_text=True)
    finally:
        plugin_manager(app).unregister(plugin)

    row = page.split('data-property="test_line_status.follow"', 1)[1].split("</tr>", 1)[0]
    assert "Lumo → Shopify" in row


# Remove integration


def test_removing_the_integration_warns_and_deletes_linking(
    signed_in: FlaskClient, workspace: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import lumo.sync.connection

    removed: list[str] = []
    monkeypatch.setattr(
        lumo.sync.connection, "remove_webhooks", lambda client, url: removed.append(url)
    )
    connect_store(workspace.id)
    link_customer(workspace.id, make_friend(workspace.id, "Aiko"), 42)
    db.session.commit()

    confirm = signed_in.get("/integrations/shopify/remove").get_data(as_text=True)
    assert "linking information will be deleted" in confirm
    signed_in.post("/integrations/shopify/remove")

    db.session.expire_all()
    assert db.session.query(CustomerFriendLink).count() == 0
    connection = db.session.scalar(select(ShopifyConnection))
    assert connection is not None and connection.access_token is None
    assert connection.state == "uninstalled"
    assert len(removed) == 1
