"""shopify note keys: each shop's own Shopify note_attributes names

Revision ID: d7b2e0f10010
Revises: c6a0dce5000f
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "d7b2e0f10010"
down_revision = "c6a0dce5000f"
branch_labels = None
depends_on = None

COLUMNS = ("shopify_date_keys", "shopify_slot_keys", "shopify_noshi_keys")


def upgrade() -> None:
    for name in COLUMNS:
        op.add_column(
            "shop_settings",
            sa.Column(name, sa.String(length=200), nullable=False, server_default=""),
        )
        op.alter_column("shop_settings", name, server_default=None)


def downgrade() -> None:
    for name in COLUMNS:
        op.drop_column("shop_settings", name)
