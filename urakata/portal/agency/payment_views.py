"""入金確認: the agency's payment desk, bank statements and the manual matching screen.

``/agency/payments`` lists, for each shop the user serves, the deposits waiting for a
person and the orders waiting for payment (through ``fan_out_across_tenants`` only: one
tenant-bound session per shop; no names on it). A statement is uploaded there (choosing
the shop) or on the shop's statements page. The statement pages and the matching screen
live under the shop (``/s/<shop>/payments/…``): a statement, a deposit and the orders it
pays belong to one shop, so another shop's ids answer 404 like missing ones.

Everyone in the shop reads; ``payments.match`` (shop admins, agency admins, the shop's
operators) uploads, matches, undoes and ignores. Remitter names are personal data: an
agency person opening a statement, the deposit list or a deposit is recorded on the
shop's ledger. Every decision is made on the version the page showed (409 otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlalchemy import select
from wtforms import HiddenField, SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice

from urakata.platform import audit
from urakata.platform.csvfiles import CsvUnreadable
from urakata.platform.db import utcnow
from urakata.platform.identity import Role
from urakata.platform.tenancy import NotFound, Tenant, fan_out_across_tenants, get_scoped
from urakata.portal.access import (
    has_permission,
    require_agency_role,
    require_permission,
    resolve_shop,
    shops_for,
)
from urakata.portal.actor import current_actor
from urakata.portal.agency.views import bp as agency_bp
from urakata.portal.i18n import translate_message
from urakata.portal.requestdb import db_session, get_db
from urakata.portal.shop.blueprint import bp
from urakata.portal.shop.payment_views import WAITS_FOR_LABELS, agency_staff, local, yen
from urakata.portal.timeline import timeline
from urakata.tenants.orders.models import Order
from urakata.tenants.payments import gates, matching, statements
from urakata.tenants.payments.models import LINE_STATUSES, BankStatement

REVIEW_LABELS = {
    "ambiguous": _l("Several orders fit"),
    "short": _l("Less than the order's amount"),
    "over": _l("More than the order's amount"),
    "bundled": _l("One transfer for several orders"),
    "unknown": _l("No waiting order of this name"),
}
STATUS_LABELS = {
    "review": _l("To review"),
    "matched": _l("Matched"),
    "ignored": _l("Not an order payment"),
}
METHOD_LABELS = {"auto": _l("automatically"), "manual": _l("by hand")}
REASON_LABELS = {
    "name": _l("same name"),
    "partial_name": _l("similar name"),
    "amount": _l("same amount"),
    "number": _l("order number in the name"),
    "search": _l("search"),
}
DESK_LIMIT = 100


def labels() -> dict:
    return {"review_labels": REVIEW_LABELS, "status_labels": STATUS_LABELS,
            "method_labels": METHOD_LABELS, "reason_labels": REASON_LABELS,
            "waits_labels": WAITS_FOR_LABELS}  # fmt: skip


class UploadForm(FlaskForm):
    statement = FileField(_l("Bank statement (CSV)"),
                          description=_l("UTF-8 or Shift_JIS, with a header row: date, deposit"
                                         " amount and the remitter's name."))  # fmt: skip


class DeskUploadForm(UploadForm):
    shop = SelectField(_l("Shop"), choices=[], validate_choice=False)


class MatchForm(FlaskForm):
    version = HiddenField()
    orders = SelectMultipleField(_l("Orders this deposit pays"), choices=[],
                                 validate_choice=False)  # fmt: skip


class VersionForm(FlaskForm):
    version = HiddenField()


class IgnoreForm(VersionForm):
    note = StringField(_l("Why it pays no order"),
                       description=_l("Such as: interest, a refund from a supplier."))  # fmt: skip


# --- the desk (agency, across shops) ----------------------------------------------------------


@dataclass(frozen=True)
class DeskRow:
    slug: str
    name: str
    to_review: int
    waiting: dict[str, int]  # waits_for -> orders
    oldest_days: int | None
    last_statement: str


def _desk_row(shop: Tenant):
    def work(session) -> DeskRow:
        counts, oldest = gates.waiting_summary(session)
        last, _after = statements.list_statements(session, limit=1)
        uploaded = last[0].statement.uploaded_at.astimezone(shop.zone) if last else None
        return DeskRow(shop.slug, shop.name, statements.review_count(session), counts,
                       (utcnow() - oldest).days if oldest else None,
                       uploaded.strftime("%Y-%m-%d") if uploaded else "")  # fmt: skip

    return work


@agency_bp.get("/payments")
def payment_desk():
    require_agency_role(Role.operator, Role.agency_admin)
    shops = shops_for(db_session(), current_user)
    works = {s.id: _desk_row(s) for s in shops[:DESK_LIMIT]}
    rows = fan_out_across_tenants(get_db(), list(works), lambda s: works[s.tenant_id](s))
    form = DeskUploadForm(formdata=None)
    form.shop.choices = [SelectChoice(s.slug, s.name) for s in shops]
    ordered = sorted(rows.values(), key=lambda r: (-r.to_review, r.slug))
    return render_template("payments/desk.html", rows=ordered, form=form, **labels())


@agency_bp.post("/payments/statements")
def desk_upload():
    """The desk's upload: the chosen shop must be one the user serves (404 otherwise)."""
    require_agency_role(Role.operator, Role.agency_admin)
    form = DeskUploadForm()
    if not form.validate():
        abort(400)
    resolve_shop((form.shop.data or "").strip())  # binds the shop, or 404
    g.shop_slug = g.shop.slug
    return _upload(form)


