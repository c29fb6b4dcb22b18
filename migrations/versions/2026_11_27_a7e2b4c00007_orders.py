"""orders: sales orders and their lines, API idempotency keys, the agency's closed days

Revision ID: a7e2b4c00007
Revises: f6d1a3b00006
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from urakata.platform.migration_support import enable_tenant_rls, grant_app

revision = "a7e2b4c00007"
down_revision = "f6d1a3b00006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agency_closed_day",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_agency_closed_day")),
    )
    op.create_table(
        "idempotency_key",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("scope", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("request_digest", sa.LargeBinary(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "scope", "key", name=op.f("pk_idempotency_key")),
    )
    op.create_index(
        "ix_idempotency_key_tenant_id_created_at",
        "idempotency_key",
        ["tenant_id", "created_at"],
        unique=False,
    )
    op.create_table(
        "sales_order",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("ordered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("holds", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("customer_name", sa.String(length=100), nullable=False),
        sa.Column("customer_kana", sa.String(length=100), nullable=False),
        sa.Column("customer_email", sa.String(length=254), nullable=False),
        sa.Column("customer_phone", sa.String(length=20), nullable=False),
        sa.Column("ship_name", sa.String(length=100), nullable=False),
        sa.Column("ship_postal_code", sa.String(length=16), nullable=False),
        sa.Column("ship_prefecture", sa.String(length=40), nullable=False),
        sa.Column("ship_city", sa.String(length=100), nullable=False),
        sa.Column("ship_street", sa.String(length=200), nullable=False),
        sa.Column("ship_building", sa.String(length=200), nullable=False),
        sa.Column("ship_phone", sa.String(length=20), nullable=False),
        sa.Column("delivery_date", sa.Date(), nullable=True),
        sa.Column("delivery_slot", sa.String(length=8), nullable=True),
        sa.Column("gift_wrap", sa.Boolean(), nullable=False),
        sa.Column("noshi", sa.String(length=100), nullable=False),
        sa.Column("payment_method", sa.String(length=16), nullable=False),
        sa.Column("payment_status", sa.String(length=16), nullable=False),
        sa.Column("items_yen", sa.BigInteger(), nullable=False),
        sa.Column("shipping_fee_yen", sa.BigInteger(), nullable=False),
        sa.Column("fee_yen", sa.BigInteger(), nullable=False),
        sa.Column("discount_yen", sa.BigInteger(), nullable=False),
        sa.Column("total_yen", sa.BigInteger(), nullable=False),
        sa.Column("tax_8_yen", sa.BigInteger(), nullable=False),
        sa.Column("tax_10_yen", sa.BigInteger(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("duplicate_key", sa.LargeBinary(), nullable=False),
        sa.Column("shippable_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ship_by_date", sa.Date(), nullable=True),
        sa.Column("ship_by_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancel_reason", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "channel IN ('shopify', 'rakuten', 'amazon', 'csv', 'api', 'manual')",
            name=op.f("ck_sales_order_channel"),
        ),
        sa.CheckConstraint(
            "payment_method IN ('card', 'bank_transfer', 'cod', 'konbini', 'atobarai', 'other')",
            name=op.f("ck_sales_order_payment_method"),
        ),
        sa.CheckConstraint(
            "payment_status IN ('unpaid', 'authorized', 'paid', 'refunded')",
            name=op.f("ck_sales_order_payment_status"),
        ),
        sa.CheckConstraint(
            "status IN ('received', 'on_hold', 'confirmed', 'released', 'cancelled')",
            name=op.f("ck_sales_order_status"),
        ),
        sa.CheckConstraint(
            "items_yen >= 0 AND shipping_fee_yen >= 0 AND fee_yen >= 0 AND discount_yen >= 0 AND total_yen >= 0 AND tax_8_yen >= 0 AND tax_10_yen >= 0",
            name=op.f("ck_sales_order_money"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_sales_order")),
        sa.UniqueConstraint(
            "tenant_id",
            "channel",
            "external_id",
            name=op.f("uq_sales_order_tenant_id_channel_external_id"),
        ),
    )
    op.create_index(
        "ix_sales_order_tenant_id_duplicate_key",
        "sales_order",
        ["tenant_id", "duplicate_key"],
        unique=False,
    )
    op.create_index(
        "ix_sales_order_tenant_id_ordered_at",
        "sales_order",
        ["tenant_id", "ordered_at"],
        unique=False,
    )
    op.create_index(
        "ix_sales_order_tenant_id_status_ship_by_at",
        "sales_order",
        ["tenant_id", "status", "ship_by_at"],
        unique=False,
    )
    op.create_table(
        "order_line",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.BigInteger(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price_yen", sa.BigInteger(), nullable=False),
        sa.Column("tax_rate", sa.Integer(), nullable=False),
        sa.Column("amount_yen", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_order_line_quantity")),
        sa.CheckConstraint("tax_rate IN (8, 10)", name=op.f("ck_order_line_tax_rate")),
        sa.CheckConstraint("unit_price_yen >= 0", name=op.f("ck_order_line_unit_price")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "product_id"],
            ["product.tenant_id", "product.id"],
            name=op.f("fk_order_line_tenant_id_product_id_product"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "order_id"],
            ["sales_order.tenant_id", "sales_order.id"],
            name=op.f("fk_order_line_tenant_id_order_id_sales_order"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_order_line")),
        sa.UniqueConstraint(
            "tenant_id",
            "order_id",
            "line_no",
            name=op.f("uq_order_line_tenant_id_order_id_line_no"),
        ),
    )
    op.create_index("ix_order_line_tenant_id_sku", "order_line", ["tenant_id", "sku"], unique=False)
    grant_app("agency_closed_day")
    enable_tenant_rls("idempotency_key")
    enable_tenant_rls("sales_order")
    enable_tenant_rls("order_line")


def downgrade() -> None:
    op.drop_index("ix_order_line_tenant_id_sku", table_name="order_line")
    op.drop_table("order_line")
    op.drop_index("ix_sales_order_tenant_id_status_ship_by_at", table_name="sales_order")
    op.drop_index("ix_sales_order_tenant_id_ordered_at", table_name="sales_order")
    op.drop_index("ix_sales_order_tenant_id_duplicate_key", table_name="sales_order")
    op.drop_table("sales_order")
    op.drop_index("ix_idempotency_key_tenant_id_created_at", table_name="idempotency_key")
    op.drop_table("idempotency_key")
    op.drop_table("agency_closed_day")
