"""payments: payment settings, payment notices, bank statements and their lines, deposit
matches, shop mail templates, order confirmation mails

Revision ID: d1b5e7f0000a
Revises: c9a4d6e00009
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

from urakata.platform.migration_support import enable_tenant_rls

revision = "d1b5e7f0000a"
down_revision = "c9a4d6e00009"
branch_labels = None
depends_on = None

TABLES = (
    "payment_settings",
    "payment_event",
    "bank_statement",
    "bank_statement_line",
    "payment_match",
    "mail_template",
    "order_confirmation_mail",
)


def upgrade() -> None:
    op.create_table(
        "bank_statement",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column(
            "id", sa.BigInteger(), sa.Identity(always=False), autoincrement=True, nullable=False
        ),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("encoding", sa.String(length=16), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("uploaded_by_name", sa.String(length=200), nullable=False),
        sa.Column("line_count", sa.Integer(), nullable=False),
        sa.Column("known_count", sa.Integer(), nullable=False),
        sa.Column("withdrawal_count", sa.Integer(), nullable=False),
        sa.Column("first_date", sa.Date(), nullable=True),
        sa.Column("last_date", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_bank_statement")),
    )
    op.create_index(
        "ix_bank_statement_tenant_id_uploaded_at",
        "bank_statement",
        ["tenant_id", "uploaded_at"],
        unique=False,
    )
    op.create_table(
        "mail_template",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("locale", sa.String(length=2), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by_name", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "kind", "locale", name=op.f("pk_mail_template")),
    )
    op.create_table(
        "payment_settings",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("konbini_expiry_days", sa.Integer(), nullable=False),
        sa.Column("atobarai_ng_policy", sa.String(length=8), nullable=False),
        sa.Column("reminder_after_days", sa.Integer(), nullable=False),
        sa.Column("transfer_due_days", sa.Integer(), nullable=False),
        sa.Column("bank_name", sa.String(length=40), nullable=False),
        sa.Column("bank_branch", sa.String(length=40), nullable=False),
        sa.Column("bank_account_type", sa.String(length=8), nullable=False),
        sa.Column("bank_account_number", sa.String(length=7), nullable=False),
        sa.Column("bank_account_holder", sa.String(length=60), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by_name", sa.String(length=200), nullable=False),
        sa.CheckConstraint(
            "atobarai_ng_policy IN ('hold', 'cancel')", name=op.f("ck_payment_settings_ng_policy")
        ),
        sa.CheckConstraint(
            "bank_account_type IN ('ordinary', 'checking')",
            name=op.f("ck_payment_settings_account_type"),
        ),
        sa.CheckConstraint(
            "konbini_expiry_days BETWEEN 1 AND 30", name=op.f("ck_payment_settings_konbini_expiry")
        ),
        sa.CheckConstraint(
            "reminder_after_days BETWEEN 1 AND 60", name=op.f("ck_payment_settings_reminder_after")
        ),
        sa.CheckConstraint(
            "transfer_due_days BETWEEN 1 AND 60", name=op.f("ck_payment_settings_transfer_due")
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_payment_settings")),
    )
    op.create_table(
        "bank_statement_line",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column(
            "id", sa.BigInteger(), sa.Identity(always=False), autoincrement=True, nullable=False
        ),
        sa.Column("statement_id", sa.BigInteger(), nullable=False),
        sa.Column("row_no", sa.Integer(), nullable=False),
        sa.Column("line_key", sa.LargeBinary(), nullable=False),
        sa.Column("value_date", sa.Date(), nullable=False),
        sa.Column("amount_yen", sa.BigInteger(), nullable=False),
        sa.Column("remitter", sa.String(length=100), nullable=False),
        sa.Column("remitter_key", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("review_reason", sa.String(length=10), nullable=True),
        sa.Column("surplus_yen", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by_name", sa.String(length=200), nullable=False),
        sa.CheckConstraint(
            "review_reason IS NULL OR review_reason IN ('ambiguous', 'short', 'over', 'bundled', 'unknown')",
            name=op.f("ck_bank_statement_line_review_reason"),
        ),
        sa.CheckConstraint(
            "status IN ('review', 'matched', 'ignored')", name=op.f("ck_bank_statement_line_status")
        ),
        sa.CheckConstraint(
            "amount_yen > 0 AND surplus_yen >= 0", name=op.f("ck_bank_statement_line_amounts")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "statement_id"],
            ["bank_statement.tenant_id", "bank_statement.id"],
            name=op.f("fk_bank_statement_line_tenant_id_statement_id_bank_statement"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_bank_statement_line")),
        sa.UniqueConstraint(
            "tenant_id", "line_key", name=op.f("uq_bank_statement_line_tenant_id_line_key")
        ),
    )
    op.create_index(
        "ix_bank_statement_line_tenant_id_statement_id_row_no",
        "bank_statement_line",
        ["tenant_id", "statement_id", "row_no"],
        unique=False,
    )
    op.create_index(
        "ix_bank_statement_line_tenant_id_status_value_date",
        "bank_statement_line",
        ["tenant_id", "status", "value_date"],
        unique=False,
    )
    op.create_table(
        "order_confirmation_mail",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("locale", sa.String(length=2), nullable=False),
        sa.Column("sends", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("message_id", sa.String(length=255), nullable=True),
        sa.Column("last_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "order_id"],
            ["sales_order.tenant_id", "sales_order.id"],
            name=op.f("fk_order_confirmation_mail_tenant_id_order_id_sales_order"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "order_id", name=op.f("pk_order_confirmation_mail")),
    )
    op.create_table(
        "payment_event",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column(
            "id", sa.BigInteger(), sa.Identity(always=False), autoincrement=True, nullable=False
        ),
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount_yen", sa.BigInteger(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("actor_label", sa.String(length=200), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("digest", sa.LargeBinary(), nullable=False),
        sa.Column("effect", sa.String(length=16), nullable=False),
        sa.CheckConstraint(
            "kind IN ('authorized', 'paid', 'refunded', 'voided', 'credit_ok', 'credit_ng', 'credit_hold')",
            name=op.f("ck_payment_event_kind"),
        ),
        sa.CheckConstraint("source IN ('api', 'portal')", name=op.f("ck_payment_event_source")),
        sa.CheckConstraint(
            "amount_yen IS NULL OR amount_yen > 0", name=op.f("ck_payment_event_amount")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "order_id"],
            ["sales_order.tenant_id", "sales_order.id"],
            name=op.f("fk_payment_event_tenant_id_order_id_sales_order"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_payment_event")),
        sa.UniqueConstraint(
            "tenant_id", "event_id", name=op.f("uq_payment_event_tenant_id_event_id")
        ),
    )
    op.create_index(
        "ix_payment_event_tenant_id_order_id",
        "payment_event",
        ["tenant_id", "order_id"],
        unique=False,
    )
    op.create_table(
        "payment_match",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column(
            "id", sa.BigInteger(), sa.Identity(always=False), autoincrement=True, nullable=False
        ),
        sa.Column("line_id", sa.BigInteger(), nullable=False),
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("amount_yen", sa.BigInteger(), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("matched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("matched_by_name", sa.String(length=200), nullable=False),
        sa.Column("undone_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("undone_by_name", sa.String(length=200), nullable=False),
        sa.CheckConstraint("method IN ('auto', 'manual')", name=op.f("ck_payment_match_method")),
        sa.CheckConstraint("amount_yen > 0", name=op.f("ck_payment_match_amount")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "line_id"],
            ["bank_statement_line.tenant_id", "bank_statement_line.id"],
            name=op.f("fk_payment_match_tenant_id_line_id_bank_statement_line"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "order_id"],
            ["sales_order.tenant_id", "sales_order.id"],
            name=op.f("fk_payment_match_tenant_id_order_id_sales_order"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_payment_match")),
    )
    op.create_index(
        "ix_payment_match_tenant_id_line_id",
        "payment_match",
        ["tenant_id", "line_id"],
        unique=False,
    )
    op.create_index(
        "ix_payment_match_tenant_id_order_id",
        "payment_match",
        ["tenant_id", "order_id"],
        unique=False,
    )
    for table in TABLES:
        enable_tenant_rls(table)


def downgrade() -> None:
    op.drop_index("ix_payment_match_tenant_id_order_id", table_name="payment_match")
    op.drop_index("ix_payment_match_tenant_id_line_id", table_name="payment_match")
    op.drop_table("payment_match")
    op.drop_index("ix_payment_event_tenant_id_order_id", table_name="payment_event")
    op.drop_table("payment_event")
    op.drop_table("order_confirmation_mail")
    op.drop_index(
        "ix_bank_statement_line_tenant_id_status_value_date", table_name="bank_statement_line"
    )
    op.drop_index(
        "ix_bank_statement_line_tenant_id_statement_id_row_no", table_name="bank_statement_line"
    )
    op.drop_table("bank_statement_line")
    op.drop_table("payment_settings")
    op.drop_table("mail_template")
    op.drop_index("ix_bank_statement_tenant_id_uploaded_at", table_name="bank_statement")
    op.drop_table("bank_statement")
