"""Packing, labels, tracking and handover (tenant-owned), beside issue 14's shipments.

A shipment (``fulfilment.models.Shipment``) that passed inspection is packed: its
:class:`ShipmentPackage` says which box (the suggested size class and the one used),
the materials (billed per parcel) and the weight. Its :class:`ShipmentTracking` is the
carrier's number (from the issued-label export or typed). A :class:`Handover` is one
carrier pickup: its shipments leave with it, its manifest is the PDF signed by the
driver. :class:`TrackingImport` keeps each upload of an export and what it found.
:class:`ShippedMail` and :class:`ShopifyFulfilment` keep the latest state of the two
things a shipped parcel sets off: the customer's mail and the shop's Shopify post-back.
An :class:`UnpackTask` asks for a packed parcel to be opened when its shipment was
cancelled after packing. :class:`ShippingSettings` are the shop's slip and Shopify
options; :class:`CarrierColumnMap` a shop's own ゆうパックプリントR layout.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from urakata.platform.db import Base, TenantOwned, row_id, utcnow
from urakata.platform.db import one_of as _in
from urakata.tenants.fulfilment import models as _fulfilment  # noqa: F401 - "shipment", FK target

CARRIERS = ("yamato", "sagawa", "japan_post")
BOX_SIZES = (60, 80, 100, 120, 140, 160)
PACKAGE_STATUSES = ("packed", "unpacked", "shipped")
WEIGHT_SOURCES = ("products", "entered")
TRACKING_SOURCES = ("import", "manual")
IMPORT_STATUSES = ("applied", "refused")
MAIL_STATUSES = ("queued", "sent", "failed", "no_address", "skipped")
SHOPIFY_STATUSES = ("queued", "posted", "failed", "skipped")
TASK_STATUSES = ("open", "done")
SLIP_STATUSES = ("rendering", "ready", "failed")


def _shipment_fk(ondelete: str | None = "CASCADE") -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["tenant_id", "shipment_id"], ["shipment.tenant_id", "shipment.id"], ondelete=ondelete
    )


class ShippingSettings(TenantOwned, Base):
    """The shop's packing-slip and Shopify options (one row per shop, made when first
    saved; a shop without one has the defaults)."""

    __tablename__ = "shipping_settings"

    version: Mapped[int] = mapped_column(Integer, default=1)
    slip_message: Mapped[str] = mapped_column(Text, default="")
    slip_hide_prices: Mapped[bool] = mapped_column(Boolean, default=False)
    # 品名 on labels ("雑貨", "食品"): blank prints the first item's name.
    label_item_name: Mapped[str] = mapped_column(String(50), default="")
    shopify_shop_domain: Mapped[str] = mapped_column(String(255), default="")
    shopify_access_token: Mapped[str] = mapped_column(String(200), default="")
    shopify_fulfilment_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_name: Mapped[str] = mapped_column(String(200), default="")

    __mapper_args__ = {"version_id_col": version}


class Handover(TenantOwned, Base):
    """One carrier pickup (引き渡し): the parcels the driver signed for."""

    __tablename__ = "handover"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        UniqueConstraint("tenant_id", "request_key"),
        Index("ix_handover_tenant_id_handed_over_at", "tenant_id", "handed_over_at"),
        CheckConstraint(_in("carrier", CARRIERS), name="carrier"),
        CheckConstraint(
            "parcel_count > 0 AND cod_count >= 0 AND cod_total_yen >= 0", name="counts"
        ),
    )

    id: Mapped[int] = row_id()
    number: Mapped[int] = mapped_column(Integer)  # per shop: HO-000001
    carrier: Mapped[str] = mapped_column(String(16))
    request_key: Mapped[str] = mapped_column(String(100))
    handed_over_at: Mapped[datetime] = mapped_column(default=utcnow)
    parcel_count: Mapped[int] = mapped_column(Integer)
    cool_counts: Mapped[dict] = mapped_column(JSONB, default=dict)  # {"none": 3, "chilled": 1}
    size_counts: Mapped[dict] = mapped_column(JSONB, default=dict)  # {"60": 2, "80": 1}
    cod_count: Mapped[int] = mapped_column(Integer, default=0)
    cod_total_yen: Mapped[int] = mapped_column(BigInteger, default=0)
    handed_over_by: Mapped[str] = mapped_column(String(200), default="")

    @property
    def label(self) -> str:
        return f"HO-{self.number:06d}"


class ShipmentPackage(TenantOwned, Base):
    """How a shipment was packed: box, materials, weight; and when it left."""

    __tablename__ = "shipment_package"
    __table_args__ = (
        _shipment_fk(),
        ForeignKeyConstraint(["tenant_id", "handover_id"], ["handover.tenant_id", "handover.id"]),
        Index("ix_shipment_package_tenant_id_handover_id", "tenant_id", "handover_id"),
        Index("ix_shipment_package_tenant_id_status", "tenant_id", "status"),
        CheckConstraint(_in("status", PACKAGE_STATUSES), name="status"),
        CheckConstraint(_in("box_size", BOX_SIZES), name="box_size"),
        CheckConstraint(_in("weight_source", WEIGHT_SOURCES), name="weight_source"),
        CheckConstraint("weight_g > 0 AND weight_g <= 30000", name="weight"),
    )

    shipment_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    status: Mapped[str] = mapped_column(String(10), default="packed")
    suggested_size: Mapped[int | None] = mapped_column(Integer)
    box_size: Mapped[int] = mapped_column(Integer)
    weight_g: Mapped[int] = mapped_column(Integer)
    weight_source: Mapped[str] = mapped_column(String(10), default="products")
    materials: Mapped[list] = mapped_column(JSONB, default=list)  # [{"code", "quantity"}]
    packed_at: Mapped[datetime] = mapped_column(default=utcnow)
    packed_by: Mapped[str] = mapped_column(String(200), default="")
    request_key: Mapped[str] = mapped_column(String(100), default="")
    handover_id: Mapped[int | None] = mapped_column(BigInteger)
    shipped_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class ShipmentTracking(TenantOwned, Base):
    """The carrier's tracking number of a shipment; a number is used once per carrier."""

    __tablename__ = "shipment_tracking"
    __table_args__ = (
        _shipment_fk(),
        UniqueConstraint("tenant_id", "carrier", "tracking_no"),
        CheckConstraint(_in("carrier", CARRIERS), name="carrier"),
        CheckConstraint(_in("source", TRACKING_SOURCES), name="source"),
        CheckConstraint("tracking_no ~ '^[0-9]{12}$'", name="tracking_no"),
    )

    shipment_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    carrier: Mapped[str] = mapped_column(String(16))
    tracking_no: Mapped[str] = mapped_column(String(12))
    source: Mapped[str] = mapped_column(String(8))
    import_id: Mapped[int | None] = mapped_column(BigInteger)
    set_at: Mapped[datetime] = mapped_column(default=utcnow)
    set_by: Mapped[str] = mapped_column(String(200), default="")


