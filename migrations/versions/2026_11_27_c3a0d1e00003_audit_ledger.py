"""audit ledger: hash-chained events per shop and for the agency

Revision ID: c3a0d1e00003
Revises: b2e1d0c00002
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from urakata.platform.migration_support import each_tenant, enable_tenant_rls

revision = "c3a0d1e00003"
down_revision = "b2e1d0c00002"
branch_labels = None
depends_on = None

AGENCY_CHAIN = "00000000-0000-0000-0000-000000000000"


def upgrade() -> None:
    op.create_table(
        "audit_event",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_type", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("object_type", sa.String(length=64), nullable=False),
        sa.Column("object_id", sa.String(length=64), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("prev_hash", sa.LargeBinary(), nullable=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "seq", name=op.f("pk_audit_event")),
    )
    op.create_index(
        "ix_audit_event_tenant_id_object",
        "audit_event",
        ["tenant_id", "object_type", "object_id", "seq"],
    )
    op.create_index(
        "ix_audit_event_tenant_id_occurred_at", "audit_event", ["tenant_id", "occurred_at"]
    )
    op.create_table(
        "chain_head",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
        sa.Column("prev_hash", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_chain_head")),
    )
    # Append-only, for everyone including the owner: no UPDATE, DELETE or TRUNCATE.
    op.execute(
        """
        CREATE FUNCTION audit_event_is_append_only() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'audit_event is append-only: % refused', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER audit_event_no_update_delete BEFORE UPDATE OR DELETE ON audit_event"
        " FOR EACH ROW EXECUTE FUNCTION audit_event_is_append_only()"
    )
    op.execute(
        "CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event"
        " FOR EACH STATEMENT EXECUTE FUNCTION audit_event_is_append_only()"
    )
    # A chain head only moves forwards, and never disappears.
    op.execute(
        """
        CREATE FUNCTION chain_head_moves_forward() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' OR NEW.tenant_id <> OLD.tenant_id OR NEW.seq <= OLD.seq THEN
                RAISE EXCEPTION 'chain_head may only move forward'
                    USING ERRCODE = 'insufficient_privilege';
            END IF;
            RETURN NEW;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER chain_head_forward BEFORE UPDATE OR DELETE ON chain_head"
        " FOR EACH ROW EXECUTE FUNCTION chain_head_moves_forward()"
    )
    enable_tenant_rls("audit_event", "SELECT, INSERT")
    enable_tenant_rls("chain_head", "SELECT, INSERT, UPDATE")
    # Every existing shop, and the agency, gets an empty chain.
    for _tenant_id in each_tenant():
        op.execute(
            "INSERT INTO chain_head (tenant_id, seq, hash, prev_hash)"
            " VALUES (current_setting('app.tenant_id')::uuid, 0,"
            " decode(repeat('00', 32), 'hex'), decode(repeat('00', 32), 'hex'))"
        )
    op.execute(f"SET LOCAL app.tenant_id = '{AGENCY_CHAIN}'")
    op.execute(
        "INSERT INTO chain_head (tenant_id, seq, hash, prev_hash)"
        f" VALUES ('{AGENCY_CHAIN}', 0, decode(repeat('00', 32), 'hex'),"
        " decode(repeat('00', 32), 'hex'))"
    )
    op.execute("SET LOCAL app.tenant_id = ''")


def downgrade() -> None:
    op.drop_table("chain_head")
    op.drop_table("audit_event")
    op.execute("DROP FUNCTION chain_head_moves_forward()")
    op.execute("DROP FUNCTION audit_event_is_append_only()")
