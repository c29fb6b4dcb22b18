"""The stock ledger of a shop (DESIGN §7): levels, the movements that made them, lots, and
the daily proof that the two agree.

``stock_level`` holds one row per (SKU, bin, lot) with ``on_hand`` and ``allocated``;
``0 <= allocated <= on_hand`` is a CHECK constraint, so no code path can oversell.
``stock_movement`` rows are never changed or deleted (the app role may only insert them,
and a trigger refuses UPDATE and DELETE): each one says what changed a level, why, for
what (its reference: an order and its line, a receipt, a transfer) and under which
idempotency key. The sum of a level's movements is the level.

An order's allocation is its movements: the allocated quantity of an order line in a
bin is the sum of ``allocated_delta`` of the movements that reference the line.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from urakata.platform import locations  # noqa: F401 - registers "location", target of location_id
from urakata.platform.db import Base, TenantOwned, row_id, utcnow
from urakata.tenants.catalog import models as _catalog  # noqa: F401 - "product", a FK target

MOVEMENT_KINDS = (
    "receipt",
    "allocation",
    "deallocation",
    "pick",
    "ship",
    "adjustment",
    "return",
    "transfer",
)
REFERENCE_TYPES = ("order", "receipt", "transfer", "adjustment", "return", "bench")
LOT_MAX = 40
NO_LOT = ""  # the lot of stock of a SKU that is not tracked by lot


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class StockLot(TenantOwned, Base):
    """A lot of a lot-tracked SKU: its best-before date is fixed at its first receipt."""

    __tablename__ = "stock_lot"
    __table_args__ = (
        UniqueConstraint("tenant_id", "product_id", "lot_no"),
        ForeignKeyConstraint(["tenant_id", "product_id"], ["product.tenant_id", "product.id"]),
        CheckConstraint("lot_no <> ''", name="lot_no"),
    )

    id: Mapped[int] = row_id()
    product_id: Mapped[int] = mapped_column(BigInteger)
    lot_no: Mapped[str] = mapped_column(String(LOT_MAX))
    best_before: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StockLevel(TenantOwned, Base):
    """How many pieces of a SKU (of one lot) lie in a bin, and how many are promised."""

    __tablename__ = "stock_level"
    __table_args__ = (
        UniqueConstraint("tenant_id", "product_id", "location_id", "lot_no"),
        ForeignKeyConstraint(["tenant_id", "product_id"], ["product.tenant_id", "product.id"]),
        Index("ix_stock_level_tenant_id_location_id", "tenant_id", "location_id"),
        CheckConstraint("0 <= allocated AND allocated <= on_hand", name="quantities"),
    )

    id: Mapped[int] = row_id()
    product_id: Mapped[int] = mapped_column(BigInteger)
    location_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("location.id"))
    lot_no: Mapped[str] = mapped_column(String(LOT_MAX), default=NO_LOT)
    best_before: Mapped[date | None] = mapped_column(Date)  # the lot's, for FEFO in one scan
    on_hand: Mapped[int] = mapped_column(Integer, default=0)
    allocated: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def available(self) -> int:
        return self.on_hand - self.allocated


class StockMovement(TenantOwned, Base):
    """One immutable change of a level (see the module's docstring)."""

    __tablename__ = "stock_movement"
    __table_args__ = (
        UniqueConstraint("tenant_id", "idempotency_key", "line_no"),
        ForeignKeyConstraint(["tenant_id", "product_id"], ["product.tenant_id", "product.id"]),
        Index("ix_stock_movement_tenant_id_product_id_id", "tenant_id", "product_id", "id"),
        Index(
            "ix_stock_movement_tenant_id_reference",
            "tenant_id",
            "reference_type",
            "reference_id",
        ),
        CheckConstraint(_in("kind", MOVEMENT_KINDS), name="kind"),
        CheckConstraint(_in("reference_type", REFERENCE_TYPES), name="reference_type"),
        CheckConstraint("on_hand_delta <> 0 OR allocated_delta <> 0", name="delta"),
    )

    id: Mapped[int] = row_id()
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(16))
    product_id: Mapped[int] = mapped_column(BigInteger)
    location_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("location.id"))
    lot_no: Mapped[str] = mapped_column(String(LOT_MAX), default=NO_LOT)
    on_hand_delta: Mapped[int] = mapped_column(Integer, default=0)
    allocated_delta: Mapped[int] = mapped_column(Integer, default=0)
    reference_type: Mapped[str] = mapped_column(String(16))
    reference_id: Mapped[str] = mapped_column(String(64))
    reference_line: Mapped[int | None] = mapped_column(BigInteger)  # e.g. the order line id
    reason: Mapped[str] = mapped_column(String(200), default="")
    idempotency_key: Mapped[str] = mapped_column(String(200))
    line_no: Mapped[int] = mapped_column(SmallInteger)  # its place among the key's movements
    actor: Mapped[str] = mapped_column(String(200), default="")


class StockReconciliation(TenantOwned, Base):
    """A day's proof that the movements add up to the levels, or what did not."""

    __tablename__ = "stock_reconciliation"
    __table_args__ = (UniqueConstraint("tenant_id", "checked_on"),)

    id: Mapped[int] = row_id()
    checked_on: Mapped[date] = mapped_column(Date)  # the shop's local day
    checked_at: Mapped[datetime] = mapped_column(default=utcnow)
    ok: Mapped[bool] = mapped_column(Boolean)
    levels: Mapped[int] = mapped_column(Integer)
    movements: Mapped[int] = mapped_column(BigInteger)
    # [{sku, bin, lot_no, field, ledger, level}], the first MISMATCHES_KEPT of them
    mismatches: Mapped[list] = mapped_column(JSONB, default=list)
    mismatch_count: Mapped[int] = mapped_column(Integer, default=0)
