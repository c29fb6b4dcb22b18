"""The agency's planning overview: for each shop the user serves, the SKUs below their
reorder point and the reorder proposals waiting for the shop's decision. It reads across
shops through ``fan_out_across_tenants`` only; each shop links to its own planning page."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user

from urakata.platform.identity import Role
from urakata.platform.tenancy import fan_out_across_tenants
from urakata.portal.access import require_agency_role, shops_for
from urakata.portal.agency.views import bp
from urakata.portal.requestdb import db_session, get_db
from urakata.tenants.planning.attention import shop_attention


@bp.get("/planning")
def planning_overview():
    require_agency_role(Role.operator, Role.agency_admin)
    shops = shops_for(db_session(), current_user)
    found = fan_out_across_tenants(get_db(), [s.id for s in shops], shop_attention)
    rows = sorted(
        ((shop, found[shop.id]) for shop in shops),
        key=lambda row: (-row[1].low, -row[1].open_proposals, row[0].slug),
    )
    return render_template("planning/agency.html", rows=rows)
