"""Orders and their lines (tenant-owned); the idempotency keys of the order API."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from urakata.platform.db import Base, TenantOwned, row_id, utcnow
from urakata.platform.db import one_of as _in

CHANNELS = ("shopify", "rakuten", "amazon", "csv", "api", "manual")
STATUSES = (
    "received",
    "on_hold",
    "confirmed",
    "released",
    "allocated",
    "instructed",  # shipments made (urakata.tenants.fulfilment)
    "inspected",  # every shipment picked and scan-checked
    "packed",
    "shipped",
    "cancelled",
)
PAYMENT_METHODS = ("card", "bank_transfer", "cod", "konbini", "atobarai", "other")
PAYMENT_STATUSES = ("unpaid", "authorized", "paid", "refunded")
# Delivery time slots: 午前中, 12–14 (Sagawa, Japan Post), 14–16, 16–18, 18–20, 19–21.
DELIVERY_SLOTS = ("am", "12-14", "14-16", "16-18", "18-20", "19-21")


class Order(TenantOwned, Base):
    """One order of one shop. Money is integer yen, prices tax-included (総額表示)."""

    __tablename__ = "sales_order"
    __table_args__ = (
        UniqueConstraint("tenant_id", "channel", "external_id"),
        Index("ix_sales_order_tenant_id_status_ship_by_at", "tenant_id", "status", "ship_by_at"),
        Index("ix_sales_order_tenant_id_ordered_at", "tenant_id", "ordered_at"),
        Index("ix_sales_order_tenant_id_duplicate_key", "tenant_id", "duplicate_key"),
        # The few orders with a hold reason, newest first: the list's hold filter reads these
        # instead of every order of the shop.
        Index(
            "ix_sales_order_tenant_id_id_held",
            "tenant_id",
            "id",
            postgresql_where=text("holds <> '[]'::jsonb"),
        ),
        CheckConstraint(_in("channel", CHANNELS), name="channel"),
        CheckConstraint(_in("status", STATUSES), name="status"),
        CheckConstraint(_in("payment_method", PAYMENT_METHODS), name="payment_method"),
        CheckConstraint(_in("payment_status", PAYMENT_STATUSES), name="payment_status"),
        CheckConstraint(
            "items_yen >= 0 AND shipping_fee_yen >= 0 AND fee_yen >= 0 AND discount_yen >= 0"
            " AND total_yen >= 0 AND tax_8_yen >= 0 AND tax_10_yen >= 0",
            name="money",
        ),
    )

    id: Mapped[int] = row_id()
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    ordered_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default="received")
    holds: Mapped[list] = mapped_column(JSONB, default=list)  # [{code, field, msgid, params}]
    version: Mapped[int] = mapped_column(Integer, default=1)

    customer_name: Mapped[str] = mapped_column(String(100))
    customer_kana: Mapped[str] = mapped_column(String(100), default="")
    customer_email: Mapped[str] = mapped_column(String(254), default="")
    customer_phone: Mapped[str] = mapped_column(String(20), default="")

    ship_name: Mapped[str] = mapped_column(String(100))
    ship_postal_code: Mapped[str] = mapped_column(String(16))
    ship_prefecture: Mapped[str] = mapped_column(String(40))  # JIS code "01"…"47" once known
    ship_city: Mapped[str] = mapped_column(String(100))
    ship_street: Mapped[str] = mapped_column(String(200))
    ship_building: Mapped[str] = mapped_column(String(200), default="")
    ship_phone: Mapped[str] = mapped_column(String(20))

    delivery_date: Mapped[date | None] = mapped_column(Date)
    delivery_slot: Mapped[str | None] = mapped_column(String(8))
    gift_wrap: Mapped[bool] = mapped_column(Boolean, default=False)
    noshi: Mapped[str] = mapped_column(String(100), default="")

    payment_method: Mapped[str] = mapped_column(String(16))
    payment_status: Mapped[str] = mapped_column(String(16), default="unpaid")
    items_yen: Mapped[int] = mapped_column(BigInteger)
    shipping_fee_yen: Mapped[int] = mapped_column(BigInteger, default=0)
    fee_yen: Mapped[int] = mapped_column(BigInteger, default=0)  # COD or konbini fee
    discount_yen: Mapped[int] = mapped_column(BigInteger, default=0)
    total_yen: Mapped[int] = mapped_column(BigInteger)
    tax_8_yen: Mapped[int] = mapped_column(BigInteger, default=0)  # included in the total
    tax_10_yen: Mapped[int] = mapped_column(BigInteger, default=0)
    notes: Mapped[str] = mapped_column(Text, default="")

    duplicate_key: Mapped[bytes] = mapped_column(LargeBinary)  # customer + address + lines
    shippable_at: Mapped[datetime | None]
    ship_by_date: Mapped[date | None] = mapped_column(Date)
    ship_by_at: Mapped[datetime | None]
    confirmed_at: Mapped[datetime | None]
    released_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order",
        cascade="all, delete-orphan",
        order_by="OrderLine.line_no",
        lazy="selectin",
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def hold_codes(self) -> list[str]:
        return [h["code"] for h in self.holds]


class OrderLine(TenantOwned, Base):
    __tablename__ = "order_line"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "order_id"], ["sales_order.tenant_id", "sales_order.id"],
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(["tenant_id", "product_id"], ["product.tenant_id", "product.id"]),
        UniqueConstraint("tenant_id", "order_id", "line_no"),
        Index("ix_order_line_tenant_id_sku", "tenant_id", "sku"),
        CheckConstraint("quantity > 0", name="quantity"),
        CheckConstraint("unit_price_yen >= 0", name="unit_price"),
        CheckConstraint("tax_rate IN (8, 10)", name="tax_rate"),
    )  # fmt: skip

    id: Mapped[int] = row_id()
    order_id: Mapped[int] = mapped_column(BigInteger)
    line_no: Mapped[int] = mapped_column(Integer)
    sku: Mapped[str] = mapped_column(String(64))
    product_id: Mapped[int | None] = mapped_column(BigInteger)  # None: unknown SKU (a hold)
    name: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_yen: Mapped[int] = mapped_column(BigInteger)
    tax_rate: Mapped[int] = mapped_column(Integer)
    amount_yen: Mapped[int] = mapped_column(BigInteger)

    order: Mapped[Order] = relationship(back_populates="lines")


class IdempotencyKey(TenantOwned, Base):
    """An API request's key, the digest of its body and the answer it got (replayed)."""

    __tablename__ = "idempotency_key"
    __table_args__ = (Index("ix_idempotency_key_tenant_id_created_at", "tenant_id", "created_at"),)

    scope: Mapped[str] = mapped_column(String(32), primary_key=True)  # e.g. "orders.create"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_digest: Mapped[bytes] = mapped_column(LargeBinary)
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
