"""/api/v1/stocktakes: the key's shop's stocktakes (棚卸し) — read them with their lines
and count history, and give the shop's decision on variances above its threshold.

A decision names the stocktake's `version` it saw (409 when it changed meanwhile).
Counting and the agency's approval are the agency's work in the portal. Another shop's
stocktake answers 404 like a missing one.
"""

from __future__ import annotations

import marshmallow as ma
from flask_smorest import abort
from marshmallow import fields, validate
from werkzeug.exceptions import Conflict

from urakata.platform.tenancy import NotFound
from urakata.portal.api.blueprint import ApiBlueprint
from urakata.portal.api.products import api_actor
from urakata.portal.api.schemas import StrictSchema
from urakata.portal.requestdb import db_session
from urakata.tenants.stocktake import services

PAGE_MAX = 200

bp = ApiBlueprint(
    "api_stocktakes",
    __name__,
    url_prefix="/stocktakes",
    description=(
        "Stocktakes (棚卸し) of the shop's stock: counted by the agency, approved by an agency"
        " admin and, when the value of the variances exceeds the shop's threshold, by the"
        " shop. Adjustments post to the stock only after approval."
    ),
)


class StocktakeQuery(StrictSchema):
    before = fields.Integer(validate=validate.Range(min=1))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=PAGE_MAX))
    state = fields.String(
        validate=validate.OneOf(services.LIST_STATES),
        metadata={"description": "counting, review, shop_review, posted, disputed, cancelled."},
    )


class CountOut(ma.Schema):
    round = fields.Integer()
    quantity = fields.Integer()
    counted_by = fields.String(attribute="counted_by_name")
    counted_at = fields.AwareDateTime()


class LineOut(ma.Schema):
    id = fields.Integer()
    sku = fields.Function(lambda line: line.product.sku)
    location = fields.Function(lambda line: line.location.code)
    lot = fields.String(attribute="lot_no")
    system_qty = fields.Integer(allow_none=True)
    counted_qty = fields.Integer(allow_none=True)
    variance = fields.Integer(allow_none=True)
    variance_value_yen = fields.Integer()
    reason = fields.String()


class StocktakeOut(ma.Schema):
    id = fields.Integer()
    number = fields.String()
    scope = fields.String(metadata={"description": "bins, skus, top_movers or full."})
    status = fields.String()
    blind = fields.Boolean()
    variance_value_yen = fields.Integer()
    shop_threshold_yen = fields.Integer(allow_none=True)
    planned_at = fields.AwareDateTime()
    submitted_at = fields.AwareDateTime(allow_none=True)
    agency_approved_at = fields.AwareDateTime(allow_none=True)
    shop_decided_at = fields.AwareDateTime(allow_none=True)
    shop_comment = fields.String()
    posted_at = fields.AwareDateTime(allow_none=True)
    version = fields.Integer(metadata={"description": "Name it in a decision."})


class StocktakeDetailOut(StocktakeOut):
    lines = fields.List(
        fields.Dict(),
        metadata={
            "description": "Each line (sku, location, lot, system_qty, counted_qty, variance,"
            " variance_value_yen, reason) with its counts; empty while a blind count runs."
        },
    )


class StocktakePage(ma.Schema):
    items = fields.List(fields.Nested(StocktakeOut), required=True)
    next_before = fields.Integer(allow_none=True, required=True)


class DecisionIn(StrictSchema):
    version = fields.Integer(required=True, strict=True)
    approve = fields.Boolean(
        required=True, metadata={"description": "true approves, false disputes."}
    )
    comment = fields.String(
        load_default="", metadata={"description": "Required to dispute; up to 2,000 characters."}
    )


def _detail(stocktake_id: int) -> dict:
    session = db_session()
    try:
        stocktake = services.get_stocktake(session, stocktake_id)
    except NotFound:
        abort(404)
    answer = {name: getattr(stocktake, name) for name in StocktakeOut._declared_fields}
    answer["lines"] = []
    if stocktake.blind and stocktake.status == "counting":
        return answer  # a blind count shows nothing until it is submitted
    counts = services.counts_of(session, stocktake)
    for line in stocktake.lines:
        row = LineOut().dump(line)
        row["counts"] = CountOut(many=True).dump(counts.get(line.id, []))
        answer["lines"].append(row)
    return answer


@bp.get("")
@bp.arguments(StocktakeQuery, location="query", as_kwargs=True)
@bp.response(200, StocktakePage)
def list_stocktakes(limit: int, before=None, state=None):
    """List the shop's stocktakes, newest first

    `state=shop_review` lists those waiting for the shop's decision.
    """
    page = services.list_stocktakes(db_session(), state=state or "", before_id=before, limit=limit)
    return {"items": page.items, "next_before": page.next_before}


@bp.get("/<int:stocktake_id>")
@bp.response(200, StocktakeDetailOut)
@bp.alt_response(404, response="NOT_FOUND")
def get_stocktake(stocktake_id: int):
    """Read a stocktake with its lines and each line's counts"""
    return _detail(stocktake_id)


@bp.post("/<int:stocktake_id>/decision")
@bp.arguments(DecisionIn)
@bp.response(200, StocktakeDetailOut)
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
@bp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def decide_stocktake(body: dict, stocktake_id: int):
    """Approve or dispute the variances as the shop

    Only a stocktake waiting for the shop (`shop_review`) takes a decision; approving
    posts the adjustments to the stock, disputing (with a comment) sends it back.
    """
    session = db_session()
    try:
        services.get_stocktake(session, stocktake_id)
        services.decide_as_shop(
            session,
            api_actor(),
            stocktake_id,
            version=body["version"],
            approve=body["approve"],
            comment=body["comment"],
        )
    except NotFound:
        abort(404)
    except services.StaleStocktake as exc:
        raise Conflict(description="The stocktake changed meanwhile: read it again.") from exc
    except services.StocktakeState as exc:
        raise Conflict(description=str(exc)) from exc
    except services.StocktakeInvalid as exc:
        abort(422, messages={"json": exc.errors})
    return _detail(stocktake_id)
