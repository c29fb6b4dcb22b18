"""The shop's dashboard and its operators."""

from __future__ import annotations

import uuid

from flask import abort, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms.fields.choices import SelectChoice

from urakata.platform.identity import (
    Role,
    UserAccount,
    assign_operator,
    find_membership,
    members_of_shop,
    unassign_operator,
    users_with_role,
)
from urakata.portal.access import has_permission, require_permission
from urakata.portal.actor import current_actor
from urakata.portal.agency.forms import AssignOperatorForm
from urakata.portal.requestdb import db_session
from urakata.portal.shop.blueprint import SHOP_MENU, bp, menu_entry
from urakata.portal.timeline import timeline

menu_entry("shop.operators", _l("Operators"), "shop.operators.assign")


@bp.get("/")
def dashboard():
    require_permission("shop.view")
    return render_template(
        "shop/dashboard.html",
        shop=g.shop,
        can=has_permission,
        shop_menu=SHOP_MENU,
        history=timeline("shop", g.shop.id),
    )


@bp.route("/operators", methods=["GET", "POST"])
def operators():
    require_permission("shop.operators.assign")
    session = db_session()
    assigned = [m for m in members_of_shop(session, g.shop.id) if m.role == Role.operator]
    assigned_ids = {m.user_id for m in assigned}
    candidates = [u for u in users_with_role(session, Role.operator) if u.id not in assigned_ids]
    form = AssignOperatorForm()
    form.operator.choices = [
        SelectChoice(str(u.id), f"{u.display_name} <{u.email}>") for u in candidates
    ]
    if form.validate_on_submit():
        user = session.get(UserAccount, uuid.UUID(form.operator.data))
        assign_operator(session, user, g.shop.id, actor=current_actor())
        flash(_("%(name)s now serves this shop.", name=user.display_name), "success")
        return redirect(url_for("shop.operators"))
    status = 200 if not form.errors else 422
    return render_template(
        "shop/operators.html", shop=g.shop, assigned=assigned, form=form, remove_form=FlaskForm()
    ), status


@bp.post("/operators/<uuid:user_id>/remove")
def remove_operator(user_id: uuid.UUID):
    require_permission("shop.operators.assign")
    if not FlaskForm().validate_on_submit():
        abort(400)
    session = db_session()
    membership = find_membership(session, user_id, Role.operator, g.shop.id)
    if membership is None:
        abort(404)
    name = membership.user.display_name
    unassign_operator(session, membership, actor=current_actor())
    flash(_("%(name)s no longer serves this shop.", name=name), "success")
    return redirect(url_for("shop.operators"))
