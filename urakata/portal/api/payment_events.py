"""/api/v1/orders/{id}/payment-events: payment notices from the shop's systems.

A card authorisation, a konbini payment notice, a 後払い credit result (ok / ng / hold),
a refund: each notice carries the payment service's own ``event_id``. The same notice
sent again changes nothing and answers 200 with the first recording
(``Idempotent-Replayed: true``); another notice under a used id answers 409. An
``Idempotency-Key`` header works as for new orders. The order service moves the order
(released when its payment clears, cancelled or held when a credit check says NG, as
the shop chose). Another shop's order answers 404, a cancelled order 409, a notice that
does not fit the order's payment method or amount 422 naming the field.
"""

from __future__ import annotations

import marshmallow as ma
from flask import current_app
from flask_smorest import abort
from marshmallow import fields
from werkzeug.exceptions import Conflict

from urakata.platform.tenancy import NotFound
from urakata.portal.api.blueprint import ApiBlueprint
from urakata.portal.api.orders import IdempotencyHeaders
from urakata.portal.api.products import api_actor
from urakata.portal.api.schemas import StrictSchema
from urakata.portal.requestdb import db_session
from urakata.tenants.orders import idempotency
from urakata.tenants.orders.services import IllegalTransition, OrderInvalid, StaleOrder, get_order
from urakata.tenants.payments import gates
from urakata.tenants.payments.models import PaymentEvent
from urakata.tenants.payments.settings import Choice

SCOPE = "payments.event"


class PaymentEventsBlueprint(ApiBlueprint):
    def register_views_in_doc(self, api, app, spec, **kwargs):
        api.register_field(Choice, fields.String)
        super().register_views_in_doc(api, app, spec, **kwargs)


bp = PaymentEventsBlueprint(
    "api_payment_events",
    __name__,
    url_prefix="/orders",
    description=(
        "Payment notices about an order: card authorisations, konbini and transfer payment"
        " notices, deferred-payment (後払い) credit results, refunds. Safe to resend: the"
        " notice's event_id makes a repeat change nothing."
    ),
)


class PaymentEventIn(gates.PaymentEventIn):
    """A payment notice. ``type`` is one of authorized, paid, refunded, voided,
    credit_result (with ``result`` ok, ng or hold). ``amount_yen``, when given with
    ``paid``, must be what the order still has to receive. A date-time without an offset
    is read in the shop's time zone."""

    def load(self, data, **kwargs):
        # Documentation only: the payment service validates the body (and names the fields).
        return data


class OrderStateOut(ma.Schema):
    id = fields.Integer(required=True)
    external_id = fields.String(required=True)
    status = fields.String(required=True)
    payment_status = fields.String(required=True)
    version = fields.Integer(required=True)
    ship_by_at = fields.AwareDateTime(allow_none=True)


class PaymentEventOut(ma.Schema):
    event_id = fields.String(required=True)
    type = fields.Method("_type", metadata={"type": "string"})
    result = fields.Method("_result", metadata={"type": "string", "nullable": True})
    amount_yen = fields.Integer(allow_none=True)
    occurred_at = fields.AwareDateTime(allow_none=True)
    received_at = fields.AwareDateTime(required=True)
    source = fields.String(required=True, metadata={"description": "api or portal"})
    note = fields.String()
    effect = fields.String(
        metadata={"description": "What the notice did: released, held, cancelled, confirmed,"
                  " waiting (still not cleared) or recorded."}
    )  # fmt: skip

    def _type(self, event: PaymentEvent) -> str:
        return "credit_result" if event.kind.startswith("credit_") else event.kind

    def _result(self, event: PaymentEvent) -> str | None:
        return event.kind.removeprefix("credit_") if event.kind.startswith("credit_") else None


class RecordedOut(ma.Schema):
    event = fields.Nested(PaymentEventOut, required=True)
    order = fields.Nested(OrderStateOut, required=True)


class EventQuery(StrictSchema):
    """Reading an order's notices takes no query parameters."""


class EventList(ma.Schema):
    items = fields.List(fields.Nested(PaymentEventOut), required=True)


RECORDED = RecordedOut()


def _answer(body: dict, status: int, replayed: bool):
    response = current_app.json.response(body)
    response.status_code = status
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@bp.post("/<int:order_id>/payment-events")
@bp.arguments(IdempotencyHeaders, location="headers", as_kwargs=True)
@bp.arguments(PaymentEventIn)
@bp.response(201, RecordedOut, headers={
    "Idempotent-Replayed": {
        "description": "`true` when this notice was recorded before (the answer is then 200).",
        "schema": {"type": "string", "enum": ["true"]},
    },
})  # fmt: skip
@bp.alt_response(200, schema=RecordedOut, description="The same notice, recorded before.")
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
@bp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def record_payment_event(body, order_id: int, idempotency_key: str | None = None):
    """Record a payment notice

    The order's payment gate applies it at once: a card authorisation or a payment that
    clears releases a confirmed order (its ship-by clock starts); a 後払い `ng` cancels or
    holds the order as the shop decided; `hold` keeps it waiting.
    """
    session = db_session()
    if idempotency_key is not None:
        digest = idempotency.request_digest({"order": order_id, "body": body})
        try:
            stored = idempotency.claim_key(session, scope=SCOPE, key=idempotency_key,
                                           digest=digest)  # fmt: skip
        except idempotency.KeyReused as exc:
            raise Conflict(description=str(exc.message)) from exc
        if stored is not None:
            return _answer(stored.response, stored.status_code, replayed=True)
    try:
        outcome = gates.record_event(session, actor=api_actor(), order_id=order_id, data=body,
                                     source="api")  # fmt: skip
    except NotFound:
        abort(404)
    except OrderInvalid as exc:
        abort(422, messages={"json": exc.errors})
    except (IllegalTransition, gates.EventConflict) as exc:
        raise Conflict(description=str(exc.message)) from exc
    except StaleOrder as exc:
        raise Conflict(description="The order changed meanwhile; send the notice again.") from exc
    answer = RECORDED.dump({"event": outcome.event, "order": outcome.order})
    status = 200 if outcome.replayed else 201
    if idempotency_key is not None:
        idempotency.record_answer(session, scope=SCOPE, key=idempotency_key, status_code=status,
                                  response=answer)  # fmt: skip
    return _answer(answer, status, replayed=outcome.replayed)


@bp.get("/<int:order_id>/payment-events")
@bp.arguments(EventQuery, location="query")
@bp.response(200, EventList)
@bp.alt_response(404, response="NOT_FOUND")
def list_payment_events(_query, order_id: int):
    """List an order's payment notices

    Newest first, at most 100 (an order gets a handful).
    """
    session = db_session()
    try:
        get_order(session, order_id)
    except NotFound:
        abort(404)
    return {"items": gates.events_of(session, order_id)}
