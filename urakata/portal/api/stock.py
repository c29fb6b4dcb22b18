"""/api/v1/stock: the key's shop's stock — per SKU, a SKU's bins and lots, its movements.

Read-only: stock changes (receipts, transfers, allocation) are the agency's work in the
portal. The figures are those of the portal's stock list: *available* counts only what
orders can be given now (pick faces and reserve, lots within the shop's minimum
remaining shelf life). Another shop's product id answers 404 like a missing one.
"""

from __future__ import annotations

import marshmallow as ma
from flask_smorest import abort
from marshmallow import fields, validate

from urakata.platform.tenancy import NotFound
from urakata.portal.api.blueprint import ApiBlueprint
from urakata.portal.api.schemas import StrictSchema
from urakata.portal.requestdb import db_session
from urakata.tenants.stock import levels
from urakata.tenants.stock.schemas import LevelOut, MovementOut, StockItemOut

PAGE_MAX = 200

bp = ApiBlueprint(
    "api_stock",
    __name__,
    url_prefix="/stock",
    description=(
        "The shop's stock in the agency's warehouse: pieces on hand, allocated to orders and"
        " available per SKU; each SKU's bins, lots and best-before dates; its movements."
    ),
)


class StockQuery(StrictSchema):
    after = fields.String(
        validate=validate.Length(min=1, max=64),
        metadata={"description": "Keyset: the `next_after` (a SKU) of the previous page."},
    )
    limit = fields.Integer(
        load_default=50,
        validate=validate.Range(min=1, max=PAGE_MAX),
        metadata={"description": f"SKUs per page, 1 to {PAGE_MAX} (default 50)."},
    )
    q = fields.String(
        validate=validate.Length(min=1, max=100),
        metadata={"description": "Part of a SKU or product name."},
    )
    in_stock = fields.Boolean(
        load_default=False, metadata={"description": "Only SKUs with pieces on hand."}
    )


class StockPageOut(ma.Schema):
    items = fields.List(fields.Nested(StockItemOut), required=True)
    next_after = fields.String(
        allow_none=True,
        required=True,
        metadata={"description": "Pass as `after` for the next page; null on the last page."},
    )


class StockDetailOut(StockItemOut):
    levels = fields.List(fields.Nested(LevelOut), metadata={"description": "Bins with stock."})


class MovementQuery(StrictSchema):
    before = fields.Integer(
        validate=validate.Range(min=1),
        metadata={"description": "Keyset: the `next_before` of the previous page."},
    )
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=PAGE_MAX))


class MovementPageOut(ma.Schema):
    items = fields.List(fields.Nested(MovementOut), required=True)
    next_before = fields.Integer(
        allow_none=True,
        required=True,
        metadata={"description": "Pass as `before` for older movements; null at the first."},
    )


@bp.get("")
@bp.arguments(StockQuery, location="query", as_kwargs=True)
@bp.response(200, StockPageOut)
def list_stock(limit: int, in_stock: bool, after=None, q=None):
    """List the shop's stock per SKU

    By SKU, a page at a time: pass the page's `next_after` as `after` to read on.
    """
    page = levels.stock_list(
        db_session(), query=q or "", in_stock_only=in_stock, after_sku=after, limit=limit
    )
    return {"items": page.items, "next_after": page.next_after}


@bp.get("/<int:product_id>")
@bp.response(200, StockDetailOut)
@bp.alt_response(404, response="NOT_FOUND")
def get_stock(product_id: int):
    """Read a SKU's stock, bin by bin and lot by lot"""
    try:
        detail = levels.stock_detail(db_session(), product_id)
    except NotFound:
        abort(404)
    stock = detail.stock
    return {
        "product_id": stock.product_id,
        "sku": stock.sku,
        "name": stock.name,
        "lot_tracked": stock.lot_tracked,
        "on_hand": stock.on_hand,
        "allocated": stock.allocated,
        "available": stock.available,
        "levels": detail.levels,
    }


@bp.get("/<int:product_id>/movements")
@bp.arguments(MovementQuery, location="query", as_kwargs=True)
@bp.response(200, MovementPageOut)
@bp.alt_response(404, response="NOT_FOUND")
def list_movements(product_id: int, limit: int, before=None):
    """List a SKU's movements, newest first

    Receipts, allocations and their release, transfers between bins: each with the
    change of pieces on hand and allocated, the bin and lot, and what it was for.
    """
    try:
        page = levels.movement_history(db_session(), product_id, before_id=before, limit=limit)
    except NotFound:
        abort(404)
    return {"items": page.items, "next_before": page.next_before}
