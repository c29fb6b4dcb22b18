"""shipping: packing, slips, carrier files, tracking, handover

Revision ID: c6a0dce5000f
Revises: b5f9cbd4000e
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from urakata.platform.migration_support import enable_tenant_rls

revision = "c6a0dce5000f"
down_revision = "b5f9cbd4000e"
branch_labels = None
depends_on = None

# In creation order (handover before the packages that refer to it); dropped in reverse.
TABLES = (
    "carrier_column_map",
    "handover",
    "shipping_settings",
    "slip_document",
    "tracking_import",
    "shipment_package",
    "shipment_tracking",
    "shipped_mail",
    "shopify_fulfilment",
    "unpack_task",
)


def upgrade() -> None:
    op.create_table(
        "carrier_column_map",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("format", sa.String(length=32), nullable=False),
        sa.Column("columns", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by_name", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "format", name=op.f("pk_carrier_column_map")),
    )
    op.create_table(
        "handover",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column(
            "id", sa.BigInteger(), sa.Identity(always=False), autoincrement=True, nullable=False
        ),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("carrier", sa.String(length=16), nullable=False),
        sa.Column("request_key", sa.String(length=100), nullable=False),
        sa.Column("handed_over_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("parcel_count", sa.Integer(), nullable=False),
        sa.Column("cool_counts", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("size_counts", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("cod_count", sa.Integer(), nullable=False),
        sa.Column("cod_total_yen", sa.BigInteger(), nullable=False),
        sa.Column("handed_over_by", sa.String(length=200), nullable=False),
        sa.CheckConstraint(
            "carrier IN ('yamato', 'sagawa', 'japan_post')", name=op.f("ck_handover_carrier")
        ),
        sa.CheckConstraint(
            "parcel_count > 0 AND cod_count >= 0 AND cod_total_yen >= 0",
            name=op.f("ck_handover_counts"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_handover")),
        sa.UniqueConstraint("tenant_id", "number", name=op.f("uq_handover_tenant_id_number")),
        sa.UniqueConstraint(
            "tenant_id", "request_key", name=op.f("uq_handover_tenant_id_request_key")
        ),
    )
    op.create_index(
        "ix_handover_tenant_id_handed_over_at",
        "handover",
        ["tenant_id", "handed_over_at"],
        unique=False,
    )
    op.create_table(
        "shipping_settings",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("slip_message", sa.Text(), nullable=False),
        sa.Column("slip_hide_prices", sa.Boolean(), nullable=False),
        sa.Column("label_item_name", sa.String(length=50), nullable=False),
        sa.Column("shopify_shop_domain", sa.String(length=255), nullable=False),
        sa.Column("shopify_access_token", sa.String(length=200), nullable=False),
        sa.Column("shopify_fulfilment_enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by_name", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_shipping_settings")),
    )
    op.create_table(
        "slip_document",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column(
            "id", sa.BigInteger(), sa.Identity(always=False), autoincrement=True, nullable=False
        ),
        sa.Column("wave_id", sa.BigInteger(), nullable=True),
        sa.Column("shipment_id", sa.BigInteger(), nullable=True),
        sa.Column("task_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=True),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("rendered_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('rendering', 'ready', 'failed')", name=op.f("ck_slip_document_status")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_slip_document")),
    )
    op.create_index(
        "ix_slip_document_tenant_id_wave_id",
        "slip_document",
        ["tenant_id", "wave_id"],
        unique=False,
    )
    op.create_table(
        "tracking_import",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column(
            "id", sa.BigInteger(), sa.Identity(always=False), autoincrement=True, nullable=False
        ),
        sa.Column("carrier", sa.String(length=16), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("uploaded_by", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("applied_count", sa.Integer(), nullable=False),
        sa.Column("unchanged_count", sa.Integer(), nullable=False),
        sa.Column("problems", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("problem_count", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "carrier IN ('yamato', 'sagawa', 'japan_post')", name=op.f("ck_tracking_import_carrier")
        ),
        sa.CheckConstraint(
            "status IN ('applied', 'refused')", name=op.f("ck_tracking_import_status")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_tracking_import")),
    )
    op.create_index(
        "ix_tracking_import_tenant_id_uploaded_at",
        "tracking_import",
        ["tenant_id", "uploaded_at"],
        unique=False,
    )
    op.create_table(
        "shipment_package",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("shipment_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("suggested_size", sa.Integer(), nullable=True),
        sa.Column("box_size", sa.Integer(), nullable=False),
        sa.Column("weight_g", sa.Integer(), nullable=False),
        sa.Column("weight_source", sa.String(length=10), nullable=False),
        sa.Column("materials", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("packed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("packed_by", sa.String(length=200), nullable=False),
        sa.Column("request_key", sa.String(length=100), nullable=False),
        sa.Column("handover_id", sa.BigInteger(), nullable=True),
        sa.Column("shipped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "status IN ('packed', 'unpacked', 'shipped')", name=op.f("ck_shipment_package_status")
        ),
        sa.CheckConstraint(
            "weight_source IN ('products', 'entered')",
            name=op.f("ck_shipment_package_weight_source"),
        ),
        sa.CheckConstraint(
            "box_size IN (60, 80, 100, 120, 140, 160)", name=op.f("ck_shipment_package_box_size")
        ),
        sa.CheckConstraint(
            "weight_g > 0 AND weight_g <= 30000", name=op.f("ck_shipment_package_weight")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "handover_id"],
            ["handover.tenant_id", "handover.id"],
            name=op.f("fk_shipment_package_tenant_id_handover_id_handover"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "shipment_id"],
            ["shipment.tenant_id", "shipment.id"],
            name=op.f("fk_shipment_package_tenant_id_shipment_id_shipment"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "shipment_id", name=op.f("pk_shipment_package")),
    )
    op.create_index(
        "ix_shipment_package_tenant_id_handover_id",
        "shipment_package",
        ["tenant_id", "handover_id"],
        unique=False,
    )
    op.create_index(
        "ix_shipment_package_tenant_id_status",
        "shipment_package",
        ["tenant_id", "status"],
        unique=False,
    )
    op.create_table(
        "shipment_tracking",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("shipment_id", sa.BigInteger(), nullable=False),
        sa.Column("carrier", sa.String(length=16), nullable=False),
        sa.Column("tracking_no", sa.String(length=12), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("import_id", sa.BigInteger(), nullable=True),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("set_by", sa.String(length=200), nullable=False),
        sa.CheckConstraint(
            "carrier IN ('yamato', 'sagawa', 'japan_post')",
            name=op.f("ck_shipment_tracking_carrier"),
        ),
        sa.CheckConstraint(
            "source IN ('import', 'manual')", name=op.f("ck_shipment_tracking_source")
        ),
        sa.CheckConstraint(
            "tracking_no ~ '^[0-9]{12}$'", name=op.f("ck_shipment_tracking_tracking_no")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "shipment_id"],
            ["shipment.tenant_id", "shipment.id"],
            name=op.f("fk_shipment_tracking_tenant_id_shipment_id_shipment"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "shipment_id", name=op.f("pk_shipment_tracking")),
        sa.UniqueConstraint(
            "tenant_id",
            "carrier",
            "tracking_no",
            name=op.f("uq_shipment_tracking_tenant_id_carrier_tracking_no"),
        ),
    )
    op.create_table(
        "shipped_mail",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("shipment_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("locale", sa.String(length=2), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("message_id", sa.String(length=255), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('queued', 'sent', 'failed', 'no_address', 'skipped')",
            name=op.f("ck_shipped_mail_status"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "shipment_id"],
            ["shipment.tenant_id", "shipment.id"],
            name=op.f("fk_shipped_mail_tenant_id_shipment_id_shipment"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "shipment_id", name=op.f("pk_shipped_mail")),
    )
    op.create_table(
        "shopify_fulfilment",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("shipment_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("remote_id", sa.String(length=64), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('queued', 'posted', 'failed', 'skipped')",
            name=op.f("ck_shopify_fulfilment_status"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "shipment_id"],
            ["shipment.tenant_id", "shipment.id"],
            name=op.f("fk_shopify_fulfilment_tenant_id_shipment_id_shipment"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "shipment_id", name=op.f("pk_shopify_fulfilment")),
    )
    op.create_table(
        "unpack_task",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column(
            "id", sa.BigInteger(), sa.Identity(always=False), autoincrement=True, nullable=False
        ),
        sa.Column("shipment_id", sa.BigInteger(), nullable=False),
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("box_size", sa.Integer(), nullable=False),
        sa.Column("lines", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_by", sa.String(length=200), nullable=False),
        sa.CheckConstraint("status IN ('open', 'done')", name=op.f("ck_unpack_task_status")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "shipment_id"],
            ["shipment.tenant_id", "shipment.id"],
            name=op.f("fk_unpack_task_tenant_id_shipment_id_shipment"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_unpack_task")),
        sa.UniqueConstraint(
            "tenant_id", "shipment_id", name=op.f("uq_unpack_task_tenant_id_shipment_id")
        ),
    )
    op.create_index(
        "ix_unpack_task_tenant_id_status", "unpack_task", ["tenant_id", "status"], unique=False
    )

    for table in TABLES:
        enable_tenant_rls(table)


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
