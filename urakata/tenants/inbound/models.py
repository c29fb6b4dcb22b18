"""Inbound notices (入荷予定, ASN) and their receiving.

A shop tells the agency what is coming (``inbound_notice`` with its expected lines); the
operator receives it piece by piece (``inbound_item``: what was scanned or typed, in what
condition), puts the good and damaged pieces away into bins (the receipt movements of
the stock ledger are posted then), and closes the notice: its discrepancy report
(expected against received per line, plus items nobody announced) is fixed at closing
and the shop comments on it (``inbound_comment``). Dock-to-stock is the time from the
first piece received to the last piece put away.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
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
from urakata.tenants.catalog.models import Product

NOTICE_STATUSES = ("open", "receiving", "closed", "cancelled")
NOTICE_SOURCES = ("portal", "csv", "api")
CONDITIONS = ("good", "damaged", "unknown")
LOT_MAX = 40


def _notice_fk() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["tenant_id", "notice_id"], ["inbound_notice.tenant_id", "inbound_notice.id"]
    )


class InboundNotice(TenantOwned, Base):
    """What a shop expects to arrive, and how its receiving went."""

    __tablename__ = "inbound_notice"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        UniqueConstraint("tenant_id", "idempotency_key"),
        Index("ix_inbound_notice_tenant_id_status_id", "tenant_id", "status", "id"),
        CheckConstraint(_in("status", NOTICE_STATUSES), name="status"),
        CheckConstraint(_in("source", NOTICE_SOURCES), name="source"),
    )

    id: Mapped[int] = row_id()
    number: Mapped[str] = mapped_column(String(20))  # IN-000123, the agency's reference
    reference: Mapped[str] = mapped_column(String(64), default="")  # the shop's own
    expected_on: Mapped[date] = mapped_column(Date)
    carrier: Mapped[str] = mapped_column(String(40), default="")
    tracking_number: Mapped[str] = mapped_column(String(40), default="")
    note: Mapped[str] = mapped_column(String(500), default="")
    source: Mapped[str] = mapped_column(String(8), default="portal")
    status: Mapped[str] = mapped_column(String(12), default="open")
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    arrived_at: Mapped[datetime | None]  # the first piece received
    stocked_at: Mapped[datetime | None]  # the last piece put away
    dock_to_stock_seconds: Mapped[int | None] = mapped_column(Integer)
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str] = mapped_column(String(200), default="")
    # Fixed at closing: {"lines": [...], "unknown": [...], "totals": {...}}
    discrepancy: Mapped[dict | None] = mapped_column(JSONB)
    has_discrepancy: Mapped[bool | None]
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    __mapper_args__ = {"version_id_col": version}

    lines: Mapped[list[InboundLine]] = relationship(
        back_populates="notice",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="InboundLine.line_no",
    )

    @property
    def is_closed(self) -> bool:
        return self.status in ("closed", "cancelled")

    @property
    def expected_pieces(self) -> int:
        return sum(line.quantity for line in self.lines)


class InboundLine(TenantOwned, Base):
    """One expected SKU (and lot) of a notice."""

    __tablename__ = "inbound_line"
    __table_args__ = (
        UniqueConstraint("tenant_id", "notice_id", "line_no"),
        _notice_fk(),
        ForeignKeyConstraint(["tenant_id", "product_id"], ["product.tenant_id", "product.id"]),
        Index("ix_inbound_line_tenant_id_product_id", "tenant_id", "product_id"),
        CheckConstraint("quantity > 0", name="quantity"),
    )

    id: Mapped[int] = row_id()
    notice_id: Mapped[int] = mapped_column(BigInteger)
    line_no: Mapped[int] = mapped_column(SmallInteger)
    product_id: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int] = mapped_column(Integer)
    lot_no: Mapped[str] = mapped_column(String(LOT_MAX), default="")
    best_before: Mapped[date | None] = mapped_column(Date)

    notice: Mapped[InboundNotice] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship(viewonly=True, lazy="joined")


class InboundItem(TenantOwned, Base):
    """Pieces received against a notice: one scan (or typed code) and its count.

    ``condition`` is good, damaged, or unknown (a code that is not in the shop's catalog,
    or goods without any code: ``product_id`` is NULL then). Good and damaged pieces are
    put away into a bin (``location_id``, ``put_away_at``), which posts their receipt
    movement; unknown pieces are held for the shop's decision and never stocked.
    """

    __tablename__ = "inbound_item"
    __table_args__ = (
        _notice_fk(),
        ForeignKeyConstraint(["tenant_id", "product_id"], ["product.tenant_id", "product.id"]),
        ForeignKeyConstraint(
            ["tenant_id", "line_id"], ["inbound_line.tenant_id", "inbound_line.id"]
        ),
        Index("ix_inbound_item_tenant_id_notice_id", "tenant_id", "notice_id"),
        UniqueConstraint("tenant_id", "submission_key"),
        CheckConstraint(_in("condition", CONDITIONS), name="condition"),
        CheckConstraint("quantity > 0", name="quantity"),
        CheckConstraint("(condition = 'unknown') = (product_id IS NULL)", name="unknown"),
    )

    id: Mapped[int] = row_id()
    notice_id: Mapped[int] = mapped_column(BigInteger)
    line_id: Mapped[int | None] = mapped_column(BigInteger)  # the expected line it fills
    product_id: Mapped[int | None] = mapped_column(BigInteger)
    scanned_code: Mapped[str] = mapped_column(String(64), default="")
    description: Mapped[str] = mapped_column(String(200), default="")
    quantity: Mapped[int] = mapped_column(Integer)
    condition: Mapped[str] = mapped_column(String(8), default="good")
    lot_no: Mapped[str] = mapped_column(String(LOT_MAX), default="")
    best_before: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str] = mapped_column(String(200), default="")
    photo: Mapped[bytes | None] = mapped_column(LargeBinary)
    photo_mime: Mapped[str | None] = mapped_column(String(32))
    received_by: Mapped[str] = mapped_column(String(200), default="")
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    location_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("location.id"))
    put_away_at: Mapped[datetime | None]
    put_away_by: Mapped[str] = mapped_column(String(200), default="")
    submission_key: Mapped[str | None] = mapped_column(String(80))  # the scan form's own

    product: Mapped[Product | None] = relationship(viewonly=True, lazy="joined")


class InboundComment(TenantOwned, Base):
    """A comment on a notice's discrepancy report, by the shop or the agency."""

    __tablename__ = "inbound_comment"
    __table_args__ = (
        _notice_fk(),
        Index("ix_inbound_comment_tenant_id_notice_id", "tenant_id", "notice_id"),
        CheckConstraint("side IN ('shop', 'agency')", name="side"),
    )

    id: Mapped[int] = row_id()
    notice_id: Mapped[int] = mapped_column(BigInteger)
    side: Mapped[str] = mapped_column(String(8))
    author_id: Mapped[uuid.UUID | None]
    author_name: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
