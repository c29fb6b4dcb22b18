"""A shop's parcels as its people and its API see them: from inspection on, with box,
tracking number, the carrier's tracking page and the customer's shipped mail."""

from __future__ import annotations

from sqlalchemy import select

from urakata.platform.db import UrakataSession
from urakata.tenants.fulfilment.models import Shipment
from urakata.tenants.orders.models import Order
from urakata.tenants.shipping.carrier_files import tracking_url
from urakata.tenants.shipping.models import ShipmentPackage, ShipmentTracking, ShippedMail

STATUSES = ("inspected", "packed", "shipped", "cancelled")
PER_PAGE = 50


def parcel_rows(session: UrakataSession, *, status=None, query="", before=None, limit=PER_PAGE):
    """The shop's parcels from inspection on, newest first, with number and link."""
    stmt = (
        select(Shipment, Order.external_id, ShipmentPackage, ShipmentTracking, ShippedMail.status)
        .join(Order, Order.id == Shipment.order_id)
        .outerjoin(ShipmentPackage, ShipmentPackage.shipment_id == Shipment.id)
        .outerjoin(ShipmentTracking, ShipmentTracking.shipment_id == Shipment.id)
        .outerjoin(ShippedMail, ShippedMail.shipment_id == Shipment.id)
        .where(Shipment.status.in_((status,) if status else STATUSES))
        .order_by(Shipment.id.desc())
        .limit(limit)
    )
    if query:
        stmt = stmt.where(
            (Order.external_id == query) | (ShipmentTracking.tracking_no == query.replace("-", ""))
        )
    if before is not None:
        stmt = stmt.where(Shipment.id < before)
    rows = []
    for shipment, number, package, tracking, mail in session.execute(stmt):
        rows.append({
            "shipment": shipment, "order_number": number, "package": package,
            "tracking_no": tracking.tracking_no if tracking else "",
            "tracking_url": tracking_url(shipment.carrier, tracking.tracking_no) if tracking
            else "", "mail": mail or "",
        })  # fmt: skip
    return rows
