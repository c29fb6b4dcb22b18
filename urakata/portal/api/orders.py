"""/api/v1/orders: the key's shop's orders — take one in, list, read, cancel.

The body of a new order is checked by the order service itself (``load_order`` inside
``intake``): the view hands it over unread, so the 422 names each field the way the
service flattens them (``ship_to.prefecture``, ``lines[0].quantity``). An
``Idempotency-Key`` header makes a retried POST safe: the same key and body get the first
answer again (``Idempotent-Replayed: true``), another body with that key gets 409. The key's
row is written in the order's transaction, so a refused request leaves no trace.
Another shop's order id answers 404 like a missing one.
"""

from __future__ import annotations

import marshmallow as ma
from flask import current_app, url_for
from flask_smorest import abort
from marshmallow import fields, validate
from werkzeug.exceptions import Conflict

from urakata.platform.fields import SingleLine
from urakata.platform.tenancy import NotFound
from urakata.portal.api.blueprint import ApiBlueprint
from urakata.portal.api.products import api_actor
from urakata.portal.api.schemas import StrictSchema
from urakata.portal.requestdb import db_session
from urakata.tenants.orders import idempotency, schemas
from urakata.tenants.orders.models import PAYMENT_STATUSES, STATUSES
from urakata.tenants.orders.services import (
    HOLD_CODES,
    IllegalTransition,
    OrderConflict,
    OrderFilter,
    OrderInvalid,
    StaleOrder,
    cancel,
    get_order,
    intake,
    list_orders,
)

PAGE_MAX = 200
# Printable ASCII (HTTP servers refuse line breaks in header values before we see them).
IDEMPOTENCY_KEY = f"^[ -~]{{1,{idempotency.KEY_MAX}}}$"


class OrdersBlueprint(ApiBlueprint):
    def register_views_in_doc(self, api, app, spec, **kwargs):
        # The order schemas' own field classes need an OpenAPI type before the paths resolve.
        for field_class, base in (
            (schemas.Prefecture, fields.String),
            (schemas.Address, fields.String),
            (schemas.Notes, fields.String),
            (schemas.DeliveryDate, fields.Date),
        ):
            api.register_field(field_class, base)
        super().register_views_in_doc(api, app, spec, **kwargs)


bp = OrdersBlueprint(
    "api_orders",
    __name__,
    url_prefix="/orders",
    description=(
        "The shop's orders: taken in from the shop's systems (safe to retry with an"
        " Idempotency-Key), checked on intake (hold reasons an operator acts on), listed,"
        " read and cancelled."
    ),
)


class OrderIn(schemas.OrderIn):
    """A new order. A date-time without an offset is read in the shop's time zone.

    ``channel`` defaults to ``api``; a shop forwarding a cart's order names the cart
    (``shopify``, ``rakuten``…) so the cart's order number is unique per channel.
    """

    def load(self, data, **kwargs):
        # Documentation only: the order service validates the body (and names the fields).
        return data


class IdempotencyHeaders(ma.Schema):
    idempotency_key = fields.String(
        data_key="Idempotency-Key",
        validate=validate.Regexp(
            IDEMPOTENCY_KEY,
            error=f"Use 1 to {idempotency.KEY_MAX} printable ASCII characters.",
        ),
        metadata={
            "description": (
                "Makes a retry safe: the same key and body within the shop get the first"
                " answer again; the same key with another body gets 409."
            )
        },
    )


class HoldOut(schemas.HoldOut):
    message = fields.Method("_message", metadata={"type": "string"})


def _object(description: str, names: tuple[str, ...]) -> dict:
    return {
        "type": "object",
        "description": description,
        "properties": {name: {"type": "string"} for name in names},
    }


class OrderOut(schemas.OrderOut):
    """An order as the shop's systems read it; times are UTC (ISO 8601), money in yen."""

    holds = fields.List(
        fields.Nested(HoldOut),
        metadata={"description": "Why the order is on hold, one entry per reason."},
    )
    customer = fields.Method(
        "_customer",
        metadata=_object("Who ordered.", ("name", "kana", "email", "phone")),
    )
    ship_to = fields.Method(
        "_ship_to",
        metadata=_object(
            "Where it goes; prefecture is the JIS code (01–47).",
            ("name", "postal_code", "prefecture", "city", "street", "building", "phone"),
        ),
    )


ORDER_OUT = OrderOut()  # reused: dumping keeps no state in the schema


