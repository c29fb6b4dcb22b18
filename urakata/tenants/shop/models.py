"""Shop settings and their version history (tenant-owned)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time

from sqlalchemy import (
    CheckConstraint,
    Date,
    Integer,
    LargeBinary,
    String,
    Time,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from urakata.platform.db import Base, TenantOwned, row_id, utcnow

SPLIT_POLICIES = ("ship_complete", "split_allowed", "partial_allowed")


class ShopSettings(TenantOwned, Base):
    """One row per shop: its contract terms and operating settings.

    Edited by agency admins, read by the shop. ``version`` guards concurrent edits (409)
    and numbers the rows of :class:`ShopSettingsVersion`.
    """

    __tablename__ = "shop_settings"
    __table_args__ = (
        CheckConstraint(
            "split_policy IN ('ship_complete', 'split_allowed', 'partial_allowed')",
            name="split_policy",
        ),
        CheckConstraint("stocktake_approval_threshold_yen >= 0", name="threshold"),
        CheckConstraint("sasage_turnaround_days BETWEEN 1 AND 60", name="turnaround"),
        CheckConstraint("min_shelf_life_days BETWEEN 0 AND 3650", name="min_shelf_life"),
    )

    version: Mapped[int] = mapped_column(Integer, default=1)
    same_day_cutoff: Mapped[time] = mapped_column(Time, default=time(14, 0))
    closed_days: Mapped[list[date]] = mapped_column(ARRAY(Date), default=list)
    split_policy: Mapped[str] = mapped_column(String(20), default="ship_complete")
    stocktake_approval_threshold_yen: Mapped[int] = mapped_column(Integer, default=10_000)
    sasage_turnaround_days: Mapped[int] = mapped_column(Integer, default=5)
    # Stock allocation never takes a lot with fewer days than this to its best-before.
    min_shelf_life_days: Mapped[int] = mapped_column(Integer, default=0)
    # Inbound: a SKU received for the first time asks for its sasage by itself.
    sasage_on_first_receipt: Mapped[bool] = mapped_column(default=False)
    sender_name: Mapped[str] = mapped_column(String(100), default="")
    sender_postal_code: Mapped[str] = mapped_column(String(8), default="")
    sender_address: Mapped[str] = mapped_column(String(200), default="")
    sender_phone: Mapped[str] = mapped_column(String(15), default="")
    sender_email: Mapped[str] = mapped_column(String(254), default="")
    logo: Mapped[bytes | None] = mapped_column(LargeBinary)
    logo_mime: Mapped[str | None] = mapped_column(String(32))
    b2_customer_code: Mapped[str] = mapped_column(String(12), default="")
    b2_freight_code: Mapped[str] = mapped_column(String(2), default="")
    ehiden_customer_code: Mapped[str] = mapped_column(String(20), default="")
    shopify_webhook_secret: Mapped[str] = mapped_column(String(200), default="")
    # Shipping instructions: the carrier and service unless an order says otherwise.
    default_carrier: Mapped[str] = mapped_column(String(16), default="yamato")
    default_carrier_service: Mapped[str] = mapped_column(String(16), default="takkyubin")
    # The shop's own Shopify note_attributes names (comma-separated) for the requested
    # delivery date, time slot and のし; the common apps' names are known without them.
    shopify_date_keys: Mapped[str] = mapped_column(String(200), default="")
    shopify_slot_keys: Mapped[str] = mapped_column(String(200), default="")
    shopify_noshi_keys: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[uuid.UUID | None]


class ShopSettingsVersion(TenantOwned, Base):
    """Who changed which setting when, old → new (secrets masked)."""

    __tablename__ = "shop_settings_version"

    id: Mapped[int] = row_id()
    version: Mapped[int] = mapped_column(Integer)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    changed_by: Mapped[uuid.UUID | None]
    changed_by_name: Mapped[str] = mapped_column(String(200), default="")
    changes: Mapped[dict] = mapped_column(JSONB)
