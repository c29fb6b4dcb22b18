"""Shipments, waves, pick lists, scans and the work they leave behind (tenant-owned).

An allocated order becomes one or more :class:`Shipment` rows (出荷指示); each has
:class:`ShipmentLine` rows, one per (order line, bin, lot) the allocation promised, so the
picker knows where to go and which lot to take. A :class:`Wave` groups a shop's open
shipments for picking; its :class:`PickList` is the PDF the worker rendered (one per
wave). Every scan at the station is a :class:`ScanEvent` (refused ones are the mis-picks);
a short pick leaves a :class:`PickShortage` (the stock discrepancy) and units picked for a
shipment that no longer ships leave a :class:`PutBackTask`.

Shipment states: instructed → waved → picking → inspected → packed → shipped (the last
two belong to packing and handover, issue 15); a shipment may end *returned* (short pick:
back to allocation) or *cancelled* (its order was cancelled).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from urakata.platform import locations  # noqa: F401 - registers "location", a FK target
from urakata.platform.db import Base, TenantOwned, row_id, utcnow
from urakata.platform.db import one_of as _in
from urakata.platform.db import tenant_fk as _fk
from urakata.tenants.catalog import models as _catalog  # noqa: F401 - "product", a FK target
from urakata.tenants.orders import models as _orders  # noqa: F401 - "sales_order", a FK target

CARRIERS = ("yamato", "sagawa", "japan_post")
# Each carrier's services; the first is its standard parcel (the only one that can be cool).
SERVICES = {
    "yamato": ("takkyubin", "compact", "nekopos"),
    "sagawa": ("hikyaku",),
    "japan_post": ("yu_pack", "yu_packet"),
}
ALL_SERVICES = tuple(s for services in SERVICES.values() for s in services)
COOL_TYPES = ("none", "chilled", "frozen")
COOL_OF_ZONE = {"ambient": "none", "chilled": "chilled", "frozen": "frozen"}
SHIPMENT_STATUSES = (
    "instructed",
    "waved",
    "picking",
    "inspected",
    "packed",
    "shipped",
    "returned",
    "cancelled",
)
# Shipments still to be picked (their stock is promised at its bins, not yet taken out).
UNPICKED = ("instructed", "waved", "picking")
# Shipments no longer going anywhere.
ENDED = ("returned", "cancelled")
WAVE_STATUSES = ("open", "picking", "done", "cancelled")
WAVE_KINDS = ("single", "multi", "mixed")
WAVE_ORIGINS = ("rules", "hand")
PICK_LIST_STATUSES = ("rendering", "ready", "failed")
SCAN_OUTCOMES = ("ok", "unknown_code", "wrong_item", "wrong_lot", "too_many", "lot_needed")
MISPICK_OUTCOMES = ("unknown_code", "wrong_item", "wrong_lot", "too_many")
PUT_BACK_STATUSES = ("open", "done")
PUT_BACK_REASONS = ("cancelled", "short_pick")
SHORTAGE_STATUSES = ("open", "resolved")
DELIVERY_SLOTS = ("am", "12-14", "14-16", "16-18", "18-20", "19-21")


class Wave(TenantOwned, Base):
    """A group of one shop's shipments picked together."""

    __tablename__ = "wave"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        UniqueConstraint("tenant_id", "request_key"),
        Index("ix_wave_tenant_id_status_created_at", "tenant_id", "status", "created_at"),
        CheckConstraint(_in("status", WAVE_STATUSES), name="status"),
        CheckConstraint(_in("kind", WAVE_KINDS), name="kind"),
        CheckConstraint(_in("origin", WAVE_ORIGINS), name="origin"),
        CheckConstraint("shipment_count >= 0 AND unit_count >= 0", name="counts"),
    )

    id: Mapped[int] = row_id()
    number: Mapped[int] = mapped_column(Integer)  # per shop: W-000001
    status: Mapped[str] = mapped_column(String(12), default="open")
    kind: Mapped[str] = mapped_column(String(8))
    origin: Mapped[str] = mapped_column(String(8))
    carrier: Mapped[str | None] = mapped_column(String(16))  # None: mixed carriers
    cool_type: Mapped[str | None] = mapped_column(String(8))
    ship_by_date: Mapped[date | None] = mapped_column(Date)
    rule: Mapped[dict] = mapped_column(JSONB, default=dict)  # the rule or filter it came from
    # The form's one-time token (hand) or the job's key (rules): a second submit finds it.
    request_key: Mapped[str] = mapped_column(String(100))
    shipment_count: Mapped[int] = mapped_column(Integer, default=0)
    unit_count: Mapped[int] = mapped_column(Integer, default=0)
    pick_list_task_id: Mapped[uuid.UUID | None]
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]

    __mapper_args__ = {"version_id_col": version}

    @property
    def label(self) -> str:
        return f"W-{self.number:06d}"


