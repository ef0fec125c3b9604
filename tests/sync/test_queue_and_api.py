"""Redis down while webhooks arrive, the JSON API, and the personal-property switches."""

from __future__ import annotations

import socket
from datetime import date, timedelta
from pathlib import Path

from flask.testing import FlaskClient
from redis import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from rq import Queue, SimpleWorker
from sqlalchemy import func, select

from lumo import jobs
from lumo.extensions import db
from lumo.models import AbandonedCheckout, Customer, WebhookDelivery
from lumo.sandbox.shopify_server import SandboxShop, ShopifySandbox
from lumo.sync.deliveries import requeue_received
from lumo.sync.status import api_version_support
from tests.sync.conftest import build_app, post_webhook


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_webhooks_are_kept_while_redis_is_down_and_applied_when_it_returns(
    connected: tuple[FlaskClient, int], redis_connection: Redis
) -> None:
    web, _ = connected
    runner = jobs.runner()
    runner.mode = "redis"
    runner.redis = Redis(
        host="127.0.0.1",
        port=closed_port(),
        socket_connect_timeout=0.5,
        retry=Retry(NoBackoff(), 0),
    )
    payloads = [
        {"id": 880 + n, "first_name": f"Q{n}", "updated_at": "2026-02-01T00:00:00Z"}
        for n in range(3)
    ]
    for payload in payloads:
        assert post_webhook(web, "customers/create", payload).status_code == 200
    db.session.rollback()
    waiting = db.session.scalars(
        select(WebhookDelivery).where(WebhookDelivery.status == "received")
    ).all()
    assert len(waiting) == 3
    assert db.session.scalar(select(Customer).where(Customer.shopify_id == 880)) is None

    runner.redis = redis_connection
    assert requeue_received(older_than=timedelta(0)) == 3
    SimpleWorker(
        [Queue("webhooks", connection=redis_connection)], connection=redis_connection
    ).work(burst=True)
    db.session.rollback()
    stored = db.session.scalars(
        select(Customer.first_name).where(Customer.shopify_id.in_([880, 881, 882]))
    ).all()
    assert sorted(stored) == ["Q0", "Q1", "Q2"]
    assert requeue_received(older_than=timedelta(0)) == 0


def test_personal_properties_off_by_default_on_when_chosen_removed_when_off(
    connected: tuple[FlaskClient, int], shop: SandboxShop
) -> None:
    web, _ = connected
    emails = select(func.count()).select_from(Customer).where(Customer.email.is_not(None))
    assert db.session.scalar(emails) == 0
    listing = web.get("/api/properties").get_json()["categories"]
    customers = next(c for c in listing if c["category"] == "customers")
    email = next(p for p in customers["properties"] if p["key"] == "email")
    assert email["personal"] and not email["enabled"]

    changed = web.post(
        "/api/properties", json={"category": "customers", "property": "email", "enabled": True}
    )
    assert changed.status_code == 200 and changed.get_json()["changed"] == 1
    assert web.post("/api/sync/resync").status_code == 202
    db.session.rollback()
    assert db.session.scalar(emails) > 0

    web.post(
        "/api/properties",
        json={
            "changes": [
                {"category": "customers", "property": "email", "enabled": False},
                {"category": "abandoned_checkouts", "property": "email", "enabled": False},
            ]
        },
    )
    db.session.rollback()
    assert db.session.scalar(emails) == 0
    assert not db.session.scalar(
        select(func.count())
        .select_from(AbandonedCheckout)
        .where(AbandonedCheckout.email.is_not(None))
    )
    refused = web.post(
        "/api/properties", json={"category": "customers", "property": "id", "enabled": False}
    )
    assert refused.status_code == 400


def test_runs_api_lists_history_with_labels_and_progress(
    connected: tuple[FlaskClient, int],
) -> None:
    web, _ = connected
    runs = web.get("/api/sync/runs").get_json()["runs"]
    assert runs[0]["kind"] == "initial" and runs[0]["label"] == "Sync complete"
    one = web.get(f"/api/sync/runs/{runs[0]['id']}").get_json()
    assert one["progress"]["customers"] == 30
    assert web.get("/api/sync/runs/999999").status_code == 404


def test_api_needs_sign_in_and_csrf(_schema: str, tmp_path: Path, sandbox: ShopifySandbox) -> None:
    app = build_app(_schema, tmp_path, sandbox, WTF_CSRF_ENABLED=True)
    with app.app_context():
        client = app.test_client()
        assert client.get("/api/sync/status").status_code in (302, 401)
        from lumo.web.auth import create_account
        from lumo.workspaces import create_workspace

        workspace = create_workspace("CSRF shop")
        create_account(workspace.id, "csrf@example.test", "correct-horse")
        db.session.commit()
        try:
            with app.test_request_context():
                pass
            assert client.post("/api/sync/resync").status_code == 400  # no CSRF token
        finally:
            from tests.sync.conftest import empty_tables

            db.session.rollback()
            empty_tables()
            db.session.remove()


def test_api_version_warning_three_months_before_support_ends() -> None:
    assert api_version_support("2025-10", date(2026, 3, 1))["warning"] is None
    near = api_version_support("2025-10", date(2026, 8, 1))
    assert near["supported_until"] == "2026-10-01" and "leaves support" in near["warning"]
    assert "no longer supported" in api_version_support("2025-10", date(2026, 11, 1))["warning"]
