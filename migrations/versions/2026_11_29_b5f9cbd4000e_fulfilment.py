"""fulfilment: shipments, waves, pick lists, scans

Revision ID: b5f9cbd4000e
Revises: a4e8bac3000d
Create Date: 2026-11-29
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "b5f9cbd4000e"
down_revision = "a4e8bac3000d"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
