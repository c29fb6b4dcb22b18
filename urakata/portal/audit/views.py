"""The auditor's home: the shops they may audit (the ledger views come with the audit issue)."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from urakata.platform.identity import Role
from urakata.portal.access import require_agency_role, shops_for
from urakata.portal.requestdb import db_session

bp = Blueprint("audit", __name__, url_prefix="/audit")


@bp.get("/")
@login_required
def home():
    require_agency_role(Role.auditor)
    agency_wide = any(
        m.role == Role.auditor and m.shop_id is None for m in current_user.memberships
    )
    return render_template(
        "audit/home.html", shops=shops_for(db_session(), current_user), agency_wide=agency_wide
    )