class Shipment(TenantOwned, Base):
    """One parcel's worth of an order: what to pick, how it travels, where it goes."""

    __tablename__ = "shipment"
    __table_args__ = (
        UniqueConstraint("tenant_id", "order_id", "part"),
        _fk("order_id", "sales_order"),
        _fk("wave_id", "wave"),
        Index("ix_shipment_tenant_id_status_ship_by_at", "tenant_id", "status", "ship_by_at"),
        Index("ix_shipment_tenant_id_wave_id", "tenant_id", "wave_id"),
        CheckConstraint(_in("status", SHIPMENT_STATUSES), name="status"),
        CheckConstraint(_in("carrier", CARRIERS), name="carrier"),
        CheckConstraint(_in("service", ALL_SERVICES), name="service"),
        CheckConstraint(_in("cool_type", COOL_TYPES), name="cool_type"),
        CheckConstraint(
            f"delivery_slot IS NULL OR {_in('delivery_slot', DELIVERY_SLOTS)}",
            name="delivery_slot",
        ),
        CheckConstraint("cod_yen >= 0 AND cod_yen <= 300000", name="cod"),
        CheckConstraint("unit_count > 0 AND line_count > 0", name="counts"),
    )

    id: Mapped[int] = row_id()
    order_id: Mapped[int] = mapped_column(BigInteger)
    part: Mapped[int] = mapped_column(Integer)  # 1, 2, … within the order
    status: Mapped[str] = mapped_column(String(12), default="instructed")
    wave_id: Mapped[int | None] = mapped_column(BigInteger)
    carrier: Mapped[str] = mapped_column(String(16))
    service: Mapped[str] = mapped_column(String(16))
    cool_type: Mapped[str] = mapped_column(String(8), default="none")
    cod_yen: Mapped[int] = mapped_column(BigInteger, default=0)  # 代引 amount to collect
    delivery_date: Mapped[date | None] = mapped_column(Date)
    delivery_slot: Mapped[str | None] = mapped_column(String(8))
    gift_wrap: Mapped[bool] = mapped_column(Boolean, default=False)
    noshi: Mapped[str] = mapped_column(String(100), default="")
    gift_message: Mapped[str] = mapped_column(Text, default="")
    ship_name: Mapped[str] = mapped_column(String(100))
    ship_postal_code: Mapped[str] = mapped_column(String(16))
    ship_prefecture: Mapped[str] = mapped_column(String(40))
    ship_city: Mapped[str] = mapped_column(String(100))
    ship_street: Mapped[str] = mapped_column(String(200))
    ship_building: Mapped[str] = mapped_column(String(200), default="")
    ship_phone: Mapped[str] = mapped_column(String(20))
    ship_by_at: Mapped[datetime | None]
    ship_by_date: Mapped[date | None] = mapped_column(Date)
    line_count: Mapped[int] = mapped_column(Integer)
    unit_count: Mapped[int] = mapped_column(Integer)
    scanned_count: Mapped[int] = mapped_column(Integer, default=0)
    size_class: Mapped[int | None] = mapped_column(Integer)  # largest item's, 60…160
    weight_g: Mapped[int | None] = mapped_column(Integer)  # sum of known item weights
    version: Mapped[int] = mapped_column(Integer, default=1)
    instructed_at: Mapped[datetime] = mapped_column(default=utcnow)
    picking_at: Mapped[datetime | None]
    inspected_at: Mapped[datetime | None]
    packed_at: Mapped[datetime | None]
    shipped_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]  # returned or cancelled
    end_reason: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    lines: Mapped[list[ShipmentLine]] = relationship(
        back_populates="shipment",
        cascade="all, delete-orphan",
        order_by="ShipmentLine.id",
        lazy="selectin",
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def label(self) -> str:
        return f"SH{self.id:010d}"

    @property
    def is_single(self) -> bool:
        return self.unit_count == 1


class ShipmentLine(TenantOwned, Base):
    """Pieces of one order line to take from one bin (of one lot)."""

    __tablename__ = "shipment_line"
    __table_args__ = (
        UniqueConstraint(
            "tenant_id",
            "shipment_id",
            "order_line_id",
            "location_id",
            "lot_no",
            name="uq_shipment_line_tenant_id_take",
        ),
        _fk("shipment_id", "shipment", ondelete="CASCADE"),
        _fk("order_line_id", "order_line"),
        _fk("product_id", "product"),
        Index("ix_shipment_line_tenant_id_product_id", "tenant_id", "product_id"),
        CheckConstraint(
            "quantity > 0 AND scanned >= 0 AND scanned <= quantity AND short >= 0"
            " AND scanned + short <= quantity",
            name="quantities",
        ),
    )

    id: Mapped[int] = row_id()
    shipment_id: Mapped[int] = mapped_column(BigInteger)
    order_line_id: Mapped[int] = mapped_column(BigInteger)
    product_id: Mapped[int] = mapped_column(BigInteger)
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    location_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("location.id"))
    bin_code: Mapped[str] = mapped_column(String(19))
    pick_sequence: Mapped[int] = mapped_column(Integer, default=0)
    lot_no: Mapped[str] = mapped_column(String(40), default="")
    best_before: Mapped[date | None] = mapped_column(Date)
    quantity: Mapped[int] = mapped_column(Integer)
    scanned: Mapped[int] = mapped_column(Integer, default=0)
    short: Mapped[int] = mapped_column(Integer, default=0)

    shipment: Mapped[Shipment] = relationship(back_populates="lines")


