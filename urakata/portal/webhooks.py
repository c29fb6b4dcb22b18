"""Webhooks the shops' carts call: Shopify's order topics, per shop.

``POST /webhooks/shopify/<shop_slug>`` with the topic in ``X-Shopify-Topic``. The body is
checked against ``X-Shopify-Hmac-Sha256`` with the shop's own webhook secret (shop
settings) before it is parsed: a delivery signed with another shop's secret, or for a
shop without a secret, is 401 like an unknown shop (no answer tells which shops exist),
and writes nothing. A delivery of an
order the shop has already is 200 (Shopify delivers at least once and retries anything
else). An order the order service refuses (a malformed body) is 422 with the fields, and
the refusal is kept on the shop's ledger so operators see what Shopify sent.
"""

from __future__ import annotations

import json

from flask import Blueprint, jsonify, request
from sqlalchemy import select

from urakata.platform import audit
from urakata.platform.audit import Actor
from urakata.platform.tenancy import Tenant, TenantStatus
from urakata.portal.requestdb import db_session, keep_changes_on_error
from urakata.portal.security import csrf
from urakata.tenants.orders.imports import shopify
from urakata.tenants.orders.services import OrderInvalid
from urakata.tenants.shop.services import get_settings

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
csrf.exempt(bp)  # signed by the cart, not sent by a browser

TOPICS = {"orders/create": shopify.take_order, "orders/cancelled": shopify.cancel_order}


def _refused(status: int, message: str):
    response = jsonify({"message": message})
    response.status_code = status
    return response


@bp.post("/shopify/<shop_slug>")
def shopify_orders(shop_slug: str):
    body = request.get_data(cache=False)
    session = db_session()
    tenant = session.scalar(select(Tenant).where(Tenant.slug == shop_slug))
    secret = ""
    if tenant is not None and tenant.status == TenantStatus.active:
        session.bind_tenant(tenant.id)
        secret = get_settings(session).shopify_webhook_secret
    if not shopify.signature_ok(secret, body, request.headers.get("X-Shopify-Hmac-Sha256")):
        return _refused(401, "the signature does not match this shop's webhook secret")
    topic = request.headers.get("X-Shopify-Topic", "")
    if topic not in TOPICS:
        return _refused(
            400, f"topic {topic!r} is not taken here; send orders/create or orders/cancelled"
        )
    try:
        payload = json.loads(body)
    except ValueError:
        return _refused(400, "the body is not JSON")
    if not isinstance(payload, dict):
        return _refused(400, "the body is not a JSON object")
    actor = Actor.system(f"Shopify webhook {topic}").with_request(
        request.headers.get("X-Shopify-Webhook-Id", "")[:64], request.remote_addr or ""
    )
    try:
        delivered = TOPICS[topic](session, actor=actor, payload=payload)
    except OrderInvalid as exc:
        errors = {field: [str(m) for m in messages] for field, messages in exc.errors.items()}
        number = str(payload.get("name") or payload.get("id") or "")
        keep_changes_on_error()  # the refusal stays on the ledger; the order is not taken
        audit.record(session, actor, "shopify.order_refused", object_type="order",
                     object_id=number, data={"errors": errors})  # fmt: skip
        response = jsonify({"message": "the order is not valid", "errors": errors})
        response.status_code = 422
        return response
    order = delivered.order
    return jsonify({
        "outcome": delivered.outcome,
        "order_id": order.id if order is not None else None,
        "status": order.status if order is not None else None,
    })  # fmt: skip