class TrackingImport(TenantOwned, Base):
    """One upload of a carrier's issued-label export: applied whole, or refused whole."""

    __tablename__ = "tracking_import"
    __table_args__ = (
        Index("ix_tracking_import_tenant_id_uploaded_at", "tenant_id", "uploaded_at"),
        CheckConstraint(_in("carrier", CARRIERS), name="carrier"),
        CheckConstraint(_in("status", IMPORT_STATUSES), name="status"),
    )

    id: Mapped[int] = row_id()
    carrier: Mapped[str] = mapped_column(String(16))
    filename: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    uploaded_by: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(10))
    row_count: Mapped[int] = mapped_column(Integer, default=0)
    applied_count: Mapped[int] = mapped_column(Integer, default=0)
    unchanged_count: Mapped[int] = mapped_column(Integer, default=0)
    # [{row, reference, number, code, msgid, params}], the first PROBLEMS_KEPT of them
    problems: Mapped[list] = mapped_column(JSONB, default=list)
    problem_count: Mapped[int] = mapped_column(Integer, default=0)


class ShippedMail(TenantOwned, Base):
    """The latest state of a shipment's shipped-notification mail (one row per shipment)."""

    __tablename__ = "shipped_mail"
    __table_args__ = (_shipment_fk(), CheckConstraint(_in("status", MAIL_STATUSES), name="status"))

    shipment_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    status: Mapped[str] = mapped_column(String(12), default="queued")
    locale: Mapped[str] = mapped_column(String(2), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(255))
    sent_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ShopifyFulfilment(TenantOwned, Base):
    """A shipment's fulfilment posted back to the shop's Shopify (when it asked for it)."""

    __tablename__ = "shopify_fulfilment"
    __table_args__ = (
        _shipment_fk(),
        CheckConstraint(_in("status", SHOPIFY_STATUSES), name="status"),
    )

    shipment_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    status: Mapped[str] = mapped_column(String(10), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    remote_id: Mapped[str] = mapped_column(String(64), default="")
    last_error: Mapped[str | None] = mapped_column(Text)
    posted_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class UnpackTask(TenantOwned, Base):
    """Open a packed parcel whose shipment was cancelled and put its pieces back."""

    __tablename__ = "unpack_task"
    __table_args__ = (
        _shipment_fk(ondelete=None),
        UniqueConstraint("tenant_id", "shipment_id"),
        Index("ix_unpack_task_tenant_id_status", "tenant_id", "status"),
        CheckConstraint(_in("status", TASK_STATUSES), name="status"),
    )

    id: Mapped[int] = row_id()
    shipment_id: Mapped[int] = mapped_column(BigInteger)
    order_id: Mapped[int] = mapped_column(BigInteger)
    box_size: Mapped[int] = mapped_column(Integer)
    # [{sku, name, quantity, bin_code, lot_no}]: where each piece goes back to
    lines: Mapped[list] = mapped_column(JSONB, default=list)
    reason: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(8), default="open")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None]
    done_by: Mapped[str] = mapped_column(String(200), default="")


class SlipDocument(TenantOwned, Base):
    """A packing-slip PDF: a wave's (one page per shipment) or one shipment's reprint."""

    __tablename__ = "slip_document"
    __table_args__ = (
        Index("ix_slip_document_tenant_id_wave_id", "tenant_id", "wave_id"),
        CheckConstraint(_in("status", SLIP_STATUSES), name="status"),
    )

    id: Mapped[int] = row_id()
    wave_id: Mapped[int | None] = mapped_column(BigInteger)
    shipment_id: Mapped[int | None] = mapped_column(BigInteger)
    task_id: Mapped[uuid.UUID | None]
    status: Mapped[str] = mapped_column(String(10), default="rendering")
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary)
    pages: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200), default="")
    rendered_at: Mapped[datetime | None]


class CarrierColumnMap(TenantOwned, Base):
    """A shop's own column layout of a user-defined format (ゆうパックプリントR)."""

    __tablename__ = "carrier_column_map"

    format: Mapped[str] = mapped_column(String(32), primary_key=True)
    columns: Mapped[list] = mapped_column(JSONB)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_name: Mapped[str] = mapped_column(String(200), default="")

    __mapper_args__ = {"version_id_col": version}
