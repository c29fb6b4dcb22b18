"""/api/v1/planning: the key's shop's reorder points, forecasts, reorder proposals, daily
stock snapshots and monthly storage usage.

Read-only: reorder points are set and proposals decided in the portal, where the ledger
records who did it. Lists are keyset pages (pass the page's ``next_…`` back). Another
shop's product id answers 404 like a missing one.
"""

from __future__ import annotations

from datetime import date

import marshmallow as ma
from flask_smorest import abort
from marshmallow import fields, validate
from sqlalchemy import select

from urakata.platform.tenancy import NotFound
from urakata.portal.api.blueprint import ApiBlueprint
from urakata.portal.api.schemas import StrictSchema
from urakata.portal.requestdb import db_session
from urakata.tenants.catalog.models import Product
from urakata.tenants.catalog.services import get_product
from urakata.tenants.planning import forecasts, proposals, snapshots
from urakata.tenants.planning.models import PROPOSAL_STATUSES, ReorderPoint
from urakata.tenants.planning.schemas import (
    ForecastOut,
    ProposalOut,
    ReorderPointOut,
    SnapshotOut,
)
from urakata.tenants.planning.services import available_by_product

PAGE_MAX = 200

bp = ApiBlueprint(
    "api_planning",
    __name__,
    url_prefix="/planning",
    description=(
        "Reorder points and their low-stock state, the nightly per-SKU sales forecasts (with"
        " an 80% range and the accuracy of past forecasts), reorder proposals, and the"
        " day-end stock snapshots storage is billed from."
    ),
)


class Page(StrictSchema):
    after = fields.Integer(
        validate=validate.Range(min=0),
        metadata={"description": "Keyset: the `next_after` (a product id) of the previous page."},
    )
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=PAGE_MAX))


class PointQuery(Page):
    state = fields.String(
        validate=validate.OneOf(("ok", "low")),
        metadata={"description": "Only SKUs in this alert state (low: at or below the point)."},
    )


class PointPageOut(ma.Schema):
    items = fields.List(fields.Nested(ReorderPointOut), required=True)
    next_after = fields.Integer(allow_none=True, required=True)


class ForecastPageOut(ma.Schema):
    items = fields.List(fields.Nested(ForecastOut), required=True)
    next_after = fields.Integer(allow_none=True, required=True)


class ProposalQuery(StrictSchema):
    status = fields.String(load_default="open", validate=validate.OneOf(PROPOSAL_STATUSES))
    before = fields.Integer(
        validate=validate.Range(min=1),
        metadata={"description": "Keyset: the `next_before` of the previous page."},
    )
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=PAGE_MAX))


class ProposalPageOut(ma.Schema):
    items = fields.List(fields.Nested(ProposalOut), required=True)
    next_before = fields.Integer(allow_none=True, required=True)


class SnapshotQuery(StrictSchema):
    day = fields.Date(required=True, metadata={"description": "The shop's local day."})
    after = fields.String(
        validate=validate.Regexp(r"^[^|]{1,32}\|[^|]{1,64}$"),
        metadata={"description": "Keyset: the `next_after` (bin|SKU) of the previous page."},
    )
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class SnapshotPageOut(ma.Schema):
    items = fields.List(fields.Nested(SnapshotOut), required=True)
    next_after = fields.String(allow_none=True, required=True)


class StorageQuery(StrictSchema):
    month = fields.String(
        required=True,
        validate=validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2])$", error="Give the month as YYYY-MM."),
    )


class PartOut(ma.Schema):
    pieces = fields.Integer()
    cases = fields.Integer()


class StorageOut(ma.Schema):
    month = fields.String()
    piece_days = fields.Integer()
    bin_days = fields.Integer()
    bins_used = fields.Integer()
    opening = fields.Nested(PartOut, allow_none=True)
    on_10th = fields.Nested(PartOut, allow_none=True)
    on_20th = fields.Nested(PartOut, allow_none=True)
    receipts = fields.Nested(PartOut)
    sekisu = fields.Nested(PartOut, allow_none=True, metadata={"description": "積数 (3期制)."})
    missing_days = fields.List(fields.Date())


def _products(session, ids) -> dict[int, str]:
    if not ids:
        return {}
    return dict(session.execute(select(Product.id, Product.sku).where(Product.id.in_(ids))).all())


