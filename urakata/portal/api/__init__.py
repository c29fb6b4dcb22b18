"""The REST API under /api/v1 (flask-smorest, OpenAPI at /api/v1/openapi.json).

Resources authenticate with a per-shop API key and see only that shop. The spec is also
rendered as an HTML page at /api/v1/docs, server-side: the CSP allows no CDN scripts,
so there is no Swagger UI or ReDoc.

``create_app`` calls ``configure_errors`` after this: flask-smorest registers an app-wide
``HTTPException`` handler that would answer portal 404s in JSON, and ours must replace it.
"""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api

from urakata.portal.api import (
    docs,
    inbound,
    orders,
    payment_events,
    products,
    sasage,
    shop,
    stock,
    stocktakes,
)
from urakata.portal.api import planning as planning_api
from urakata.portal.api import shipments as shipments_api
from urakata.portal.api import tracking as tracking_api
from urakata.portal.api.auth import SECURITY_SCHEME

# Resource blueprints, registered in this order (it is also the order of the docs page).
RESOURCES = (
    shop.bp,
    products.bp,
    orders.bp,
    payment_events.bp,
    sasage.bp,
    stock.bp,
    inbound.bp,
    stocktakes.bp,
    planning_api.bp,
    shipments_api.bp,
    tracking_api.bp,
)

API_DESCRIPTION = (
    "The Urakata API lets a client shop's own systems read and change its data (the shop, "
    "its products, its orders). Every request carries "
    "one of the shop's API keys; the key decides the shop, so no endpoint takes a shop id. "
    "Sasage (photos, measurements and copy of SKUs) is requested and read here too. "
    "Payment notices (card authorisations, konbini payments, deferred-payment credit results) "
    "go to an order's payment-events, safe to resend. "
    "The shop's stock (per SKU, per bin and lot, and its movements) is read here too. "
    "Shop admins create and revoke keys in the portal under API keys. Errors are JSON: "
    "code, status, a message, and (for 422) errors naming each field at fault. A new order "
    "may carry an Idempotency-Key header, so that a retry never takes an order in twice."
)

SECURITY_SCHEME_SPEC = {
    "type": "http",
    "scheme": "bearer",
    "bearerFormat": "uk_<prefix>_<secret>",
    "description": (
        "A per-shop API key, sent as the header 'Authorization: Bearer uk_<prefix>_<secret>'. "
        "A missing, unknown or revoked key, or a key of a suspended shop, gets 401."
    ),
}


def init_api(app: Flask) -> Api:
    app.config.update(
        API_TITLE="Urakata API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        # No OPENAPI_*_UI_PATH: those UIs load scripts from a CDN, which the CSP forbids.
        API_SPEC_OPTIONS={
            "info": {"description": API_DESCRIPTION},
            "security": [{SECURITY_SCHEME: []}],
        },
    )
    api = Api(app)
    api.spec.components.security_scheme(SECURITY_SCHEME, SECURITY_SCHEME_SPEC)
    products.register_field_types(api)  # before the resources: their schemas use them
    for bp in RESOURCES:
        api.register_blueprint(bp)
    app.register_blueprint(docs.bp)
    app.extensions["urakata.api"] = api
    return api