# --- statements (the shop's) ---------------------------------------------------------------


@bp.get("/payments/statements")
def statements_list():
    require_permission("payments.view")
    after = request.args.get("after", type=int)
    page, next_after = statements.list_statements(db_session(), after_id=after)
    return render_template(
        "payments/statements.html",
        shop=g.shop,
        page=page,
        next_after=next_after,
        first_page=after is None,
        form=UploadForm(formdata=None) if has_permission("payments.match") else None,
        to_review=statements.review_count(db_session()),
        local=local,
    )


@bp.post("/payments/statements")
def upload_statement():
    require_permission("payments.match")
    form = UploadForm()
    if not form.validate():
        abort(400)
    return _upload(form)


def _upload(form: UploadForm):
    require_permission("payments.match")
    upload = form.statement.data
    if not upload or not upload.filename:
        return _upload_refused(form, [], _("Choose the statement file to upload."))
    session = db_session()
    try:
        result = statements.import_statement(session, actor=current_actor(),
                                             data=upload.stream.read(),
                                             filename=upload.filename)  # fmt: skip
    except CsvUnreadable as exc:
        return _upload_refused(form, [], translate_message(exc.message), upload.filename)
    except statements.StatementInvalid as exc:
        errors = [(e, translate_message(e.message)) for e in exc.errors]
        return _upload_refused(form, errors, "", upload.filename)
    if result.statement is None:
        flash(_("Every deposit in %(file)s was imported before: nothing new.",
                file=upload.filename), "warning")  # fmt: skip
        return redirect(url_for("shop.statements_list", shop=g.shop.slug), 303)
    flash(_("%(file)s: %(new)s deposits imported, %(matched)s matched automatically,"
            " %(review)s to review by hand.", file=upload.filename, new=result.new,
            matched=result.matched, review=result.review), "success")  # fmt: skip
    if result.known:
        flash(_("%(known)s deposits were imported before and were skipped.",
                known=result.known), "warning")  # fmt: skip
    return redirect(url_for("shop.statement", shop=g.shop.slug,
                            statement_id=result.statement.id), 303)  # fmt: skip


def _upload_refused(form: UploadForm, errors: list, problem: str, filename: str = ""):
    db_session().rollback()
    page = render_template(
        "payments/upload_refused.html",
        shop=g.shop,
        form=UploadForm(formdata=None),
        errors=errors,
        problem=problem,
        filename=filename,
    )
    return page, 422


def _statement_or_404(statement_id: int) -> BankStatement:
    try:
        return get_scoped(db_session(), BankStatement, statement_id)
    except NotFound:
        abort(404)


def _record_look(what: str, object_type: str, object_id, rows: int | None = None) -> None:
    if agency_staff():
        audit.record_read(db_session(), current_actor(), what=what, object_type=object_type,
                          object_id=object_id, rows=rows)  # fmt: skip


@bp.get("/payments/statements/<int:statement_id>")
def statement(statement_id: int):
    require_permission("payments.view")
    found = _statement_or_404(statement_id)
    status = request.args.get("status", "")
    status = status if status in LINE_STATUSES else ""
    lines = statements.statement_lines(db_session(), found.id, status or None)
    _record_look("bank statement", "bank_statement", found.id, len(lines))
    return render_template("payments/statement.html", shop=g.shop, statement=found, lines=lines,
                           status=status, yen=yen, local=local, **labels())  # fmt: skip


@bp.get("/payments/deposits")
def deposits_to_review():
    require_permission("payments.view")
    lines = statements.review_queue(db_session())
    _record_look("deposits to review", "shop", g.shop.id, len(lines))
    return render_template("payments/deposits.html", shop=g.shop, lines=lines, yen=yen,
                           local=local, **labels())  # fmt: skip


# --- one deposit: the matching screen -----------------------------------------------------------


def _line_or_404(line_id: int):
    try:
        return matching.get_line(db_session(), line_id)
    except NotFound:
        abort(404)


@bp.get("/payments/deposits/<int:line_id>")
def deposit(line_id: int):
    require_permission("payments.view")
    line = _line_or_404(line_id)
    _record_look("deposit", "bank_line", line.id)
    return _deposit_page(line)


