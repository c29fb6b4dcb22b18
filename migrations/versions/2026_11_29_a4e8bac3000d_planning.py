"""planning: reorder points, forecasts, proposals, stock snapshots

Revision ID: a4e8bac3000d
Revises: f3d7a9b2000c
Create Date: 2026-11-29
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "a4e8bac3000d"
down_revision = "f3d7a9b2000c"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
