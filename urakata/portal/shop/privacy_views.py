"""Who looked at my customers: the agency staff's reads of the shop's customers' personal
data, as the ledger recorded them (``audit.record_read``: one event per page view or
export, with who, when and which page or file)."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import IntegerField
from wtforms.validators import NumberRange, Optional

from urakata.platform import retention
from urakata.platform.audit import AuditEvent
from urakata.portal.access import has_permission, require_permission
from urakata.portal.actor import current_actor
from urakata.portal.requestdb import db_session
from urakata.portal.shop.blueprint import bp, menu_entry

READ_ACTIONS = ("personal_data.viewed", "personal_data.exported")
PER_PAGE = 50

menu_entry("shop.personal_data_reads", _l("Who looked at my customers"), "privacy.reads.view")


class RetentionForm(FlaskForm):
    erase_after_days = IntegerField(
        _l("Erase customers' personal data this many days after an order is finished"),
        validators=[Optional(), NumberRange(min=1, max=retention.MAX_DAYS)],
        description=_l(
            "Empty: keep it. An order is finished when it is cancelled, or when all its"
            " parcels were handed to the carrier."
        ),
    )


def personal_data_reads(session, *, before_seq: int | None = None, limit: int = PER_PAGE):
    """The bound shop's recorded reads of personal data, newest first (keyset by seq)."""
    query = select(AuditEvent).where(AuditEvent.action.in_(READ_ACTIONS))
    if before_seq is not None:
        query = query.where(AuditEvent.seq < before_seq)
    return list(session.scalars(query.order_by(AuditEvent.seq.desc()).limit(limit)))


@bp.get("/privacy/reads", endpoint="personal_data_reads")
def personal_data_reads_page():
    require_permission("privacy.reads.view")
    before = request.args.get("before", "")
    reads = personal_data_reads(
        db_session(), before_seq=int(before) if before.isdigit() else None, limit=PER_PAGE + 1
    )
    next_url = (
        url_for("shop.personal_data_reads", before=reads[PER_PAGE - 1].seq)
        if len(reads) > PER_PAGE
        else None
    )
    policy = retention.get_policy(db_session())
    form = RetentionForm(erase_after_days=policy.erase_after_days if policy else None)
    return render_template(
        "shop/personal_data_reads.html",
        shop=g.shop,
        reads=reads[:PER_PAGE],
        next_url=next_url,
        policy=policy,
        form=form if has_permission("privacy.retention.edit") else None,
    )


@bp.post("/privacy/retention")
def set_retention_policy():
    require_permission("privacy.retention.edit")
    form = RetentionForm()
    if not form.validate_on_submit():
        if form.erase_after_days.errors:
            flash(_("Give a number of days from 1 to %(max)s.", max=retention.MAX_DAYS), "error")
            return redirect(url_for("shop.personal_data_reads"))
        abort(400)
    retention.set_policy(db_session(), current_actor(), form.erase_after_days.data)
    flash(_("The retention policy is saved."), "success")
    return redirect(url_for("shop.personal_data_reads"))
