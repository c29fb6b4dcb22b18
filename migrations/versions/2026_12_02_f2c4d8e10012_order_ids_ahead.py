"""order ids ahead: the app role may draw order ids from their sequence

A file import takes its order ids from the identity's sequence ahead of writing the
orders (``nextval``, one statement for a piece of the file), so that each order's ledger
events are encoded while the orders before it are written. Inserting rows never needed
the privilege; calling ``nextval`` does (USAGE allows nextval and currval only).

Revision ID: f2c4d8e10012
Revises: e8a1b2c30011
Create Date: 2026-12-02
"""

from urakata.platform.migration_support import grant_sequence_usage

revision = "f2c4d8e10012"
down_revision = "e8a1b2c30011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    grant_sequence_usage("sales_order_id_seq")


def downgrade() -> None:
    grant_sequence_usage("sales_order_id_seq", revoke=True)
