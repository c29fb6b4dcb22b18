"""/api/v1/inbound: the key's shop's inbound notices (入荷予定, ASN) — send one, follow
its receiving, read its discrepancy report and comment on it.

The body of a notice is checked by the inbound service itself, so the 422 names each
line the way the portal does (``lines[2].sku``). Another shop's notice answers 404 like
a missing one. An ``Idempotency-Key`` header makes a retried POST safe: the same key
answers the notice it made the first time.
"""

from __future__ import annotations

import marshmallow as ma
from flask import url_for
from flask_smorest import abort
from marshmallow import fields, validate
from sqlalchemy import select

from urakata.platform.tenancy import NotFound
from urakata.portal.api.blueprint import ApiBlueprint
from urakata.portal.api.products import api_actor
from urakata.portal.api.schemas import StrictSchema
from urakata.portal.requestdb import db_session
from urakata.tenants.inbound import services
from urakata.tenants.inbound.models import InboundNotice
from urakata.tenants.stock.errors import DuplicateSubmission

PAGE_MAX = 200

bp = ApiBlueprint(
    "api_inbound",
    __name__,
    url_prefix="/inbound",
    description=(
        "Inbound notices (入荷予定, ASN): what the shop sends to the agency's warehouse."
        " The agency receives against the notice and closes it with a discrepancy report"
        " (expected against received, damaged and unknown goods) the shop comments on."
    ),
)


class InboundLineIn(StrictSchema):
    sku = fields.String(metadata={"description": "The SKU (or give `product_id`)."})
    product_id = fields.Integer(strict=True, metadata={"description": "The product's id."})
    quantity = fields.Raw(
        required=True, metadata={"type": "integer", "description": "Pieces expected (1 or more)."}
    )
    lot = fields.String(metadata={"description": "Lot number, for SKUs tracked by lot."})
    best_before = fields.String(metadata={"description": "The lot's best-before, YYYY-MM-DD."})


class InboundIn(StrictSchema):
    expected_on = fields.String(
        required=True, metadata={"description": "The day the goods arrive, YYYY-MM-DD."}
    )
    carrier = fields.String(load_default="", metadata={"description": "Such as ヤマト運輸."})
    tracking_number = fields.String(load_default="")
    reference = fields.String(
        load_default="", metadata={"description": "The shop's own reference (purchase order)."}
    )
    note = fields.String(load_default="")
    lines = fields.List(
        fields.Nested(InboundLineIn),
        required=True,
        validate=validate.Length(min=1, max=services.LINES_MAX),
    )


class IdempotencyHeaders(ma.Schema):
    idempotency_key = fields.String(
        data_key="Idempotency-Key",
        validate=validate.Regexp(
            r"^[!-~]{8,200}$", error="Use 8 to 200 printable ASCII characters."
        ),
        metadata={"description": "Makes a retry safe: the same key answers the first notice."},
    )


class InboundQuery(StrictSchema):
    before = fields.Integer(
        validate=validate.Range(min=1),
        metadata={"description": "Keyset: the `next_before` of the previous page."},
    )
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=PAGE_MAX))
    state = fields.String(
        validate=validate.OneOf(services.LIST_STATES),
        metadata={"description": "open, receiving, closed, cancelled, or discrepancy."},
    )
    q = fields.String(
        validate=validate.Length(min=1, max=100),
        metadata={"description": "Part of the notice number, reference or tracking number."},
    )


class InboundLineOut(ma.Schema):
    line_no = fields.Integer()
    product_id = fields.Integer()
    sku = fields.Function(lambda line: line.product.sku)
    quantity = fields.Integer()
    lot = fields.String(attribute="lot_no")
    best_before = fields.Date(allow_none=True)


class InboundOut(ma.Schema):
    id = fields.Integer()
    number = fields.String(metadata={"description": "The agency's number, IN-000123."})
    status = fields.String(metadata={"description": "open, receiving, closed or cancelled."})
    source = fields.String()
    reference = fields.String()
    expected_on = fields.Date()
    carrier = fields.String()
    tracking_number = fields.String()
    note = fields.String()
    created_at = fields.AwareDateTime()
    arrived_at = fields.AwareDateTime(allow_none=True)
    stocked_at = fields.AwareDateTime(allow_none=True)
    closed_at = fields.AwareDateTime(allow_none=True)
    dock_to_stock_seconds = fields.Integer(
        allow_none=True,
        metadata={"description": "From the first piece received to the last put away."},
    )
    has_discrepancy = fields.Boolean(allow_none=True)
    lines = fields.List(fields.Nested(InboundLineOut))


