"""catalog: products and their barcodes

Revision ID: f6d1a3b00006
Revises: e5c0f2a00005
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from urakata.platform.migration_support import enable_tenant_rls

revision = "f6d1a3b00006"
down_revision = "e5c0f2a00005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "product",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("jan", sa.String(length=14), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("price_yen", sa.Integer(), nullable=False),
        sa.Column("tax_rate", sa.Integer(), nullable=False),
        sa.Column("sale_starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("length_mm", sa.Integer(), nullable=True),
        sa.Column("width_mm", sa.Integer(), nullable=True),
        sa.Column("height_mm", sa.Integer(), nullable=True),
        sa.Column("weight_g", sa.Integer(), nullable=True),
        sa.Column("size_class", sa.Integer(), nullable=True),
        sa.Column("temperature_zone", sa.String(length=8), nullable=False),
        sa.Column("lot_tracked", sa.Boolean(), nullable=False),
        sa.Column("case_quantity", sa.Integer(), nullable=True),
        sa.Column("case_itf14", sa.String(length=14), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("coalesce(case_quantity, 1) > 0", name=op.f("ck_product_case_quantity")),
        sa.CheckConstraint(
            "coalesce(length_mm, 1) > 0 AND coalesce(width_mm, 1) > 0"
            " AND coalesce(height_mm, 1) > 0 AND coalesce(weight_g, 1) > 0",
            name=op.f("ck_product_dimensions"),
        ),
        sa.CheckConstraint("price_yen >= 0", name=op.f("ck_product_price")),
        sa.CheckConstraint(
            "status IN ('draft', 'active', 'discontinued')", name=op.f("ck_product_status")
        ),
        sa.CheckConstraint("tax_rate IN (8, 10)", name=op.f("ck_product_tax_rate")),
        sa.CheckConstraint(
            "temperature_zone IN ('ambient', 'chilled', 'frozen')",
            name=op.f("ck_product_temperature_zone"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_product")),
        sa.UniqueConstraint("tenant_id", "sku", name=op.f("uq_product_tenant_id_sku")),
    )
    op.create_index("ix_product_tenant_id_status", "product", ["tenant_id", "status"])
    op.create_index("ix_product_tenant_id_updated_at", "product", ["tenant_id", "updated_at", "id"])
    op.create_table(
        "product_barcode",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("product_id", sa.BigInteger(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.CheckConstraint(
            "kind IN ('jan', 'gtin8', 'itf14', 'shop')", name=op.f("ck_product_barcode_kind")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "product_id"],
            ["product.tenant_id", "product.id"],
            name=op.f("fk_product_barcode_tenant_id_product"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_product_barcode")),
        sa.UniqueConstraint("tenant_id", "code", name=op.f("uq_product_barcode_tenant_id_code")),
    )
    op.create_index(
        "ix_product_barcode_tenant_id_product_id", "product_barcode", ["tenant_id", "product_id"]
    )
    enable_tenant_rls("product")
    enable_tenant_rls("product_barcode")


def downgrade() -> None:
    op.drop_table("product_barcode")
    op.drop_table("product")