class OrderQuery(StrictSchema):
    after = fields.Integer(
        validate=validate.Range(min=0),
        metadata={"description": "Keyset: the `next_after` of the previous page."},
    )
    limit = fields.Integer(
        load_default=50,
        validate=validate.Range(min=1, max=PAGE_MAX),
        metadata={"description": f"Orders per page, 1 to {PAGE_MAX} (default 50)."},
    )
    status = fields.String(validate=validate.OneOf(STATUSES))
    hold = fields.String(
        validate=validate.OneOf(HOLD_CODES),
        metadata={"description": "Only orders on hold for this reason."},
    )
    payment_status = fields.String(validate=validate.OneOf(PAYMENT_STATUSES))
    ship_by_until = fields.Date(
        metadata={"description": "Only orders to ship on or before this day (shop's calendar)."}
    )
    q = fields.String(
        validate=validate.Length(min=1, max=100),
        metadata={"description": "Search in the order number and the customer's name."},
    )


class OrderPage(ma.Schema):
    items = fields.List(fields.Nested(OrderOut), required=True)
    next_after = fields.Integer(
        allow_none=True,
        required=True,
        metadata={"description": "Pass as `after` for the next page; null on the last page."},
    )


class CancelIn(StrictSchema):
    reason = SingleLine(
        max_length=200,
        required=True,
        validate=validate.Length(min=1, error="Say why the order is cancelled."),
        metadata={"description": "Why the order is cancelled (kept on the order's record)."},
    )
    version = fields.Integer(
        strict=True,
        validate=validate.Range(min=1),
        metadata={"description": "The version you read; if the order changed since, 409."},
    )


def _order_or_404(order_id: int):
    try:
        return get_order(db_session(), order_id)
    except NotFound:
        abort(404)


def _created(body: dict, *, replayed: bool = False):
    response = current_app.json.response(body)
    response.status_code = 201
    response.headers["Location"] = url_for("api_orders.get_shop_order", order_id=body["id"])
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@bp.get("")
@bp.arguments(OrderQuery, location="query", as_kwargs=True)
@bp.response(200, OrderPage)
def list_shop_orders(limit: int, after=None, q=None, **filters):
    """List the shop's orders

    Newest first (by id), a page at a time: pass the page's `next_after` as `after` to
    read on. Filters combine; `q` matches part of the order number or a name.
    """
    page = list_orders(
        db_session(), OrderFilter(query=q or "", **filters), after_id=after, limit=limit
    )
    return {"items": page.items, "next_after": page.next_after}


@bp.post("")
@bp.arguments(IdempotencyHeaders, location="headers", as_kwargs=True)
@bp.arguments(OrderIn)
@bp.response(
    201,
    OrderOut,
    headers={
        "Location": {"description": "The order's URL.", "schema": {"type": "string"}},
        "Idempotent-Replayed": {
            "description": "`true` when this is the stored answer to an earlier request.",
            "schema": {"type": "string", "enum": ["true"]},
        },
    },
)
@bp.alt_response(409, response="CONFLICT")
@bp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def create_shop_order(body, idempotency_key: str | None = None):
    """Take an order in

    The order is checked at once: it comes back `on_hold` with the reasons an operator
    will act on, or `confirmed` (`released`, with its ship-by time, when its payment has
    cleared). The order number (`external_id`) is unique per channel: sending it again
    answers 409, also for a cancelled order.
    """
    session = db_session()
    if idempotency_key is not None:
        digest = idempotency.request_digest(body)
        try:
            stored = idempotency.claim_key(
                session, scope=idempotency.ORDERS_CREATE, key=idempotency_key, digest=digest
            )
        except idempotency.KeyReused as exc:
            raise Conflict(description=str(exc.message)) from exc
        if stored is not None:
            return _created(stored.response, replayed=True)
    try:
        order = intake(session, actor=api_actor(), data=body)
    except OrderInvalid as exc:
        abort(422, messages={"json": exc.errors})
    except OrderConflict as exc:
        raise Conflict(description=str(exc.message)) from exc
    answer = ORDER_OUT.dump(order)
    if idempotency_key is not None:
        idempotency.record_answer(
            session,
            scope=idempotency.ORDERS_CREATE,
            key=idempotency_key,
            status_code=201,
            response=answer,
        )
    return _created(answer)


@bp.get("/<int:order_id>")
@bp.response(200, OrderOut)
@bp.alt_response(404, response="NOT_FOUND")
def get_shop_order(order_id: int):
    """Read an order"""
    return _order_or_404(order_id)


@bp.post("/<int:order_id>/cancel")
@bp.arguments(CancelIn)
@bp.response(200, OrderOut)
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
@bp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def cancel_shop_order(data: dict, order_id: int):
    """Cancel an order

    Possible until the order ships. Send the `version` you read to make sure nobody
    changed the order since (409 if they did); a cancelled order answers 409 too.
    """
    _order_or_404(order_id)
    try:
        return cancel(
            db_session(),
            actor=api_actor(),
            order_id=order_id,
            version=data.get("version"),
            reason=data["reason"],
        )
    except IllegalTransition as exc:
        raise Conflict(description=str(exc.message)) from exc
    except StaleOrder as exc:
        raise Conflict(
            description="The order was changed since that version; read it again."
        ) from exc