class CommentOut(ma.Schema):
    id = fields.Integer()
    side = fields.String(metadata={"description": "shop or agency."})
    author_name = fields.String()
    body = fields.String()
    created_at = fields.AwareDateTime()


class InboundDetailOut(InboundOut):
    discrepancy = fields.Dict(
        allow_none=True,
        metadata={
            "description": "Fixed at closing: lines (expected, received, damaged, difference,"
            " outcome exact/over/short), not_on_notice, unknown, totals."
        },
    )
    comments = fields.List(fields.Nested(CommentOut))


class InboundPage(ma.Schema):
    items = fields.List(fields.Nested(InboundOut), required=True)
    next_before = fields.Integer(allow_none=True, required=True)


class CommentIn(StrictSchema):
    body = fields.String(required=True, metadata={"description": "Up to 2,000 characters."})


def _notice_or_404(notice_id: int) -> InboundNotice:
    try:
        return services.get_notice(db_session(), notice_id)
    except NotFound:
        abort(404)


def _detail(notice: InboundNotice) -> dict:
    answer = {name: getattr(notice, name) for name in InboundOut._declared_fields}
    answer["discrepancy"] = notice.discrepancy
    answer["comments"] = services.comments_of(db_session(), notice.id)
    return answer


@bp.get("")
@bp.arguments(InboundQuery, location="query", as_kwargs=True)
@bp.response(200, InboundPage)
def list_inbound(limit: int, before=None, state=None, q=None):
    """List the shop's inbound notices

    Newest first, a page at a time: pass the page's `next_before` as `before` to read on.
    `state=discrepancy` lists closed notices whose receipt differed from the notice.
    """
    page = services.list_notices(
        db_session(), state=state or "", query=q or "", before_id=before, limit=limit
    )
    return {"items": page.items, "next_before": page.next_before}


@bp.post("")
@bp.arguments(IdempotencyHeaders, location="headers", as_kwargs=True)
@bp.arguments(InboundIn)
@bp.response(201, InboundDetailOut)
@bp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def create_inbound(body: dict, idempotency_key: str | None = None):
    """Send an inbound notice

    All or nothing: a SKU the shop does not have, a quantity below 1, a lot on a SKU not
    tracked by lot are named in the 422 (`lines[2].sku`).
    """
    session = db_session()
    try:
        notice = services.create_notice(
            session,
            api_actor(),
            lines=body["lines"],
            expected_on=body["expected_on"],
            carrier=body["carrier"],
            tracking_number=body["tracking_number"],
            reference=body["reference"],
            note=body["note"],
            source="api",
            key=f"api:{idempotency_key}" if idempotency_key else None,
        )
    except DuplicateSubmission:
        notice = session.scalar(
            select(InboundNotice).where(InboundNotice.idempotency_key == f"api:{idempotency_key}")
        )
        return _detail(notice), 200, {"Idempotent-Replayed": "true"}
    except services.InboundInvalid as exc:
        abort(422, messages={"json": exc.errors})
    location = url_for("api_inbound.get_inbound", notice_id=notice.id)
    return _detail(notice), 201, {"Location": location}


@bp.get("/<int:notice_id>")
@bp.response(200, InboundDetailOut)
@bp.alt_response(404, response="NOT_FOUND")
def get_inbound(notice_id: int):
    """Read a notice with its lines, discrepancy report and comments"""
    return _detail(_notice_or_404(notice_id))


@bp.post("/<int:notice_id>/comments")
@bp.arguments(CommentIn)
@bp.response(201, CommentOut)
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def comment_inbound(body: dict, notice_id: int):
    """Comment on a notice's discrepancy report"""
    notice = _notice_or_404(notice_id)
    try:
        return services.add_comment(
            db_session(), api_actor(), notice.id, side="shop", body=body["body"]
        )
    except services.InboundInvalid as exc:
        abort(422, messages={"json": exc.errors})
