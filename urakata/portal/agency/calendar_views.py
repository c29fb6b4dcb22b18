"""The agency's closed days: days the warehouse ships for no shop (agency admins).

Every shop's ship-by clock counts them, with the public holidays and the shop's own
closed days. Adding or removing one is on the agency's ledger; clocks already running
keep their day.
"""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from urakata.platform.closed_days import (
    ClosedDayRefused,
    add_agency_closed_day,
    list_agency_closed_days,
    remove_agency_closed_day,
)
from urakata.platform.db import utcnow
from urakata.platform.identity import Role
from urakata.portal.access import require_agency_role
from urakata.portal.actor import current_actor
from urakata.portal.agency.forms import ClosedDayForm
from urakata.portal.agency.views import bp
from urakata.portal.i18n import translate_message
from urakata.portal.requestdb import db_session

# The agency's day (its warehouse is in Japan): "the past" is judged in Tokyo.
AGENCY_ZONE = "Asia/Tokyo"


def _today() -> date:
    return utcnow().astimezone(ZoneInfo(AGENCY_ZONE)).date()


@bp.route("/closed-days", methods=["GET", "POST"])
def closed_days():
    require_agency_role(Role.agency_admin)
    session = db_session()
    form = ClosedDayForm()
    if form.validate_on_submit():
        try:
            row = add_agency_closed_day(
                session,
                actor=current_actor(),
                day=form.day.day,
                note=form.note.data or "",
                today=_today(),
            )
        except ClosedDayRefused as exc:
            form.day.errors.append(translate_message(exc.message))
        else:
            flash(_("%(day)s is now a closed day for every shop.", day=row.day), "success")
            return redirect(url_for("agency.closed_days"))
    status = 422 if form.errors else 200
    today = _today()
    days = list_agency_closed_days(session)
    return render_template("agency/closed_days.html", form=form, days=days, today=today), status


@bp.post("/closed-days/<day>/remove")
def remove_closed_day(day: str):
    require_agency_role(Role.agency_admin)
    try:
        when = date.fromisoformat(day)
        remove_agency_closed_day(db_session(), actor=current_actor(), day=when)
    except (ValueError, ClosedDayRefused):  # no such day (ClosedDayRefused is a ValueError)
        abort(404)
    flash(_("%(day)s is a working day again.", day=when.isoformat()), "success")
    return redirect(url_for("agency.closed_days"))
