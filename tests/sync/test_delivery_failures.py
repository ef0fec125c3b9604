"""Deliveries that cannot be applied are kept as failed with the reason; none waits forever."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from lumo.extensions import db
from lumo.models import WebhookDelivery
from lumo.sync import deliveries
from tests.sync.conftest import post_webhook


@pytest.mark.parametrize(
    ("topic", "payload"),
    [
        ("customers/redact", {"customer": "6200000000001"}),
        ("orders/updated", {"id": 5, "line_items": "oops"}),
        ("products/update", {"id": 6, "variants": "x"}),
    ],
)
def test_an_unexpected_payload_shape_is_kept_as_failed_with_the_reason(
    connected: tuple[FlaskClient, int], sync_app: Flask, topic: str, payload: dict
) -> None:
    web, _ = connected

    response = post_webhook(web, topic, payload)

    assert response.status_code == 200
    db.session.expire_all()
    delivery = db.session.scalars(
        select(WebhookDelivery).where(WebhookDelivery.topic == topic)
    ).one()
    assert (delivery.status, bool(delivery.error)) == ("failed", True)
    assert deliveries.requeue_received(older_than=timedelta(0)) == 0


def test_the_sweeper_requeues_line_deliveries_too(
    sync_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lumo.friends import events
    from lumo.workspaces import create_workspace

    workspace = create_workspace("LINE shop")
    db.session.flush()
    delivery = WebhookDelivery(
        workspace_id=workspace.id,
        source="line",
        topic="follow",
        event_id="01HLINEEVENT",
        body=b"{}",
        status="received",
    )
    db.session.add(delivery)
    db.session.commit()
    applied: list[int] = []
    monkeypatch.setattr(events, "apply_line_delivery", applied.append)

    queued = deliveries.requeue_received(older_than=timedelta(0))

    assert queued == 1
    assert applied == [delivery.id]
