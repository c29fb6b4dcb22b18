"""checkpoints: signed checkpoints of the audit chains, shops' retention policies

Revision ID: e2c6f8a1000b
Revises: d1b5e7f0000a
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

from urakata.platform.migration_support import enable_tenant_rls

revision = "e2c6f8a1000b"
down_revision = "d1b5e7f0000a"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # tenant_id is the chain id (the nil UUID for the agency chain), as in audit_event.
    op.create_table(
        "audit_checkpoint",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.CheckConstraint(
            "purpose IN ('scheduled', 'export')", name=op.f("ck_audit_checkpoint_purpose")
        ),
        sa.CheckConstraint("seq >= 0", name=op.f("ck_audit_checkpoint_seq")),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_audit_checkpoint")),
    )
    op.create_index(
        "ix_audit_checkpoint_tenant_id_seq",
        "audit_checkpoint",
        ["tenant_id", "seq", "signed_at"],
        unique=False,
    )
    # Published statements are never changed: the app role may only add and read them.
    enable_tenant_rls("audit_checkpoint", "SELECT, INSERT")
    op.create_table(
        "retention_policy",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("erase_after_days", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "erase_after_days BETWEEN 1 AND 3650",
            name=op.f("ck_retention_policy_erase_after_days"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_retention_policy")),
    )
    enable_tenant_rls("retention_policy")


def downgrade() -> None:
    op.drop_table("retention_policy")
    op.drop_index("ix_audit_checkpoint_tenant_id_seq", table_name="audit_checkpoint")
    op.drop_table("audit_checkpoint")