def _deposit_page(line, *, match_form=None, ignore_form=None, problem=None, chosen=()):
    session = db_session()
    editable = has_permission("payments.match")
    query = (request.args.get("q") or "").strip()[:100]
    offered = matching.suggestions(session, line, query) if line.status == "review" else []
    version = {"version": line.version}
    if editable and line.status == "review":
        match_form = match_form or MatchForm(formdata=None, data=version)
        match_form.orders.choices = [SelectChoice(str(s.order.id), s.order.external_id)
                                     for s in offered]  # fmt: skip
        ignore_form = ignore_form or IgnoreForm(formdata=None, data=version)
    undo_form = VersionForm(formdata=None, data=version) if editable else None
    history = matching.match_history(session, line.id)
    numbers = _numbers(session, [m.order_id for m in history])
    return render_template(
        "payments/deposit.html",
        shop=g.shop,
        line=line,
        statement=_statement_or_404(line.statement_id),
        offered=offered,
        query=query,
        chosen={str(c) for c in chosen},
        match_form=match_form if editable and line.status == "review" else None,
        ignore_form=ignore_form if editable and line.status == "review" else None,
        undo_form=undo_form if line.status != "review" else None,
        history=history,
        numbers=numbers,
        problem=problem,
        events=timeline("bank_line", line.id, limit=30),
        yen=yen,
        local=local,
        **labels(),
    )


def _numbers(session, order_ids: list[int]) -> dict[int, str]:
    if not order_ids:
        return {}
    return dict(session.execute(select(Order.id, Order.external_id)
                                .where(Order.id.in_(order_ids))).all())  # fmt: skip


def _version(form) -> int:
    if not form.validate() or len(form.version.raw_data or ()) != 1:
        abort(400)
    try:
        return int(form.version.data)
    except ValueError:
        abort(400)


def _decided(line, action, form, name: str):
    """Run a decision on the posted version; the same answers for match, undo, ignore."""
    session = db_session()
    version = _version(form)
    try:
        return action(version)
    except matching.MatchInvalid as exc:
        session.rollback()
        texts = [translate_message(m) for messages in exc.errors.values() for m in messages]
        fresh = matching.get_line(session, line.id)
        forms = {"match_form": form} if name == "match" else {"ignore_form": form}
        if name == "match":
            form.orders.errors = texts
        elif "note" in exc.errors:
            form.note.errors = texts
        chosen = form.orders.data if name == "match" else ()
        return _deposit_page(fresh, **forms, chosen=chosen or ()), 422
    except matching.StaleLine:
        session.rollback()
        problem = _("Someone decided about this deposit meanwhile: here it is as it is now.")
        return _deposit_page(matching.get_line(session, line.id), problem=problem), 409
    except matching.MatchRefused as exc:
        session.rollback()
        fresh = matching.get_line(session, line.id)
        return _deposit_page(fresh, problem=translate_message(exc.message)), 409


@bp.post("/payments/deposits/<int:line_id>/match")
def match_deposit(line_id: int):
    require_permission("payments.match")
    line = _line_or_404(line_id)
    form = MatchForm()

    def action(version):
        ids = []
        for value in form.orders.data or ():
            if not str(value).isdigit():
                abort(400)
            ids.append(int(value))
        result = matching.match_line(db_session(), actor=current_actor(), line_id=line.id,
                                     version=version, order_ids=ids)  # fmt: skip
        numbers = ", ".join(order.external_id for order, _a, _d in result.allocations)
        flash(_("The deposit was matched to %(orders)s.", orders=numbers), "success")
        for order, due in result.short:
            flash(_("Order %(number)s still has %(due)s to receive; it keeps waiting.",
                    number=order.external_id, due=yen(due)), "warning")  # fmt: skip
        if result.surplus_yen:
            flash(_("The deposit is %(surplus)s more than the orders: refund it or agree with"
                    " the customer.", surplus=yen(result.surplus_yen)), "warning")  # fmt: skip
        return redirect(url_for("shop.deposit", line_id=line.id), 303)

    return _decided(line, action, form, "match")


@bp.post("/payments/deposits/<int:line_id>/undo")
def undo_deposit(line_id: int):
    require_permission("payments.match")
    line = _line_or_404(line_id)
    form = VersionForm()

    def action(version):
        matching.undo_line(db_session(), actor=current_actor(), line_id=line.id, version=version)
        flash(_("Undone: the deposit is back for review and its orders wait again."), "success")
        return redirect(url_for("shop.deposit", line_id=line.id), 303)

    return _decided(line, action, form, "undo")


@bp.post("/payments/deposits/<int:line_id>/ignore")
def ignore_deposit(line_id: int):
    require_permission("payments.match")
    line = _line_or_404(line_id)
    form = IgnoreForm()

    def action(version):
        matching.ignore_line(db_session(), actor=current_actor(), line_id=line.id,
                             version=version, note=form.note.data or "")  # fmt: skip
        flash(_("The deposit is set aside as not an order payment."), "success")
        return redirect(url_for("shop.deposit", line_id=line.id), 303)

    return _decided(line, action, form, "ignore")
