"""Agency admin: the shops, onboarding. Operators: their home with the shops they serve."""

from __future__ import annotations

import logging
import uuid

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select
from wtforms.fields.choices import SelectChoice

from urakata.platform import auth
from urakata.platform.identity import (
    InvalidMembership,
    Membership,
    Role,
    agency_staff,
    invite_user,
)
from urakata.platform.tenancy import InvalidTenantData, Tenant
from urakata.portal.access import require_agency_role, shops_for
from urakata.portal.actor import current_actor
from urakata.portal.agency.forms import InviteStaffForm, OnboardShopForm
from urakata.portal.requestdb import db_session
from urakata.tenants.shop.services import onboard_shop

bp = Blueprint("agency", __name__, url_prefix="/agency")
log = logging.getLogger(__name__)


@bp.before_request
@login_required
def _logged_in():
    return None


@bp.get("/shops")
def shops():
    require_agency_role(Role.agency_admin)
    session = db_session()
    operators = dict(
        session.execute(
            select(Membership.shop_id, func.count())
            .where(Membership.role == Role.operator.value)
            .group_by(Membership.shop_id)
        ).all()
    )
    tenants = session.scalars(select(Tenant).order_by(Tenant.slug)).all()
    return render_template("agency/shops.html", tenants=tenants, operators=operators)


@bp.route("/shops/new", methods=["GET", "POST"])
def onboard():
    require_agency_role(Role.agency_admin)
    form = OnboardShopForm()
    if form.validate_on_submit():
        try:
            done = onboard_shop(
                db_session(),
                actor=current_actor(),
                link_key=current_app.config["URAKATA_SETTINGS"].link_key,
                slug=form.slug.data.strip(),
                name=form.name.data,
                timezone=form.timezone.data.strip(),
                admin_email=form.admin_email.data,
                admin_name=form.admin_name.data,
            )
        except InvalidTenantData as exc:
            getattr(form, exc.field).errors.append(exc.message)
        else:
            flash(_("The shop %(name)s is ready.", name=done.tenant.name), "success")
            return redirect(url_for("shop.dashboard", shop=done.tenant.slug))
    status = 200 if not form.errors else 422
    return render_template("agency/onboard.html", form=form), status


@bp.route("/staff", methods=["GET", "POST"])
def staff():
    """Agency staff and auditors; invite one (they get a mail to set a password)."""
    require_agency_role(Role.agency_admin)
    session = db_session()
    tenants = session.scalars(select(Tenant).order_by(Tenant.slug)).all()
    form = InviteStaffForm()
    form.shop.choices = [SelectChoice("", _("— all shops / agency-wide —"))] + [
        SelectChoice(str(t.id), t.name) for t in tenants
    ]
    if form.validate_on_submit():
        role = Role(form.role.data)
        shop_id = uuid.UUID(form.shop.data) if form.shop.data else None
        if role is Role.agency_admin:
            shop_id = None
        try:
            user = invite_user(
                session,
                form.email.data,
                form.display_name.data,
                role,
                shop_id,
                actor=current_actor(),
            )
        except InvalidMembership as exc:
            form.shop.errors.append(_membership_message(exc, role))
        else:
            if user.password_hash is None:
                auth.issue_password_link(
                    session,
                    user.email,
                    actor=current_actor(),
                    link_key=current_app.config["URAKATA_SETTINGS"].link_key,
                    mail_kind="staff_welcome",
                    ttl=auth.WELCOME_LINK_TTL,
                )
            flash(_("%(name)s was invited.", name=user.display_name), "success")
            return redirect(url_for("agency.staff"))
    status = 200 if not form.errors else 422
    names = {t.id: t.name for t in tenants}
    return render_template(
        "agency/staff.html", form=form, members=agency_staff(session), shop_names=names
    ), status


def _membership_message(exc: InvalidMembership, role: Role) -> str:
    if role is Role.operator:
        return _("An operator needs a shop.")
    return _("This person already has that role.")


@bp.get("/home")
def operator_home():
    require_agency_role(Role.operator, Role.agency_admin)
    return render_template("agency/operator_home.html", shops=shops_for(db_session(), current_user))
