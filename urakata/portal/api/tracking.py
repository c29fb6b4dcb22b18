"""/api/v1/tracking: the key's shop's parcels with their tracking numbers and links.

Read-only: packing, numbers and handover are the agency's work in the portal. Each parcel
(a shipment from inspection on) says its carrier, tracking number, the carrier's public
tracking page, when it was handed over and whether the customer's mail went. Another
shop's shipment id answers 404 like a missing one.
"""

from __future__ import annotations

import marshmallow as ma
from flask_smorest import abort
from marshmallow import fields, validate

from urakata.portal.api.blueprint import ApiBlueprint
from urakata.portal.api.schemas import StrictSchema
from urakata.portal.requestdb import db_session
from urakata.tenants.shipping.parcels import STATUSES, parcel_rows

PAGE_MAX = 200

bp = ApiBlueprint(
    "api_tracking",
    __name__,
    url_prefix="/tracking",
    description=(
        "The shop's parcels from inspection on: box, carrier, tracking number, the"
        " carrier's tracking page, handover time and the customer's shipped mail."
    ),
)


class TrackingQuery(StrictSchema):
    status = fields.String(validate=validate.OneOf(STATUSES))
    q = fields.String(
        validate=validate.Length(min=1, max=64),
        metadata={"description": "An order number or a tracking number."},
    )
    before = fields.Integer(
        validate=validate.Range(min=1),
        metadata={"description": "Keyset: the `next_before` of the previous page."},
    )
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=PAGE_MAX))


class ParcelOut(ma.Schema):
    shipment_id = fields.Integer(required=True)
    label = fields.String(required=True, metadata={"description": "Our reference, SH…"})
    order_id = fields.Integer(required=True)
    order_number = fields.String(required=True)
    status = fields.String(required=True)
    carrier = fields.String(required=True)
    service = fields.String(required=True)
    box_size = fields.Integer(allow_none=True)
    weight_g = fields.Integer(allow_none=True)
    tracking_number = fields.String(allow_none=True)
    tracking_url = fields.String(allow_none=True)
    shipped_at = fields.DateTime(allow_none=True)
    shipped_mail = fields.String(allow_none=True, metadata={"description": "queued, sent, …"})


class ParcelPageOut(ma.Schema):
    items = fields.List(fields.Nested(ParcelOut), required=True)
    next_before = fields.Integer(allow_none=True, required=True)


def _out(row: dict) -> dict:
    s, p = row["shipment"], row["package"]
    return {
        "shipment_id": s.id, "label": s.label, "order_id": s.order_id,
        "order_number": row["order_number"], "status": s.status, "carrier": s.carrier,
        "service": s.service, "box_size": p.box_size if p else None,
        "weight_g": p.weight_g if p else None, "tracking_number": row["tracking_no"] or None,
        "tracking_url": row["tracking_url"] or None, "shipped_at": s.shipped_at,
        "shipped_mail": row["mail"] or None,
    }  # fmt: skip


@bp.get("")
@bp.arguments(TrackingQuery, location="query", as_kwargs=True)
@bp.response(200, ParcelPageOut)
def list_parcels(limit: int, status=None, q=None, before=None):
    """List the shop's parcels with tracking numbers, newest first"""
    rows = parcel_rows(db_session(), status=status, query=q or "", before=before,
                       limit=limit + 1)  # fmt: skip
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": [_out(r) for r in rows],
            "next_before": rows[-1]["shipment"].id if more and rows else None}  # fmt: skip


@bp.get("/<int:shipment_id>")
@bp.response(200, ParcelOut)
@bp.alt_response(404, response="NOT_FOUND")
def get_parcel(shipment_id: int):
    """Read one parcel's tracking number and link"""
    rows = parcel_rows(db_session(), before=shipment_id + 1, limit=1)
    if not rows or rows[0]["shipment"].id != shipment_id:
        abort(404)
    return _out(rows[0])
