"""foundation: tenants, user accounts, memberships

Revision ID: a1f0c0de0001
Revises:
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

from urakata.platform.migration_support import grant_app

revision = "a1f0c0de0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tenant",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("slug", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('active', 'suspended')", name=op.f("ck_tenant_status")),
        sa.CheckConstraint(
            "slug ~ '^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$'", name=op.f("ck_tenant_slug")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenant")),
        sa.UniqueConstraint("slug", name=op.f("uq_tenant_slug")),
    )
    op.create_table(
        "user_account",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("email = lower(email)", name=op.f("ck_user_account_email_lowercase")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_account")),
        sa.UniqueConstraint("email", name=op.f("uq_user_account_email")),
    )
    op.create_table(
        "membership",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("shop_id", sa.Uuid(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "role IN ('agency_admin', 'operator', 'shop_admin', 'shop_staff', 'auditor')",
            name=op.f("ck_membership_role"),
        ),
        sa.CheckConstraint(
            "(role = 'agency_admin' AND shop_id IS NULL) OR (role IN ('operator', 'shop_admin', 'shop_staff') AND shop_id IS NOT NULL) OR role = 'auditor'",
            name=op.f("ck_membership_role_scope"),
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["tenant.id"], name=op.f("fk_membership_shop_id_tenant")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_membership_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_membership")),
    )
    op.create_index(
        "uq_membership_user_id_role_shop_id",
        "membership",
        ["user_id", "role", "shop_id"],
        unique=True,
        postgresql_nulls_not_distinct=True,
    )
    op.create_index("ix_membership_shop_id", "membership", ["shop_id"])
    grant_app("tenant")
    grant_app("user_account")
    grant_app("membership")


def downgrade() -> None:
    op.drop_table("membership")
    op.drop_table("user_account")
    op.drop_table("tenant")
