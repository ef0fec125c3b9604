"""Redacted customers

`customers/redact` records the customer and the moment, so a delivery Shopify sent before it
(still waiting, or retried late) cannot bring the erased data back.

Revision ID: c4d1e9f2a7b5
Revises: b8e2f4a61c37
Create Date: 2026-12-04 22:40:00.000000

"""
from alembic import op
import sqlalchemy as sa

import lumo.models.base


# revision identifiers, used by Alembic.
revision = 'c4d1e9f2a7b5'
down_revision = 'b8e2f4a61c37'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'shopify_redacted_customers',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('workspace_id', sa.Integer(), nullable=False),
        sa.Column('customer_shopify_id', sa.BigInteger(), nullable=False),
        sa.Column('redacted_at', lumo.models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ['workspace_id'],
            ['workspaces.id'],
            name=op.f('fk_shopify_redacted_customers_workspace_id_workspaces'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_shopify_redacted_customers')),
    )
    with op.batch_alter_table('shopify_redacted_customers', schema=None) as batch_op:
        batch_op.create_index(
            'ux_redacted_customers', ['workspace_id', 'customer_shopify_id'], unique=True
        )


def downgrade():
    with op.batch_alter_table('shopify_redacted_customers', schema=None) as batch_op:
        batch_op.drop_index('ux_redacted_customers')
    op.drop_table('shopify_redacted_customers')
