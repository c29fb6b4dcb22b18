"""shipping: packing, slips, carrier files, tracking, handover

Revision ID: c6a0dce5000f
Revises: b5f9cbd4000e
Create Date: 2026-11-29
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "c6a0dce5000f"
down_revision = "b5f9cbd4000e"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
