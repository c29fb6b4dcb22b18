"""The shop's view of its shipments: each order's parcels and how far they have come
(instructed, being picked, inspected, packed, shipped), a list filterable by state.

Everyone in the shop reads them (``orders.view``). The order page shows its shipments
through the ``order_shipments`` template global (one small include in its template).
"""

from __future__ import annotations

from flask import g, render_template, request
from flask_babel import lazy_gettext as _l

from urakata.portal.access import has_permission, require_permission
from urakata.portal.agency.wave_views import labels
from urakata.portal.requestdb import db_session
from urakata.portal.shop.blueprint import bp, menu_entry
from urakata.tenants.fulfilment import services as fulfilment
from urakata.tenants.fulfilment.models import CARRIERS, SHIPMENT_STATUSES

PER_PAGE = 50

menu_entry("shop.shipments", _l("Shipments"), "orders.view")


@bp.app_template_global("order_shipments")
def order_shipments(order_id: int) -> list:
    """The order's shipments (of the shop in the URL), for its page."""
    if g.get("shop") is None or not has_permission("orders.view"):
        return []
    return fulfilment.shipments_of_order(db_session(), order_id)


@bp.app_template_global("shipment_labels")
def shipment_labels() -> dict:
    return labels()


@bp.get("/shipments")
def shipments():
    require_permission("orders.view")
    session = db_session()
    status = request.args.get("status")
    status = status if status in SHIPMENT_STATUSES else None
    carrier = request.args.get("carrier")
    carrier = carrier if carrier in CARRIERS else None
    after = request.args.get("after", type=int)
    rows = fulfilment.list_shipments(
        session,
        statuses=(status,) if status else None,
        carrier=carrier,
        after_id=after,
        limit=PER_PAGE + 1,
    )
    page = rows[:PER_PAGE]
    numbers = fulfilment.order_numbers(session, page)
    return render_template(
        "fulfilment/shipments.html",
        shop=g.shop,
        rows=page,
        numbers=numbers,
        newer=page[-1].id if len(rows) > PER_PAGE else None,
        filters={"status": status or "", "carrier": carrier or ""},
        statuses=SHIPMENT_STATUSES,
        carriers=CARRIERS,
        **labels(),
    )


@bp.app_template_global("can_change_carrier")
def can_change_carrier() -> bool:
    """Whether the user may choose an order's carrier (the agency's warehouse work)."""
    return g.get("shop") is not None and has_permission("stock.move")
