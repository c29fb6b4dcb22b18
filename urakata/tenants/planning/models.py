"""Planning tables (tenant-owned): reorder points and their alert state, low-stock
notices, forecasts per SKU and day, reorder proposals, and the daily stock snapshots that
storage is billed from.

A forecast row is kept per SKU and the day it starts (a nightly run replaces the day's
row): the stored forecasts are what the accuracy of past forecasts is measured against.
A snapshot is one row per (day, bin, SKU) with the pieces on hand at the end of the
shop's local day and the pieces received that day; ``stock_snapshot_day`` says the day
was taken (a second run of the same day does nothing).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from urakata.platform import locations  # noqa: F401 - registers "location", a FK target
from urakata.platform.db import Base, TenantOwned, row_id, utcnow
from urakata.platform.db import one_of as _in
from urakata.tenants.catalog import models as _catalog  # noqa: F401 - "product", a FK target

MODES = ("manual", "suggested")
ALERT_STATES = ("ok", "low")
METHODS = ("holt_winters", "average")
PROPOSAL_STATUSES = ("open", "accepted", "dismissed", "withdrawn")
REORDER_POINT_MAX = 1_000_000


def _product_fk() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(["tenant_id", "product_id"], ["product.tenant_id", "product.id"])


class PlanningSettings(TenantOwned, Base):
    """One row per shop (made on first use): how far to forecast, the usual lead time,
    the service level safety stock is sized for, the days between orders."""

    __tablename__ = "planning_settings"
    __table_args__ = (
        CheckConstraint("horizon_weeks BETWEEN 2 AND 13", name="horizon"),
        CheckConstraint("lead_time_days BETWEEN 1 AND 180", name="lead_time"),
        CheckConstraint("service_level_pct BETWEEN 50 AND 99", name="service_level"),
        CheckConstraint("review_days BETWEEN 1 AND 90", name="review"),
    )

    version: Mapped[int] = mapped_column(Integer, default=1)
    horizon_weeks: Mapped[int] = mapped_column(SmallInteger, default=4)
    lead_time_days: Mapped[int] = mapped_column(SmallInteger, default=7)
    service_level_pct: Mapped[int] = mapped_column(SmallInteger, default=95)
    review_days: Mapped[int] = mapped_column(SmallInteger, default=7)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    __mapper_args__ = {"version_id_col": version}


class ReorderPoint(TenantOwned, Base):
    """A SKU's reorder point, set by the shop (manual) or kept at the nightly suggestion,
    and whether its available stock is below it now (an alert goes once per crossing)."""

    __tablename__ = "reorder_point"
    __table_args__ = (
        _product_fk(),
        Index("ix_reorder_point_tenant_id_alert_state", "tenant_id", "alert_state"),
        CheckConstraint(_in("mode", MODES), name="mode"),
        CheckConstraint(_in("alert_state", ALERT_STATES), name="alert_state"),
        CheckConstraint(f"reorder_point BETWEEN 0 AND {REORDER_POINT_MAX}", name="reorder_point"),
        CheckConstraint("lead_time_days IS NULL OR lead_time_days BETWEEN 1 AND 365", name="lead"),
    )

    product_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    mode: Mapped[str] = mapped_column(String(12), default="manual")
    reorder_point: Mapped[int] = mapped_column(Integer, default=0)
    lead_time_days: Mapped[int | None] = mapped_column(SmallInteger)  # None: the shop's
    alert_state: Mapped[str] = mapped_column(String(8), default="ok")
    state_changed_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    __mapper_args__ = {"version_id_col": version}


class LowStockNotice(TenantOwned, Base):
    """A SKU's available stock fell to or below its reorder point (one per crossing)."""

    __tablename__ = "low_stock_notice"
    __table_args__ = (
        _product_fk(),
        Index("ix_low_stock_notice_tenant_id_read_at", "tenant_id", "read_at", "id"),
    )

    id: Mapped[int] = row_id()
    product_id: Mapped[int] = mapped_column(BigInteger)
    crossed_at: Mapped[datetime] = mapped_column(default=utcnow)
    available: Mapped[int] = mapped_column(Integer)
    reorder_point: Mapped[int] = mapped_column(Integer)
    read_at: Mapped[datetime | None]
    read_by: Mapped[str] = mapped_column(String(200), default="")


