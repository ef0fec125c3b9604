"""The Dashboard's Re-sync button gives way to a dead run, as `lumo sync` does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask.testing import FlaskClient
from sqlalchemy import select

from lumo.extensions import db
from lumo.models import SyncRun
from lumo.sync.runs import STALE_AFTER


def test_resync_button_replaces_a_run_that_stopped_long_ago(
    connected: tuple[FlaskClient, int],
) -> None:
    web, workspace_id = connected
    long_ago = datetime.now(UTC) - STALE_AFTER - timedelta(minutes=5)
    dead = SyncRun(
        workspace_id=workspace_id,
        kind="manual",
        status="running",
        progress={},
        counts={},
        started_at=long_ago,
        heartbeat_at=long_ago,
    )
    db.session.add(dead)
    db.session.commit()

    response = web.post("/integrations/shopify/resync", follow_redirects=True)
    page = response.get_data(as_text=True)

    db.session.expire_all()
    assert db.session.get(SyncRun, dead.id).status == "failed", (
        "still running; the page said: "
        + ("A sync is already running" if "already running" in page else page[:200])
    )
    newer = select(SyncRun).where(SyncRun.id > dead.id, SyncRun.kind == "manual")
    assert db.session.scalar(newer) is not None
