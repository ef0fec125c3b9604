"""Storage: migrations match the models, secrets are encrypted, instants stay UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask

from lumo.crypto import SecretUnreadable, configure_encryption, decrypt, encrypt
from lumo.extensions import db
from lumo.models import ShopifyConnection, Workspace


def test_the_migrations_build_exactly_the_models(app: Flask) -> None:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        differences = compare_metadata(context, db.metadata)

    assert differences == []


def test_every_table_but_workspaces_belongs_to_a_workspace() -> None:
    for table in db.metadata.sorted_tables:
        if table.name in {"workspaces", "alembic_version"}:
            continue
        assert "workspace_id" in table.columns, table.name


def test_access_tokens_are_encrypted_at_rest(app: Flask, workspace: Workspace) -> None:
    db.session.add(
        ShopifyConnection(
            workspace_id=workspace.id, shop_domain="demo.myshopify.com", access_token="shpat_X1"
        )
    )
    db.session.commit()

    stored = db.session.execute(sa.text("SELECT access_token FROM shopify_connections")).scalar()
    assert stored and "shpat_X1" not in stored
    assert db.session.scalar(sa.select(ShopifyConnection.access_token)) == "shpat_X1"


def test_a_changed_key_says_what_to_do(app: Flask) -> None:
    ciphertext = encrypt("secret")
    configure_encryption("Y" * 43 + "=")
    try:
        with pytest.raises(SecretUnreadable, match="LUMO_ENCRYPTION_KEY"):
            decrypt(ciphertext)
    finally:
        configure_encryption(app.config["LUMO_ENCRYPTION_KEY"])


def test_instants_are_stored_in_utc_and_read_back_aware(app: Flask) -> None:
    tokyo = timezone(timedelta(hours=9))
    workspace = Workspace(name="t", created_at=datetime(2026, 1, 1, 9, 0, tzinfo=tokyo))
    db.session.add(workspace)
    db.session.commit()
    db.session.expire_all()

    loaded = db.session.get(Workspace, workspace.id)
    assert loaded is not None
    assert loaded.created_at == datetime(2026, 1, 1, 0, 0, tzinfo=UTC)
    assert loaded.created_at.tzinfo is not None


def test_naive_datetimes_are_refused(app: Flask) -> None:
    db.session.add(Workspace(name="t", created_at=datetime(2026, 1, 1)))
    with pytest.raises(sa.exc.StatementError, match="aware"):
        db.session.commit()
    db.session.rollback()