class PickList(TenantOwned, Base):
    """The wave's pick list PDF (one per wave: a second run of the job finds it)."""

    __tablename__ = "pick_list"
    __table_args__ = (
        UniqueConstraint("tenant_id", "wave_id"),
        _fk("wave_id", "wave", ondelete="CASCADE"),
        CheckConstraint(_in("status", PICK_LIST_STATUSES), name="status"),
    )

    id: Mapped[int] = row_id()
    wave_id: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(12), default="rendering")
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary)
    pages: Mapped[int] = mapped_column(Integer, default=0)
    byte_size: Mapped[int] = mapped_column(Integer, default=0)
    sha256: Mapped[str] = mapped_column(String(64), default="")
    rendered_at: Mapped[datetime | None]
    render_seconds: Mapped[float | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ScanEvent(TenantOwned, Base):
    """One scan at the station; a refused one (``outcome`` in MISPICK_OUTCOMES) is a
    mis-pick. ``scan_key`` (the station's id of the scan) makes a resent scan count once."""

    __tablename__ = "scan_event"
    __table_args__ = (
        UniqueConstraint("tenant_id", "scan_key"),
        _fk("shipment_id", "shipment"),
        Index("ix_scan_event_tenant_id_occurred_at", "tenant_id", "occurred_at"),
        Index("ix_scan_event_tenant_id_shipment_id", "tenant_id", "shipment_id"),
        CheckConstraint(_in("outcome", SCAN_OUTCOMES), name="outcome"),
    )

    id: Mapped[int] = row_id()
    scan_key: Mapped[str] = mapped_column(String(64))
    shipment_id: Mapped[int] = mapped_column(BigInteger)
    wave_id: Mapped[int | None] = mapped_column(BigInteger)
    code: Mapped[str] = mapped_column(String(64))
    lot_no: Mapped[str] = mapped_column(String(40), default="")
    outcome: Mapped[str] = mapped_column(String(16))
    product_id: Mapped[int | None] = mapped_column(BigInteger)
    shipment_line_id: Mapped[int | None] = mapped_column(BigInteger)
    actor: Mapped[str] = mapped_column(String(200), default="")
    user_id: Mapped[uuid.UUID | None]
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)


