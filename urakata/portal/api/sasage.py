"""/api/v1/sasage: the key's shop's sasage — request it for SKUs, follow it, fetch the
approved material (photos, measurements, copy) for the malls.

The body of a request is checked by the sasage service itself, so the 422 names each
entry the way the service does (``skus[2]``). Photos are served here too, to the key's
shop only: another shop's request or photo id answers 404 like a missing one.
"""

from __future__ import annotations

import marshmallow as ma
from flask import current_app, send_file, url_for
from flask_smorest import abort
from marshmallow import fields, validate

from urakata.platform.tenancy import NotFound
from urakata.portal.api.blueprint import ApiBlueprint
from urakata.portal.api.products import api_actor
from urakata.portal.api.schemas import StrictSchema
from urakata.portal.requestdb import db_session
from urakata.tenants.sasage import copywriting, measuring, photos, services
from urakata.tenants.sasage.images import RENDITIONS
from urakata.tenants.sasage.schemas import (
    NOTE_MAX,
    SKUS_MAX,
    CopyOut,
    ImageOut,
    MeasurementOut,
    TaskOut,
)
from urakata.tenants.sasage.schemas import RequestOut as _RequestOut
from urakata.tenants.sasage.storage import FileMissing, FileStore

PAGE_MAX = 200

bp = ApiBlueprint(
    "api_sasage",
    __name__,
    url_prefix="/sasage",
    description=(
        "Sasage (ささげ): photography, measurement and copy of the shop's SKUs, done by the"
        " agency and approved by the shop. A SKU is complete when all three are approved."
    ),
)


class SasageRequestIn(StrictSchema):
    """SKUs to request sasage for (each must be in the catalog and not requested yet)."""

    skus = fields.List(
        fields.String(),
        required=True,
        validate=validate.Length(min=1, max=SKUS_MAX),
        metadata={"description": f"1 to {SKUS_MAX} SKUs of the shop's catalog."},
    )
    note = fields.String(
        load_default="",
        validate=validate.Length(max=NOTE_MAX),
        metadata={"description": "What the agency should know (angles, colours, sizes)."},
    )


class SasageQuery(StrictSchema):
    after = fields.Integer(
        validate=validate.Range(min=0),
        metadata={"description": "Keyset: the `next_after` of the previous page."},
    )
    limit = fields.Integer(
        load_default=50,
        validate=validate.Range(min=1, max=PAGE_MAX),
        metadata={"description": f"Requests per page, 1 to {PAGE_MAX} (default 50)."},
    )
    state = fields.String(
        validate=validate.OneOf(services.LIST_STATES),
        metadata={
            "description": "open (not complete), waiting (for the shop), returned, complete."
        },
    )
    q = fields.String(
        validate=validate.Length(min=1, max=100),
        metadata={"description": "Part of a SKU or product name."},
    )


class SasageRequestOut(_RequestOut):
    """A request and its three tasks; newest requests come first in lists."""


class SasagePage(ma.Schema):
    items = fields.List(fields.Nested(SasageRequestOut), required=True)
    next_after = fields.Integer(
        allow_none=True,
        required=True,
        metadata={"description": "Pass as `after` for the next page; null on the last page."},
    )


class SasageCreated(ma.Schema):
    items = fields.List(fields.Nested(SasageRequestOut), required=True)


class PhotoOut(ImageOut):
    renditions = fields.Method(
        "_urls",
        metadata={
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": "Where each rendition is (JPEG, sRGB, no metadata), once ready.",
        },
    )

    def _urls(self, image) -> dict[str, str]:
        if image.status != "ready":
            return {}
        return {
            name: url_for("api_sasage.get_sasage_photo", request_id=image.request_id,
                          image_id=image.id, rendition=name)
            for name in image.renditions
        }  # fmt: skip


class SasageDetailOut(ma.Schema):
    """A request with its material: photos in order, the measurement, the latest copy."""

    id = fields.Integer()
    sku = fields.String()
    product_name = fields.String()
    note = fields.String()
    due_date = fields.Date()
    requested_at = fields.DateTime()
    complete = fields.Boolean()
    completed_at = fields.DateTime(allow_none=True)
    tasks = fields.List(fields.Nested(TaskOut))
    photos = fields.List(fields.Nested(PhotoOut))
    measurement = fields.Nested(MeasurementOut, allow_none=True)
    copy = fields.Nested(CopyOut, allow_none=True)


def _request_or_404(request_id: int):
    try:
        return services.get_request(db_session(), request_id)
    except NotFound:
        abort(404)


@bp.get("")
@bp.arguments(SasageQuery, location="query", as_kwargs=True)
@bp.response(200, SasagePage)
def list_sasage(limit: int, after=None, state=None, q=None):
    """List the shop's sasage requests

    Newest first, a page at a time: pass the page's `next_after` as `after` to read on.
    """
    page = services.list_requests(
        db_session(), state=state, query=q or "", after_id=after, limit=limit
    )
    return {"items": page.items, "next_after": page.next_after}


@bp.post("")
@bp.arguments(SasageRequestIn)
@bp.response(201, SasageCreated)
@bp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def request_sasage(data: dict):
    """Request sasage for SKUs

    All or nothing: a SKU the shop does not have, one given twice or one requested
    already is named in the 422 (`skus[2]`). The due date is the contract's turnaround in
    business days on the shop's calendar.
    """
    try:
        created = services.request_sasage(db_session(), actor=api_actor(), data=data)
    except services.SasageInvalid as exc:
        abort(422, messages={"json": exc.errors})
    return {"items": created}


@bp.get("/<int:request_id>")
@bp.response(200, SasageDetailOut)
@bp.alt_response(404, response="NOT_FOUND")
def get_sasage(request_id: int):
    """Read a request with its photos, measurement and copy"""
    current = _request_or_404(request_id)
    session = db_session()
    return {
        "id": current.id,
        "sku": current.product.sku,
        "product_name": current.product.name,
        "note": current.note,
        "due_date": current.due_date,
        "requested_at": current.requested_at,
        "complete": current.is_complete,
        "completed_at": current.completed_at,
        "tasks": current.tasks,
        "photos": photos.list_photos(session, current.id),
        "measurement": measuring.get_measurement(session, current.id),
        "copy": copywriting.latest_copy(session, current.id),
    }


@bp.get("/<int:request_id>/images/<int:image_id>/<rendition>")
@bp.doc(
    responses={
        "200": {
            "description": "The rendition: a JPEG in sRGB without metadata.",
            "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}},
        }
    }
)
@bp.alt_response(404, response="NOT_FOUND")
def get_sasage_photo(request_id: int, image_id: int, rendition: str):
    """Download a photo

    `rendition` is `web` (1,200 px on the longer side) or `thumb` (320 px).
    """
    if rendition not in RENDITIONS:
        abort(404)
    try:
        image = photos.get_photo(db_session(), request_id, image_id)
        store = FileStore.at(current_app.config["URAKATA_SETTINGS"].files_dir)
        path = store.existing(image.tenant_id, image.id, f"{rendition}.jpg")
    except (NotFound, FileMissing):
        abort(404)
    if image.status != "ready":
        abort(404)
    response = send_file(path, mimetype="image/jpeg", conditional=True, etag=True)
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response
