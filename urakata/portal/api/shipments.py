"""/api/v1/shipments: the key's shop's shipments — each order's parcels and their state.

Read-only: shipping instructions, waves and picking are the agency's work in the portal.
A shipment is one parcel of an order (an order may ship in parts); its state runs
instructed → waved → picking → inspected → packed → shipped, or ends returned (a short
pick sent it back to allocation) or cancelled. Another shop's shipment answers 404.
"""

from __future__ import annotations

import marshmallow as ma
from flask_smorest import abort
from marshmallow import fields, validate

from urakata.platform.tenancy import NotFound
from urakata.portal.api.blueprint import ApiBlueprint
from urakata.portal.api.schemas import StrictSchema
from urakata.portal.requestdb import db_session
from urakata.tenants.fulfilment import services as fulfilment
from urakata.tenants.fulfilment.models import CARRIERS, SHIPMENT_STATUSES

PAGE_MAX = 200

bp = ApiBlueprint(
    "api_shipments",
    __name__,
    url_prefix="/shipments",
    description=(
        "The shop's shipments: each order's parcels with carrier, service, cool type, cash"
        " on delivery, delivery date and slot, and how far each has come."
    ),
)


class ShipmentQuery(StrictSchema):
    after = fields.Integer(
        validate=validate.Range(min=1),
        metadata={"description": "Keyset: the `next_after` (a shipment id) of the previous page."},
    )
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=PAGE_MAX))
    status = fields.String(validate=validate.OneOf(SHIPMENT_STATUSES))
    carrier = fields.String(validate=validate.OneOf(CARRIERS))
    order_id = fields.Integer(
        validate=validate.Range(min=1), metadata={"description": "Only this order's parcels."}
    )


class ShipmentLineOut(ma.Schema):
    sku = fields.String()
    name = fields.String()
    quantity = fields.Integer()
    scanned = fields.Integer()
    lot_no = fields.String(metadata={"description": "Empty unless the SKU is lot-tracked."})
    best_before = fields.Date(allow_none=True)


class ShipmentOut(ma.Schema):
    id = fields.Integer()
    label = fields.String(metadata={"description": "The barcode on the parcel's paperwork."})
    order_id = fields.Integer()
    part = fields.Integer(metadata={"description": "1, 2, … when the order ships in parts."})
    status = fields.String(metadata={"description": ", ".join(SHIPMENT_STATUSES)})
    carrier = fields.String()
    service = fields.String()
    cool_type = fields.String(metadata={"description": "none, chilled or frozen."})
    cod_yen = fields.Integer(metadata={"description": "Cash on delivery to collect (yen)."})
    delivery_date = fields.Date(allow_none=True)
    delivery_slot = fields.String(allow_none=True)
    gift_wrap = fields.Boolean()
    noshi = fields.String()
    unit_count = fields.Integer()
    scanned_count = fields.Integer()
    ship_by_date = fields.Date(allow_none=True)
    instructed_at = fields.DateTime()
    inspected_at = fields.DateTime(allow_none=True)
    packed_at = fields.DateTime(allow_none=True)
    shipped_at = fields.DateTime(allow_none=True)
    lines = fields.List(fields.Nested(ShipmentLineOut))


class ShipmentPageOut(ma.Schema):
    items = fields.List(fields.Nested(ShipmentOut), required=True)
    next_after = fields.Integer(
        allow_none=True,
        required=True,
        metadata={"description": "Pass as `after` for the next page; null on the last page."},
    )


@bp.get("")
@bp.arguments(ShipmentQuery, location="query", as_kwargs=True)
@bp.response(200, ShipmentPageOut)
def list_shipments(limit: int, after=None, status=None, carrier=None, order_id=None):
    """List the shop's shipments

    By id, a page at a time: pass the page's `next_after` as `after` to read on.
    """
    session = db_session()
    if order_id is not None:
        rows = [
            s
            for s in fulfilment.shipments_of_order(session, order_id)
            if (status is None or s.status == status)
            and (carrier is None or s.carrier == carrier)
            and (after is None or s.id > after)
        ][: limit + 1]
    else:
        rows = fulfilment.list_shipments(
            session,
            statuses=(status,) if status else None,
            carrier=carrier,
            after_id=after,
            limit=limit + 1,
        )
    page = rows[:limit]
    return {"items": page, "next_after": page[-1].id if len(rows) > limit else None}


@bp.get("/<int:shipment_id>")
@bp.response(200, ShipmentOut)
@bp.alt_response(404, response="NOT_FOUND")
def get_shipment(shipment_id: int):
    """Read a shipment with its lines"""
    try:
        return fulfilment.get_shipment(db_session(), shipment_id)
    except NotFound:
        abort(404)
