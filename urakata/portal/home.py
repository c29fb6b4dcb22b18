"""The landing page: each role goes to its own home."""

from __future__ import annotations

from flask import Blueprint, redirect, url_for
from flask_login import current_user, login_required

from urakata.platform.identity import Role
from urakata.portal.access import shops_for, user_roles
from urakata.portal.requestdb import db_session

bp = Blueprint("home", __name__)


@bp.get("/")
@login_required
def index():
    roles = user_roles(current_user)
    if Role.agency_admin in roles:
        return redirect(url_for("agency.shops"))
    if Role.operator in roles:
        return redirect(url_for("agency.operator_home"))
    if Role.auditor in roles:
        return redirect(url_for("audit.home"))
    shops = shops_for(db_session(), current_user)
    if shops:
        return redirect(url_for("shop.dashboard", shop=shops[0].slug))
    return redirect(url_for("auth.account"))