class PickShortage(TenantOwned, Base):
    """A stock discrepancy found while picking: the bin held fewer than the level said."""

    __tablename__ = "pick_shortage"
    __table_args__ = (
        _fk("shipment_id", "shipment"),
        _fk("product_id", "product"),
        Index("ix_pick_shortage_tenant_id_status", "tenant_id", "status"),
        CheckConstraint(_in("status", SHORTAGE_STATUSES), name="status"),
        CheckConstraint("missing > 0", name="missing"),
    )

    id: Mapped[int] = row_id()
    shipment_id: Mapped[int] = mapped_column(BigInteger)
    shipment_line_id: Mapped[int] = mapped_column(BigInteger)
    product_id: Mapped[int] = mapped_column(BigInteger)
    location_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("location.id"))
    bin_code: Mapped[str] = mapped_column(String(19))
    lot_no: Mapped[str] = mapped_column(String(40), default="")
    expected: Mapped[int] = mapped_column(Integer)
    missing: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12), default="open")
    reported_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PutBackTask(TenantOwned, Base):
    """Picked pieces to return to their bin: their shipment no longer ships."""

    __tablename__ = "put_back_task"
    __table_args__ = (
        _fk("shipment_id", "shipment"),
        _fk("product_id", "product"),
        Index("ix_put_back_task_tenant_id_status", "tenant_id", "status"),
        UniqueConstraint("tenant_id", "shipment_line_id"),
        CheckConstraint(_in("status", PUT_BACK_STATUSES), name="status"),
        CheckConstraint(_in("reason", PUT_BACK_REASONS), name="reason"),
        CheckConstraint("quantity > 0", name="quantity"),
    )

    id: Mapped[int] = row_id()
    shipment_id: Mapped[int] = mapped_column(BigInteger)
    shipment_line_id: Mapped[int] = mapped_column(BigInteger)
    order_id: Mapped[int] = mapped_column(BigInteger)
    order_line_id: Mapped[int] = mapped_column(BigInteger)
    product_id: Mapped[int] = mapped_column(BigInteger)
    sku: Mapped[str] = mapped_column(String(64))
    location_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("location.id"))
    bin_code: Mapped[str] = mapped_column(String(19))
    lot_no: Mapped[str] = mapped_column(String(40), default="")
    best_before: Mapped[date | None] = mapped_column(Date)
    quantity: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(16))
    # Whether the pieces left the level (the pick was posted): then putting them back
    # posts a movement; otherwise they never left it and only need carrying back.
    restock: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(8), default="open")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None]
    done_by: Mapped[str] = mapped_column(String(200), default="")


class OrderShippingChoice(TenantOwned, Base):
    """The carrier and service chosen for one order over the shop's default."""

    __tablename__ = "order_shipping_choice"
    __table_args__ = (
        _fk("order_id", "sales_order"),
        CheckConstraint(_in("carrier", CARRIERS), name="carrier"),
        CheckConstraint(_in("service", ALL_SERVICES), name="service"),
    )

    order_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    carrier: Mapped[str] = mapped_column(String(16))
    service: Mapped[str] = mapped_column(String(16))
    gift_message: Mapped[str] = mapped_column(Text, default="")
    set_by: Mapped[str] = mapped_column(String(200), default="")
    set_at: Mapped[datetime] = mapped_column(default=utcnow)
