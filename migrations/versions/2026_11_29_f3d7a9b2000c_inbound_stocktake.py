"""inbound_stocktake: inbound notices, receiving, stocktakes

Revision ID: f3d7a9b2000c
Revises: e2c6f8a1000b
Create Date: 2026-11-29
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "f3d7a9b2000c"
down_revision = "e2c6f8a1000b"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
