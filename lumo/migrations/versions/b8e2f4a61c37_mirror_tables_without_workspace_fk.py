"""Shopify mirror tables without a foreign key to workspaces

The seven tables that mirror a store's data are written millions of rows at a time by an
initial sync; PostgreSQL checked the workspace key of every row, which cost about 60% on top
of the COPY itself. Workspaces are never deleted, and `shop/redact` deletes these rows itself,
so nothing relied on the key or its cascade.

Revision ID: b8e2f4a61c37
Revises: 7a1c0e5d2b94
Create Date: 2026-12-04 21:00:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'b8e2f4a61c37'
down_revision = '7a1c0e5d2b94'
branch_labels = None
depends_on = None

TABLES = (
    'shopify_customers',
    'shopify_customer_tags',
    'shopify_orders',
    'shopify_order_line_items',
    'shopify_abandoned_checkouts',
    'shopify_carts',
    'shopify_products',
)


def upgrade():
    for name in TABLES:
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.drop_constraint(f'fk_{name}_workspace_id_workspaces', type_='foreignkey')


def downgrade():
    for name in TABLES:
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.create_foreign_key(
                f'fk_{name}_workspace_id_workspaces',
                'workspaces',
                ['workspace_id'],
                ['id'],
                ondelete='CASCADE',
            )
