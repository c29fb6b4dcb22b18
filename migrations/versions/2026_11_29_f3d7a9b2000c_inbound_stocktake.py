"""inbound_stocktake: inbound notices, receiving, stocktakes

Revision ID: f3d7a9b2000c
Revises: e2c6f8a1000b
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from urakata.platform.migration_support import enable_tenant_rls

revision = "f3d7a9b2000c"
down_revision = "e2c6f8a1000b"
branch_labels = None
depends_on = None

TABLES = (
    "inbound_notice",
    "inbound_line",
    "inbound_item",
    "inbound_comment",
    "stocktake",
    "stocktake_line",
    "stocktake_count",
)


def upgrade() -> None:
    op.create_table(
        "inbound_notice",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column(
            "id", sa.BigInteger(), sa.Identity(always=False), autoincrement=True, nullable=False
        ),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("expected_on", sa.Date(), nullable=False),
        sa.Column("carrier", sa.String(length=40), nullable=False),
        sa.Column("tracking_number", sa.String(length=40), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("arrived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stocked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("dock_to_stock_seconds", sa.Integer(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=200), nullable=False),
        sa.Column("discrepancy", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("has_discrepancy", sa.Boolean(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "source IN ('portal', 'csv', 'api')", name=op.f("ck_inbound_notice_source")
        ),
        sa.CheckConstraint(
            "status IN ('open', 'receiving', 'closed', 'cancelled')",
            name=op.f("ck_inbound_notice_status"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_inbound_notice")),
        sa.UniqueConstraint(
            "tenant_id", "idempotency_key", name=op.f("uq_inbound_notice_tenant_id_idempotency_key")
        ),
        sa.UniqueConstraint("tenant_id", "number", name=op.f("uq_inbound_notice_tenant_id_number")),
    )
    op.create_index(
        "ix_inbound_notice_tenant_id_status_id",
        "inbound_notice",
        ["tenant_id", "status", "id"],
        unique=False,
    )
    op.create_table(
        "stocktake",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column(
            "id", sa.BigInteger(), sa.Identity(always=False), autoincrement=True, nullable=False
        ),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("scope", sa.String(length=12), nullable=False),
        sa.Column("scope_detail", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("blind", sa.Boolean(), nullable=False),
        sa.Column("recount_threshold", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("planned_by", sa.String(length=200), nullable=False),
        sa.Column("planned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("variance_value_yen", sa.Integer(), nullable=False),
        sa.Column("shop_threshold_yen", sa.Integer(), nullable=True),
        sa.Column("agency_approved_by", sa.String(length=200), nullable=False),
        sa.Column("agency_approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("shop_decided_by", sa.String(length=200), nullable=False),
        sa.Column("shop_decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("shop_comment", sa.Text(), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "scope IN ('bins', 'skus', 'top_movers', 'full')", name=op.f("ck_stocktake_scope")
        ),
        sa.CheckConstraint(
            "status IN ('counting', 'review', 'shop_review', 'posted', 'disputed', 'cancelled')",
            name=op.f("ck_stocktake_status"),
        ),
        sa.CheckConstraint("recount_threshold >= 0", name=op.f("ck_stocktake_recount_threshold")),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_stocktake")),
        sa.UniqueConstraint("tenant_id", "number", name=op.f("uq_stocktake_tenant_id_number")),
    )
    op.create_index(
        "ix_stocktake_tenant_id_status_id", "stocktake", ["tenant_id", "status", "id"], unique=False
    )
    op.create_table(
        "inbound_comment",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column(
            "id", sa.BigInteger(), sa.Identity(always=False), autoincrement=True, nullable=False
        ),
        sa.Column("notice_id", sa.BigInteger(), nullable=False),
        sa.Column("side", sa.String(length=8), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=True),
        sa.Column("author_name", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("side IN ('shop', 'agency')", name=op.f("ck_inbound_comment_side")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "notice_id"],
            ["inbound_notice.tenant_id", "inbound_notice.id"],
            name=op.f("fk_inbound_comment_tenant_id_notice_id_inbound_notice"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_inbound_comment")),
    )
    op.create_index(
        "ix_inbound_comment_tenant_id_notice_id",
        "inbound_comment",
        ["tenant_id", "notice_id"],
        unique=False,
    )
    op.create_table(
        "inbound_line",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column(
            "id", sa.BigInteger(), sa.Identity(always=False), autoincrement=True, nullable=False
        ),
        sa.Column("notice_id", sa.BigInteger(), nullable=False),
        sa.Column("line_no", sa.SmallInteger(), nullable=False),
        sa.Column("product_id", sa.BigInteger(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("lot_no", sa.String(length=40), nullable=False),
        sa.Column("best_before", sa.Date(), nullable=True),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_inbound_line_quantity")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "notice_id"],
            ["inbound_notice.tenant_id", "inbound_notice.id"],
            name=op.f("fk_inbound_line_tenant_id_notice_id_inbound_notice"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "product_id"],
            ["product.tenant_id", "product.id"],
            name=op.f("fk_inbound_line_tenant_id_product_id_product"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_inbound_line")),
        sa.UniqueConstraint(
            "tenant_id",
            "notice_id",
            "line_no",
            name=op.f("uq_inbound_line_tenant_id_notice_id_line_no"),
        ),
    )
    op.create_index(
        "ix_inbound_line_tenant_id_product_id",
        "inbound_line",
        ["tenant_id", "product_id"],
        unique=False,
    )
    op.create_table(
        "inbound_item",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column(
            "id", sa.BigInteger(), sa.Identity(always=False), autoincrement=True, nullable=False
        ),
        sa.Column("notice_id", sa.BigInteger(), nullable=False),
        sa.Column("line_id", sa.BigInteger(), nullable=True),
        sa.Column("product_id", sa.BigInteger(), nullable=True),
        sa.Column("scanned_code", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("condition", sa.String(length=8), nullable=False),
        sa.Column("lot_no", sa.String(length=40), nullable=False),
        sa.Column("best_before", sa.Date(), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("photo", sa.LargeBinary(), nullable=True),
        sa.Column("photo_mime", sa.String(length=32), nullable=True),
        sa.Column("received_by", sa.String(length=200), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("location_id", sa.BigInteger(), nullable=True),
        sa.Column("put_away_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("put_away_by", sa.String(length=200), nullable=False),
        sa.Column("submission_key", sa.String(length=80), nullable=True),
        sa.CheckConstraint(
            "(condition = 'unknown') = (product_id IS NULL)", name=op.f("ck_inbound_item_unknown")
        ),
        sa.CheckConstraint(
            "condition IN ('good', 'damaged', 'unknown')", name=op.f("ck_inbound_item_condition")
        ),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_inbound_item_quantity")),
        sa.ForeignKeyConstraint(
            ["location_id"], ["location.id"], name=op.f("fk_inbound_item_location_id_location")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "line_id"],
            ["inbound_line.tenant_id", "inbound_line.id"],
            name=op.f("fk_inbound_item_tenant_id_line_id_inbound_line"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "notice_id"],
            ["inbound_notice.tenant_id", "inbound_notice.id"],
            name=op.f("fk_inbound_item_tenant_id_notice_id_inbound_notice"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "product_id"],
            ["product.tenant_id", "product.id"],
            name=op.f("fk_inbound_item_tenant_id_product_id_product"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_inbound_item")),
        sa.UniqueConstraint(
            "tenant_id",
            "submission_key",
            name=op.f("uq_inbound_item_tenant_id_submission_key"),
        ),
    )
    op.create_index(
        "ix_inbound_item_tenant_id_notice_id",
        "inbound_item",
        ["tenant_id", "notice_id"],
        unique=False,
    )
    op.create_table(
        "stocktake_line",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column(
            "id", sa.BigInteger(), sa.Identity(always=False), autoincrement=True, nullable=False
        ),
        sa.Column("stocktake_id", sa.BigInteger(), nullable=False),
        sa.Column("product_id", sa.BigInteger(), nullable=False),
        sa.Column("location_id", sa.BigInteger(), nullable=False),
        sa.Column("lot_no", sa.String(length=40), nullable=False),
        sa.Column("system_qty", sa.Integer(), nullable=True),
        sa.Column("counted_qty", sa.Integer(), nullable=True),
        sa.Column("counts", sa.SmallInteger(), nullable=False),
        sa.Column("recount_required", sa.Boolean(), nullable=False),
        sa.Column("counted_by", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("reason", sa.String(length=12), nullable=False),
        sa.Column("unit_price_yen", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "reason IN ('', 'miscount', 'damage', 'loss', 'found', 'mispick', 'unknown')",
            name=op.f("ck_stocktake_line_reason"),
        ),
        sa.ForeignKeyConstraint(
            ["location_id"], ["location.id"], name=op.f("fk_stocktake_line_location_id_location")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "product_id"],
            ["product.tenant_id", "product.id"],
            name=op.f("fk_stocktake_line_tenant_id_product_id_product"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "stocktake_id"],
            ["stocktake.tenant_id", "stocktake.id"],
            name=op.f("fk_stocktake_line_tenant_id_stocktake_id_stocktake"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_stocktake_line")),
        sa.UniqueConstraint(
            "tenant_id",
            "stocktake_id",
            "product_id",
            "location_id",
            "lot_no",
            name=op.f("uq_stocktake_line_tenant_id_stocktake_id_product_id_location_id_lot_no"),
        ),
    )
    op.create_table(
        "stocktake_count",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column(
            "id", sa.BigInteger(), sa.Identity(always=False), autoincrement=True, nullable=False
        ),
        sa.Column("line_id", sa.BigInteger(), nullable=False),
        sa.Column("round", sa.SmallInteger(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("system_qty", sa.Integer(), nullable=False),
        sa.Column("counted_by_id", sa.String(length=200), nullable=False),
        sa.Column("counted_by_name", sa.String(length=200), nullable=False),
        sa.Column("counted_by_user", sa.Uuid(), nullable=True),
        sa.Column("counted_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("quantity >= 0", name=op.f("ck_stocktake_count_quantity")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "line_id"],
            ["stocktake_line.tenant_id", "stocktake_line.id"],
            name=op.f("fk_stocktake_count_tenant_id_line_id_stocktake_line"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_stocktake_count")),
    )
    op.create_index(
        "ix_stocktake_count_tenant_id_line_id",
        "stocktake_count",
        ["tenant_id", "line_id"],
        unique=False,
    )
    op.add_column(
        "shop_settings",
        sa.Column(
            "sasage_on_first_receipt", sa.Boolean(), nullable=False, server_default=sa.false()
        ),
    )
    op.alter_column("shop_settings", "sasage_on_first_receipt", server_default=None)
    for table in TABLES:
        enable_tenant_rls(table)


def downgrade() -> None:
    op.drop_column("shop_settings", "sasage_on_first_receipt")
    op.drop_index("ix_stocktake_count_tenant_id_line_id", table_name="stocktake_count")
    op.drop_table("stocktake_count")
    op.drop_table("stocktake_line")
    op.drop_index("ix_inbound_item_tenant_id_notice_id", table_name="inbound_item")
    op.drop_table("inbound_item")
    op.drop_index("ix_inbound_line_tenant_id_product_id", table_name="inbound_line")
    op.drop_table("inbound_line")
    op.drop_index("ix_inbound_comment_tenant_id_notice_id", table_name="inbound_comment")
    op.drop_table("inbound_comment")
    op.drop_index("ix_stocktake_tenant_id_status_id", table_name="stocktake")
    op.drop_table("stocktake")
    op.drop_index("ix_inbound_notice_tenant_id_status_id", table_name="inbound_notice")
    op.drop_table("inbound_notice")
