"""The agency's stocktakes across the shops a user serves: what is being counted, what
waits for an agency admin's approval, what the shop disputed or still has to approve."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user

from urakata.platform.identity import Role
from urakata.platform.tenancy import fan_out_across_tenants
from urakata.portal.access import require_agency_role, shops_for
from urakata.portal.agency.views import bp
from urakata.portal.requestdb import db_session, get_db
from urakata.portal.shop.stocktake_views import SCOPE_LABELS, STATUS_LABELS
from urakata.tenants.stocktake import services

OPEN_STATES = ("review", "disputed", "counting", "shop_review")
ROWS = 100


@bp.get("/stocktakes")
def stocktake_overview():
    require_agency_role(Role.operator, Role.agency_admin)
    shops = shops_for(db_session(), current_user)

    def open_ones(session):
        found = []
        for state in OPEN_STATES:
            found += services.list_stocktakes(session, state=state, limit=ROWS).items
        return found

    found = fan_out_across_tenants(get_db(), [s.id for s in shops], open_ones)
    order = {state: n for n, state in enumerate(OPEN_STATES)}
    rows = sorted(
        ((shop, st) for shop in shops for st in found[shop.id]),
        key=lambda row: (order[row[1].status], row[1].planned_at),
    )
    return render_template(
        "stocktake/overview.html",
        rows=rows,
        status_labels=STATUS_LABELS,
        scope_labels=SCOPE_LABELS,
    )
