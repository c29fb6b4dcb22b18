"""portal load: indexes the portal's busiest pages need at scale

The shop's order list filtered by a hold reason read every order of the shop (a year of
a busy shop is tens of thousands of rows, scattered over the table): the few orders that
carry a hold get a partial index, newest first by id as the list pages.

Revision ID: e8a1b2c30011
Revises: d7b2e0f10010
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "e8a1b2c30011"
down_revision = "d7b2e0f10010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_sales_order_tenant_id_id_held",
        "sales_order",
        ["tenant_id", "id"],
        unique=False,
        postgresql_where=sa.text("holds <> '[]'::jsonb"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_sales_order_tenant_id_id_held",
        table_name="sales_order",
        postgresql_where=sa.text("holds <> '[]'::jsonb"),
    )
