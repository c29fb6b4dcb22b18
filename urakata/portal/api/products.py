"""/api/v1/products: the key's shop's catalog — list, read, create and change products.

The key decides the shop: another shop's product id answers 404 like a missing one.
Bodies are validated by the catalog's own schemas (``ProductIn``, ``ProductPatch``; unknown
fields are refused) in the shop's time zone; what only the shop can tell (a SKU or code
already used) comes back from the service in the same 422 shape, errors keyed by field.
A change needs the version it was made on: an older one answers 409.
"""

from __future__ import annotations

import marshmallow as ma
from flask import g, has_app_context, request
from flask_smorest import Api, abort
from marshmallow import fields, validate
from werkzeug.exceptions import Conflict

from urakata.platform.audit import Actor
from urakata.platform.fields import SingleLine, WholeNumber
from urakata.platform.tenancy import NotFound
from urakata.portal.api.blueprint import ApiBlueprint
from urakata.portal.api.schemas import StrictSchema
from urakata.portal.observability import request_id
from urakata.portal.requestdb import db_session
from urakata.tenants.catalog import schemas
from urakata.tenants.catalog.models import STATUSES
from urakata.tenants.catalog.services import (
    ProductInvalid,
    StaleProduct,
    create_product,
    get_product,
    list_products,
    update_product,
)

PAGE_MAX = 200

bp = ApiBlueprint(
    "api_products",
    __name__,
    url_prefix="/products",
    description=(
        "The shop's products: SKU, JAN/GTIN and case ITF-14 (check digits verified), names,"
        " price and tax rate, sizes and weight (the parcel size class is computed),"
        " temperature zone and lot tracking."
    ),
)


def _shop_zone() -> str:
    shop = g.get("shop") if has_app_context() else None
    return shop.timezone if shop is not None else "Asia/Tokyo"


class ProductIn(schemas.ProductIn):
    """A new product. A date-time without an offset is read in the shop's time zone."""

    @property
    def context_zone(self) -> str:  # the request's shop (one instance serves every request)
        return _shop_zone()


class ProductPatch(schemas.ProductPatch):
    """Changes to a product: the fields given, and the ``version`` they were made on."""

    def __init__(self, **kwargs):
        # Every field may be left out but the version (schemas.ProductPatch lets it go too).
        partial = tuple(name for name in self._declared_fields if name != "version")
        ma.Schema.__init__(self, partial=partial, **kwargs)

    @property
    def context_zone(self) -> str:
        return _shop_zone()


class ProductOut(schemas.ProductOut):
    """A product as the shop's systems read it; times are UTC (ISO 8601)."""

    barcodes = fields.Method(
        "_shop_codes",
        metadata={
            "type": "array",
            "items": {"type": "string"},
            "description": "The shop's own codes (the JAN and ITF-14 have their fields).",
        },
    )


class ProductQuery(StrictSchema):
    after = fields.Integer(
        validate=validate.Range(min=0),
        metadata={"description": "Keyset: the `next_after` of the previous page."},
    )
    limit = fields.Integer(
        load_default=50,
        validate=validate.Range(min=1, max=PAGE_MAX),
        metadata={"description": f"Products per page, 1 to {PAGE_MAX} (default 50)."},
    )
    status = fields.String(validate=validate.OneOf(STATUSES))
    updated_since = fields.AwareDateTime(
        metadata={"description": "Only products changed at or after this time (with offset)."}
    )
    q = fields.String(
        validate=validate.Length(min=1, max=100),
        metadata={"description": "Search in SKU and names, or an exact JAN or barcode."},
    )


class ProductPage(ma.Schema):
    items = fields.List(fields.Nested(ProductOut), required=True)
    next_after = fields.Integer(
        allow_none=True,
        required=True,
        metadata={"description": "Pass as `after` for the next page; null on the last page."},
    )


def register_field_types(api: Api) -> None:
    """Teach the OpenAPI generator the types of the catalog's own fields."""
    for field_class, base in (
        (schemas.Sku, fields.String),
        (schemas.Gtin, fields.String),
        (schemas.Flag, fields.Boolean),
        (schemas.LocalDateTime, fields.DateTime),
        (SingleLine, fields.String),
        (WholeNumber, fields.Integer),
    ):
        api.register_field(field_class, base)
    api.ma_plugin.converter.add_attribute_function(_catalog_field_properties)


def _catalog_field_properties(self, field, **kwargs) -> dict:
    """OpenAPI properties of the catalog fields a plain type cannot say."""
    if isinstance(field, schemas.OneOf):
        numbers = all(isinstance(c, int) for c in field.choices)
        return {"type": "integer" if numbers else "string", "enum": list(field.choices)}
    if isinstance(field, schemas.Barcodes):
        return {
            "type": "array",
            "items": {"type": "string", "maxLength": 32},
            "description": "The shop's own codes (a comma-separated text is read too).",
        }
    return {}


def api_actor() -> Actor:
    key = g.api_key
    return Actor(
        type="api_key",
        id=str(key.id),
        label=key.name,
        request_id=request_id(),
        ip=request.remote_addr or "",
    )


def _invalid(exc: ProductInvalid):
    abort(422, messages={"json": exc.errors})


def _product_or_404(product_id: int):
    try:
        return get_product(db_session(), product_id)
    except NotFound:
        abort(404)


@bp.get("")
@bp.arguments(ProductQuery, location="query", as_kwargs=True)
@bp.response(200, ProductPage)
def list_shop_products(limit: int, after=None, status=None, updated_since=None, q=None):
    """List the shop's products

    Oldest first (by id), a page at a time: pass the page's `next_after` as `after` to read
    on. Filters combine; `q` matches part of a SKU or name, or a whole JAN or barcode.
    """
    page = list_products(
        db_session(),
        query=q or "",
        status=status,
        updated_since=updated_since,
        after_id=after,
        limit=limit,
    )
    return {"items": page.items, "next_after": page.next_after}


@bp.post("")
@bp.arguments(ProductIn)
@bp.response(201, ProductOut)
@bp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def create_shop_product(data: dict):
    """Add a product

    The SKU, the JAN and every barcode must be new in the shop. Sizes in millimetres and
    the weight in grams give the parcel size class.
    """
    try:
        return create_product(db_session(), actor=api_actor(), data=data, zone=_shop_zone())
    except ProductInvalid as exc:
        _invalid(exc)


@bp.get("/<int:product_id>")
@bp.response(200, ProductOut)
@bp.alt_response(404, response="NOT_FOUND")
def get_shop_product(product_id: int):
    """Read a product"""
    return _product_or_404(product_id)


@bp.patch("/<int:product_id>")
@bp.arguments(ProductPatch)
@bp.response(200, ProductOut)
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
@bp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def update_shop_product(data: dict, product_id: int):
    """Change a product

    Send the fields to change and the `version` you read. If the product changed since,
    the answer is 409: read it again and decide.
    """
    _product_or_404(product_id)
    try:
        return update_product(
            db_session(), actor=api_actor(), product_id=product_id, data=data, zone=_shop_zone()
        )
    except ProductInvalid as exc:
        _invalid(exc)
    except StaleProduct as exc:
        raise Conflict(
            description="The product was changed since that version; read it again."
        ) from exc
