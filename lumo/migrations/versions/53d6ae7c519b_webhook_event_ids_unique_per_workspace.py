"""webhook event ids unique per workspace

A delivery's event id was unique per source across every workspace, so one store (or one LINE
channel) could pre-empt another's event. It is now unique per (workspace, source); deliveries
no workspace claims (workspace_id NULL, an unknown shop) stay unique per source among
themselves through a partial index.

The downgrade restores the old key and fails if two workspaces already share an event id;
delete one of each pair first.

Revision ID: 53d6ae7c519b
Revises: 3f5ceca13eb5
Create Date: 2026-12-04 18:17:02.771716

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '53d6ae7c519b'
down_revision = '3f5ceca13eb5'
branch_labels = None
depends_on = None

UNCLAIMED = "workspace_id IS NULL"


def upgrade():
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.create_index(
            'ux_deliveries_ws_source_event',
            ['workspace_id', 'source', 'event_id'],
            unique=True,
        )
        batch_op.create_index(
            'ux_deliveries_unclaimed_event',
            ['source', 'event_id'],
            unique=True,
            sqlite_where=sa.text(UNCLAIMED),
            postgresql_where=sa.text(UNCLAIMED),
        )
        batch_op.drop_index('ux_deliveries_source_event')


def downgrade():
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.create_index('ux_deliveries_source_event', ['source', 'event_id'], unique=True)
        batch_op.drop_index(
            'ux_deliveries_unclaimed_event',
            sqlite_where=sa.text(UNCLAIMED),
            postgresql_where=sa.text(UNCLAIMED),
        )
        batch_op.drop_index('ux_deliveries_ws_source_event')