@bp.get("/reorder-points")
@bp.arguments(PointQuery, location="query", as_kwargs=True)
@bp.response(200, PointPageOut)
def list_reorder_points(limit: int, after=None, state=None):
    """List the reorder points, by product id"""
    session = db_session()
    stmt = select(ReorderPoint).order_by(ReorderPoint.product_id).limit(limit + 1)
    if after is not None:
        stmt = stmt.where(ReorderPoint.product_id > after)
    if state:
        stmt = stmt.where(ReorderPoint.alert_state == state)
    found = list(session.scalars(stmt))
    page = found[:limit]
    ids = [p.product_id for p in page]
    skus, available = _products(session, ids), available_by_product(session, ids)
    items = [
        {"product_id": p.product_id, "sku": skus.get(p.product_id), "mode": p.mode,
         "reorder_point": p.reorder_point, "lead_time_days": p.lead_time_days,
         "alert_state": p.alert_state, "available": available.get(p.product_id, 0),
         "version": p.version}
        for p in page
    ]  # fmt: skip
    return {"items": items, "next_after": page[-1].product_id if len(found) > limit else None}


def _forecast_out(forecast, sku: str) -> dict:
    data = {name: getattr(forecast, name) for name in ForecastOut().fields if name != "sku"}
    return {**data, "sku": sku}


@bp.get("/forecasts")
@bp.arguments(Page, location="query", as_kwargs=True)
@bp.response(200, ForecastPageOut)
def list_forecasts(limit: int, after=None):
    """List each SKU's latest forecast, by product id"""
    session = db_session()
    stmt = select(Product.id, Product.sku).order_by(Product.id).limit(limit + 1)
    if after is not None:
        stmt = stmt.where(Product.id > after)
    rows = session.execute(stmt).all()
    page = rows[:limit]
    latest = forecasts.latest_forecasts(session, [r.id for r in page])
    items = [_forecast_out(latest[r.id], r.sku) for r in page if r.id in latest]
    return {"items": items, "next_after": page[-1].id if len(rows) > limit else None}


@bp.get("/forecasts/<int:product_id>")
@bp.response(200, ForecastOut)
@bp.alt_response(404, response="NOT_FOUND")
def get_forecast(product_id: int):
    """Read a SKU's latest forecast (404: no such SKU, or never forecast: no sales)"""
    session = db_session()
    try:
        product = get_product(session, product_id)
    except NotFound:
        abort(404)
    found = forecasts.latest_forecasts(session, [product.id]).get(product.id)
    if found is None:
        abort(404, message="This SKU has no forecast: it has no sales in the last year.")
    return _forecast_out(found, product.sku)


@bp.get("/proposals")
@bp.arguments(ProposalQuery, location="query", as_kwargs=True)
@bp.response(200, ProposalPageOut)
def list_proposals(status: str, limit: int, before=None):
    """List reorder proposals of a status, newest first"""
    rows, next_before = proposals.list_proposals(
        db_session(), status=status, before_id=before, limit=limit
    )
    items = [
        {**{n: getattr(r.proposal, n) for n in ProposalOut().fields if n != "sku"}, "sku": r.sku}
        for r in rows
    ]
    return {"items": items, "next_before": next_before}


@bp.get("/snapshots")
@bp.arguments(SnapshotQuery, location="query", as_kwargs=True)
@bp.response(200, SnapshotPageOut)
def list_snapshots(day: date, limit: int, after=None):
    """The stock at the end of a local day, by bin and SKU (pieces, and pieces received)"""
    cursor = tuple(after.split("|", 1)) if after else None
    rows = snapshots.snapshot_rows(db_session(), day, after=cursor, limit=limit + 1)
    page = rows[:limit]
    more = len(rows) > limit
    return {"items": page, "next_after": f"{page[-1]['bin']}|{page[-1]['sku']}" if more else None}


@bp.get("/storage")
@bp.arguments(StorageQuery, location="query", as_kwargs=True)
@bp.response(200, StorageOut)
def storage(month: str):
    """A month's storage usage: per day, per bin, and the 3期制's 積数"""
    year, number = (int(p) for p in month.split("-"))
    usage = snapshots.storage_usage(db_session(), date(year, number, 1))

    def part(value):
        return None if value is None else {"pieces": value[0], "cases": value[1]}

    return {
        "month": month,
        "piece_days": usage.piece_days,
        "bin_days": usage.bin_days,
        "bins_used": usage.bins_used,
        "opening": part(usage.opening),
        "on_10th": part(usage.on_10th),
        "on_20th": part(usage.on_20th),
        "receipts": part(usage.receipts),
        "sekisu": part(usage.sekisu),
        "missing_days": usage.missing,
    }
