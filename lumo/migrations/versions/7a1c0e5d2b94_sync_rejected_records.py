"""sync rejected records

Records a bulk or catch-up sync could not map are skipped and kept here (Shopify id and
reason), so one odd record never blocks a store's sync and the merchant can see what was left
out.

Revision ID: 7a1c0e5d2b94
Revises: 53d6ae7c519b
Create Date: 2026-12-04 18:45:00.000000

"""
from alembic import op
import sqlalchemy as sa

import lumo.models.base


# revision identifiers, used by Alembic.
revision = '7a1c0e5d2b94'
down_revision = '53d6ae7c519b'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'sync_rejected_records',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('workspace_id', sa.Integer(), nullable=False),
        sa.Column('sync_run_id', sa.Integer(), nullable=False),
        sa.Column('category', sa.String(length=64), nullable=False),
        sa.Column('shopify_id', sa.String(length=128), nullable=True),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('created_at', lumo.models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['sync_run_id'], ['sync_runs.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('sync_rejected_records', schema=None) as batch_op:
        batch_op.create_index(
            'ix_rejected_ws_run', ['workspace_id', 'sync_run_id'], unique=False
        )


def downgrade():
    with op.batch_alter_table('sync_rejected_records', schema=None) as batch_op:
        batch_op.drop_index('ix_rejected_ws_run')
    op.drop_table('sync_rejected_records')
