"""Products and their barcodes (tenant-owned)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from urakata.platform.db import Base, TenantOwned, row_id, utcnow

STATUSES = ("draft", "active", "discontinued")
TEMPERATURE_ZONES = ("ambient", "chilled", "frozen")
TAX_RATES = (10, 8)
BARCODE_KINDS = ("jan", "gtin8", "itf14", "shop")


class Product(TenantOwned, Base):
    __tablename__ = "product"
    __table_args__ = (
        UniqueConstraint("tenant_id", "sku"),
        Index("ix_product_tenant_id_updated_at", "tenant_id", "updated_at", "id"),
        Index("ix_product_tenant_id_status", "tenant_id", "status"),
        CheckConstraint("price_yen >= 0", name="price"),
        CheckConstraint("tax_rate IN (8, 10)", name="tax_rate"),
        CheckConstraint("status IN ('draft', 'active', 'discontinued')", name="status"),
        CheckConstraint(
            "temperature_zone IN ('ambient', 'chilled', 'frozen')", name="temperature_zone"
        ),
        CheckConstraint(
            "coalesce(length_mm, 1) > 0 AND coalesce(width_mm, 1) > 0"
            " AND coalesce(height_mm, 1) > 0 AND coalesce(weight_g, 1) > 0",
            name="dimensions",
        ),
        CheckConstraint("coalesce(case_quantity, 1) > 0", name="case_quantity"),
    )

    id: Mapped[int] = row_id()
    sku: Mapped[str] = mapped_column(String(64))
    jan: Mapped[str | None] = mapped_column(String(14))
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    price_yen: Mapped[int] = mapped_column(Integer)
    tax_rate: Mapped[int] = mapped_column(Integer, default=10)
    sale_starts_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16), default="draft")
    length_mm: Mapped[int | None] = mapped_column(Integer)
    width_mm: Mapped[int | None] = mapped_column(Integer)
    height_mm: Mapped[int | None] = mapped_column(Integer)
    weight_g: Mapped[int | None] = mapped_column(Integer)
    size_class: Mapped[int | None] = mapped_column(Integer)  # 60…160; NULL unknown or over
    temperature_zone: Mapped[str] = mapped_column(String(8), default="ambient")
    lot_tracked: Mapped[bool] = mapped_column(default=False)
    case_quantity: Mapped[int | None] = mapped_column(Integer)
    case_itf14: Mapped[str | None] = mapped_column(String(14))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    # The ORM bumps it and updates only WHERE version = the loaded one (409 otherwise).
    __mapper_args__ = {"version_id_col": version}

    barcodes: Mapped[list[ProductBarcode]] = relationship(
        back_populates="product",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="ProductBarcode.id",
    )


class ProductBarcode(TenantOwned, Base):
    """Every code that identifies a product in the shop: its JAN, a case ITF-14, the
    shop's own codes. A code belongs to one product per shop."""

    __tablename__ = "product_barcode"
    __table_args__ = (
        UniqueConstraint("tenant_id", "code"),
        ForeignKeyConstraint(
            ["tenant_id", "product_id"], ["product.tenant_id", "product.id"], ondelete="CASCADE"
        ),
        Index("ix_product_barcode_tenant_id_product_id", "tenant_id", "product_id"),
        CheckConstraint("kind IN ('jan', 'gtin8', 'itf14', 'shop')", name="kind"),
    )

    id: Mapped[int] = row_id()
    product_id: Mapped[int] = mapped_column(BigInteger)
    code: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(8))

    product: Mapped[Product] = relationship(back_populates="barcodes")
