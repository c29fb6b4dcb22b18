"""Stocktakes (棚卸し): counts of a shop's stock, corrected only with sign-off.

A stocktake is planned for a scope (bins, SKUs, the N SKUs that moved most, or
everything) and gets one ``stocktake_line`` per level in scope. Counters enter what
they find (blindly, if the stocktake says so); each count is kept
(``stocktake_count``), and a line whose variance is above the stocktake's threshold
must be counted again. Submitted, it waits for an agency admin who did not count it;
when the value of the variances exceeds the shop's threshold the shop approves too (or
disputes, with a comment). Only then are the adjustment movements posted.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from urakata.platform import locations  # noqa: F401 - "location", target of location_id
from urakata.platform.db import Base, TenantOwned, row_id, utcnow
from urakata.platform.db import one_of as _in
from urakata.platform.locations import Location
from urakata.tenants.catalog.models import Product

SCOPES = ("bins", "skus", "top_movers", "full")
STATUSES = ("counting", "review", "shop_review", "posted", "disputed", "cancelled")
REASONS = ("miscount", "damage", "loss", "found", "mispick", "unknown")


class Stocktake(TenantOwned, Base):
    __tablename__ = "stocktake"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        Index("ix_stocktake_tenant_id_status_id", "tenant_id", "status", "id"),
        CheckConstraint(_in("scope", SCOPES), name="scope"),
        CheckConstraint(_in("status", STATUSES), name="status"),
        CheckConstraint("recount_threshold >= 0", name="recount_threshold"),
    )

    id: Mapped[int] = row_id()
    number: Mapped[str] = mapped_column(String(20))  # ST-000012
    scope: Mapped[str] = mapped_column(String(12))
    scope_detail: Mapped[dict] = mapped_column(JSONB, default=dict)  # bins, skus or n
    blind: Mapped[bool] = mapped_column(default=True)
    recount_threshold: Mapped[int] = mapped_column(Integer, default=0)  # pieces
    status: Mapped[str] = mapped_column(String(12), default="counting")
    note: Mapped[str] = mapped_column(String(500), default="")
    planned_by: Mapped[str] = mapped_column(String(200), default="")
    planned_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None]
    variance_value_yen: Mapped[int] = mapped_column(Integer, default=0)  # sum of |Δ| × price
    shop_threshold_yen: Mapped[int | None] = mapped_column(Integer)  # as it was at review
    agency_approved_by: Mapped[str] = mapped_column(String(200), default="")
    agency_approved_at: Mapped[datetime | None]
    shop_decided_by: Mapped[str] = mapped_column(String(200), default="")
    shop_decided_at: Mapped[datetime | None]
    shop_comment: Mapped[str] = mapped_column(Text, default="")
    posted_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    __mapper_args__ = {"version_id_col": version}

    lines: Mapped[list[StocktakeLine]] = relationship(
        back_populates="stocktake",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="StocktakeLine.id",
    )

    @property
    def needs_shop(self) -> bool:
        return self.shop_threshold_yen is not None and (
            self.variance_value_yen > self.shop_threshold_yen
        )


class StocktakeLine(TenantOwned, Base):
    """One level to count: a SKU (and lot) in a bin."""

    __tablename__ = "stocktake_line"
    __table_args__ = (
        UniqueConstraint("tenant_id", "stocktake_id", "product_id", "location_id", "lot_no"),
        ForeignKeyConstraint(
            ["tenant_id", "stocktake_id"], ["stocktake.tenant_id", "stocktake.id"]
        ),
        ForeignKeyConstraint(["tenant_id", "product_id"], ["product.tenant_id", "product.id"]),
        CheckConstraint(_in("reason", ("", *REASONS)), name="reason"),
    )

    id: Mapped[int] = row_id()
    stocktake_id: Mapped[int] = mapped_column(BigInteger)
    product_id: Mapped[int] = mapped_column(BigInteger)
    location_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("location.id"))
    lot_no: Mapped[str] = mapped_column(String(40), default="")
    system_qty: Mapped[int | None] = mapped_column(Integer)  # on hand when first counted
    counted_qty: Mapped[int | None] = mapped_column(Integer)  # the count that stands
    counts: Mapped[int] = mapped_column(SmallInteger, default=0)
    recount_required: Mapped[bool] = mapped_column(default=False)
    counted_by: Mapped[list] = mapped_column(JSONB, default=list)  # actor ids
    reason: Mapped[str] = mapped_column(String(12), default="")
    unit_price_yen: Mapped[int] = mapped_column(Integer, default=0)

    stocktake: Mapped[Stocktake] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship(viewonly=True, lazy="joined")
    location: Mapped[Location] = relationship(viewonly=True, lazy="joined")

    @property
    def variance(self) -> int | None:
        if self.counted_qty is None or self.system_qty is None:
            return None
        return self.counted_qty - self.system_qty

    @property
    def variance_value_yen(self) -> int:
        return abs(self.variance or 0) * self.unit_price_yen


class StocktakeCount(TenantOwned, Base):
    """Each count of a line, first and recounts: the count history."""

    __tablename__ = "stocktake_count"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "line_id"], ["stocktake_line.tenant_id", "stocktake_line.id"]
        ),
        Index("ix_stocktake_count_tenant_id_line_id", "tenant_id", "line_id"),
        CheckConstraint("quantity >= 0", name="quantity"),
    )

    id: Mapped[int] = row_id()
    line_id: Mapped[int] = mapped_column(BigInteger)
    round: Mapped[int] = mapped_column(SmallInteger)
    quantity: Mapped[int] = mapped_column(Integer)
    system_qty: Mapped[int] = mapped_column(Integer)
    counted_by_id: Mapped[str] = mapped_column(String(200), default="")
    counted_by_name: Mapped[str] = mapped_column(String(200), default="")
    counted_by_user: Mapped[uuid.UUID | None]
    counted_at: Mapped[datetime] = mapped_column(default=utcnow)