class SkuForecast(TenantOwned, Base):
    """Daily demand of one SKU from ``starts_on`` (the shop's local day the nightly run
    made it for), with an 80% range, and what the reorder point would be from it."""

    __tablename__ = "sku_forecast"
    __table_args__ = (
        _product_fk(),
        UniqueConstraint("tenant_id", "product_id", "starts_on"),
        Index("ix_sku_forecast_tenant_id_starts_on", "tenant_id", "starts_on"),
        CheckConstraint(_in("method", METHODS), name="method"),
    )

    id: Mapped[int] = row_id()
    product_id: Mapped[int] = mapped_column(BigInteger)
    starts_on: Mapped[date] = mapped_column(Date)
    made_at: Mapped[datetime] = mapped_column(default=utcnow)
    method: Mapped[str] = mapped_column(String(16))
    history_days: Mapped[int] = mapped_column(Integer)
    daily: Mapped[list] = mapped_column(JSONB)  # pieces a day, one per day of the horizon
    lower: Mapped[list] = mapped_column(JSONB)
    upper: Mapped[list] = mapped_column(JSONB)
    sigma: Mapped[float] = mapped_column(Float)
    lead_time_days: Mapped[int] = mapped_column(SmallInteger)
    safety_stock: Mapped[int] = mapped_column(Integer)
    suggested_reorder_point: Mapped[int] = mapped_column(Integer)
    mape_pct: Mapped[float | None] = mapped_column(Float)  # of the last 4 weeks' forecasts
    mape_weeks: Mapped[int] = mapped_column(SmallInteger, default=0)

    def total(self, days: int) -> float:
        return float(sum(self.daily[:days]))


class ReorderProposal(TenantOwned, Base):
    """What to order of a SKU now, worked out from its forecast; the shop accepts it (with
    its own quantity, if it likes) and an inbound notice is made from it."""

    __tablename__ = "reorder_proposal"
    __table_args__ = (
        _product_fk(),
        Index("ix_reorder_proposal_tenant_id_status_id", "tenant_id", "status", "id"),
        Index(
            "uq_reorder_proposal_tenant_id_product_id_open",
            "tenant_id",
            "product_id",
            unique=True,
            postgresql_where=text("status = 'open'"),
        ),
        CheckConstraint(_in("status", PROPOSAL_STATUSES), name="status"),
        CheckConstraint("suggested_quantity > 0 AND coalesce(quantity, 1) > 0", name="quantity"),
    )

    id: Mapped[int] = row_id()
    product_id: Mapped[int] = mapped_column(BigInteger)
    proposed_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default="open")
    available: Mapped[int] = mapped_column(Integer)
    on_order: Mapped[int] = mapped_column(Integer, default=0)
    reorder_point: Mapped[int] = mapped_column(Integer)
    lead_time_days: Mapped[int] = mapped_column(SmallInteger)
    cover_days: Mapped[int] = mapped_column(SmallInteger)  # lead time + days between orders
    demand: Mapped[int] = mapped_column(Integer)  # forecast pieces over the cover days
    safety_stock: Mapped[int] = mapped_column(Integer)
    case_quantity: Mapped[int | None] = mapped_column(Integer)
    suggested_quantity: Mapped[int] = mapped_column(Integer)
    quantity: Mapped[int | None] = mapped_column(Integer)  # what the shop accepted
    inbound_notice_id: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class StockSnapshotDay(TenantOwned, Base):
    """The day's snapshot was taken (its totals); the key that makes the job idempotent."""

    __tablename__ = "stock_snapshot_day"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    taken_at: Mapped[datetime] = mapped_column(default=utcnow)
    rows: Mapped[int] = mapped_column(Integer)
    pieces: Mapped[int] = mapped_column(BigInteger)
    bins: Mapped[int] = mapped_column(Integer)
    received: Mapped[int] = mapped_column(BigInteger)


class StockSnapshot(TenantOwned, Base):
    """Pieces of a SKU in a bin at the end of the shop's local ``day`` (all lots), and the
    pieces received into it that day (the 3期制's receipts in the month)."""

    __tablename__ = "stock_snapshot"
    __table_args__ = (
        _product_fk(),
        ForeignKeyConstraint(
            ["tenant_id", "day"], ["stock_snapshot_day.tenant_id", "stock_snapshot_day.day"]
        ),
        Index("ix_stock_snapshot_tenant_id_product_id_day", "tenant_id", "product_id", "day"),
        CheckConstraint("quantity >= 0 AND received >= 0", name="quantities"),
    )

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    location_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("location.id"), primary_key=True, autoincrement=False
    )
    product_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    quantity: Mapped[int] = mapped_column(Integer)
    received: Mapped[int] = mapped_column(Integer, default=0)
