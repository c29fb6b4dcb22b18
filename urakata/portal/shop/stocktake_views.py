"""Stocktakes (棚卸し) of one shop: planning, counting (a phone-sized screen), the
agency admin's approval, and the shop's approval or dispute.

Counting is the agency's (operators and admins); approving the agency's side is an
agency admin's who counted none of it; the shop's side is its admin's. A blind count
hides the system quantity (and so the variance) until counting is submitted. Every
form names the stocktake's version, so a decision on a stale page answers 409.
"""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from urakata.platform.identity import Role
from urakata.platform.tenancy import NotFound
from urakata.portal.access import require_permission
from urakata.portal.actor import current_actor
from urakata.portal.i18n import translate_message
from urakata.portal.requestdb import db_session
from urakata.portal.shop.blueprint import bp, menu_entry
from urakata.portal.shop.inbound_views import attach, local, may, require
from urakata.portal.shop.stock_views import KIND_LABELS
from urakata.tenants.stock.errors import StockInvalid
from urakata.tenants.stocktake import services
from urakata.tenants.stocktake.models import REASONS, SCOPES

PER_PAGE = 50
COUNT_ROLES = frozenset({Role.agency_admin, Role.operator})
APPROVE_ROLES = frozenset({Role.agency_admin})
SHOP_ROLES = frozenset({Role.shop_admin})

menu_entry("shop.stocktake_list", _l("Stocktakes"), "stock.view")

STATUS_LABELS = {
    "counting": _l("Counting"),
    "review": _l("Waiting for the agency's approval"),
    "shop_review": _l("Waiting for the shop's approval"),
    "posted": _l("Approved and posted"),
    "disputed": _l("Disputed by the shop"),
    "cancelled": _l("Cancelled"),
}
SCOPE_LABELS = {
    "bins": _l("Cycle count by bins"),
    "skus": _l("Cycle count by SKUs"),
    "top_movers": _l("Cycle count of the SKUs that moved most"),
    "full": _l("Full count"),
}
REASON_LABELS = {
    "miscount": _l("Earlier miscount"),
    "damage": _l("Damaged, written off"),
    "loss": _l("Lost or missing"),
    "found": _l("Found"),
    "mispick": _l("Picked from the wrong bin"),
    "unknown": _l("Cause unknown"),
}


def _labels() -> dict:
    return {
        "status_labels": STATUS_LABELS,
        "scope_labels": SCOPE_LABELS,
        "reason_labels": REASON_LABELS,
        "kind_labels": KIND_LABELS,
        "local": local,
    }


def _stocktake_or_404(stocktake_id: int):
    try:
        return services.get_stocktake(db_session(), stocktake_id)
    except NotFound:
        abort(404)


def _version(form: FlaskForm) -> int:
    if not form.validate_on_submit():
        abort(400)
    try:
        return int(form.version.data or "")
    except ValueError:
        abort(400)


# --- the list ----------------------------------------------------------------------------------


@bp.get("/stocktakes")
def stocktake_list():
    require_permission("stock.view")
    state = request.args.get("state", "")
    if state not in services.LIST_STATES:
        state = ""
    before = request.args.get("before", type=int)
    page = services.list_stocktakes(db_session(), state=state, before_id=before, limit=PER_PAGE)
    return render_template(
        "stocktake/list.html",
        shop=g.shop,
        page=page,
        state=state,
        first_page=before is None,
        can_plan=may(COUNT_ROLES),
        **_labels(),
    )


# --- planning ----------------------------------------------------------------------------------


class PlanForm(FlaskForm):
    scope = SelectField(
        _l("What to count"),
        choices=[SelectChoice(s, SCOPE_LABELS[s]) for s in SCOPES],
        validate_choice=False,
    )
    bins = TextAreaField(
        _l("Bins"), description=_l("For a count by bins: bin codes, one per line."),
        render_kw={"rows": 3, "placeholder": "A-01-01-1"},
    )  # fmt: skip
    skus = TextAreaField(
        _l("SKUs"), description=_l("For a count by SKUs: one SKU per line."),
        render_kw={"rows": 3},
    )  # fmt: skip
    top_n = StringField(
        _l("Number of SKUs"),
        description=_l("For the SKUs that moved most in the last 30 days."),
        render_kw={"inputmode": "numeric", "placeholder": "20"},
    )
    blind = SelectField(
        _l("Blind count"),
        choices=[
            SelectChoice("1", _l("Yes: counters do not see the system quantity")),
            SelectChoice("0", _l("No")),
        ],
        validate_choice=False,
    )
    recount_threshold = StringField(
        _l("Recount above (pieces)"),
        description=_l("A line whose variance is larger than this is counted again."),
        render_kw={"inputmode": "numeric"},
    )
    note = StringField(_l("Note"))


@bp.route("/stocktakes/new", methods=["GET", "POST"])
def plan_stocktake():
    require(COUNT_ROLES)
    if request.method == "GET":
        form = PlanForm(formdata=None, data={"blind": "1", "recount_threshold": "2"})
        return render_template("stocktake/new.html", shop=g.shop, form=form, problems=[])
    form = PlanForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        made = services.plan_stocktake(
            db_session(),
            current_actor(),
            scope=form.scope.data,
            bins=(form.bins.data or "").replace(",", " ").split(),
            skus=(form.skus.data or "").replace(",", " ").split(),
            top_n=form.top_n.data,
            blind=form.blind.data != "0",
            recount_threshold=form.recount_threshold.data,
            note=form.note.data,
        )
    except services.StocktakeInvalid as exc:
        problems = attach(form, exc.errors)
        return render_template("stocktake/new.html", shop=g.shop, form=form, problems=problems), 422
    flash(_("Stocktake %(number)s planned.", number=made.number), "success")
    return redirect(url_for("shop.count_stocktake", stocktake_id=made.id), 303)


# --- one stocktake -----------------------------------------------------------------------------


class VersionForm(FlaskForm):
    version = HiddenField()


class DecisionForm(FlaskForm):
    version = HiddenField()
    decision = HiddenField()
    comment = TextAreaField(_l("Comment"), render_kw={"rows": 3})


def _hides_system(stocktake) -> bool:
    return stocktake.blind and stocktake.status == "counting"


def detail_page(stocktake, problems=(), status=200, decision_form=None, line_errors=None):
    session = db_session()
    version = {"version": stocktake.version}
    return render_template(
        "stocktake/detail.html",
        shop=g.shop,
        stocktake=stocktake,
        counts=services.counts_of(session, stocktake),
        hide_system=_hides_system(stocktake),
        version_form=VersionForm(formdata=None, data=version),
        decision_form=decision_form or DecisionForm(formdata=None, data=version),
        can_count=may(COUNT_ROLES) and stocktake.status == "counting",
        can_approve=may(APPROVE_ROLES) and stocktake.status == "review",
        can_decide=may(SHOP_ROLES) and stocktake.status == "shop_review",
        can_recount=may(COUNT_ROLES) and stocktake.status == "disputed",
        reasons=REASONS,
        problems=problems,
        line_errors=line_errors or {},
        **_labels(),
    ), status


@bp.get("/stocktakes/<int:stocktake_id>")
def stocktake_detail(stocktake_id: int):
    require_permission("stock.view")
    return detail_page(_stocktake_or_404(stocktake_id))


def count_page(stocktake, problems=(), status=200, errors=None, found=None):
    lines = sorted(
        stocktake.lines,
        key=lambda li: (
            not li.recount_required,
            li.counts > 0,
            li.location.pick_sequence,
            li.location.code,
        ),
    )
    return render_template(
        "stocktake/count.html",
        shop=g.shop,
        stocktake=stocktake,
        lines=lines,
        hide_system=_hides_system(stocktake),
        version_form=VersionForm(formdata=None, data={"version": stocktake.version}),
        problems=problems,
        errors=errors or {},
        left=sum(1 for li in stocktake.lines if not li.counts or li.recount_required),
        found=found or {},
        **_labels(),
    ), status


@bp.get("/stocktakes/<int:stocktake_id>/count")
def count_stocktake(stocktake_id: int):
    require(COUNT_ROLES)
    stocktake = _stocktake_or_404(stocktake_id)
    if stocktake.status != "counting":
        return redirect(url_for("shop.stocktake_detail", stocktake_id=stocktake.id))
    return count_page(stocktake)


@bp.post("/stocktakes/<int:stocktake_id>/lines/<int:line_id>/count")
def record_stocktake_count(stocktake_id: int, line_id: int):
    require(COUNT_ROLES)
    stocktake = _stocktake_or_404(stocktake_id)
    if not VersionForm().validate_on_submit():
        abort(400)
    quantity = (request.form.get("quantity") or "").strip()
    try:
        line = services.record_count(db_session(), current_actor(), stocktake.id, line_id, quantity)
    except NotFound:
        abort(404)
    except services.StocktakeState as exc:
        return count_page(stocktake, attach(VersionForm(), exc.errors), 409)
    except services.StocktakeInvalid as exc:
        errors = {line_id: [m for ms in exc.errors.values() for m in ms]}
        return count_page(stocktake, [], 422, {k: [str(m) for m in v] for k, v in errors.items()})
    if line.recount_required:
        flash(_("The count differs a lot: count %(sku)s again.", sku=line.product.sku), "warning")
    else:
        flash(
            _("Counted %(sku)s in %(bin)s.", sku=line.product.sku, bin=line.location.code),
            "success",
        )
    return redirect(
        url_for("shop.count_stocktake", stocktake_id=stocktake.id, _anchor=f"line-{line_id}"), 303
    )


@bp.post("/stocktakes/<int:stocktake_id>/found")
def add_found_line(stocktake_id: int):
    """Goods the list did not expect, counted on a new line."""
    require(COUNT_ROLES)
    stocktake = _stocktake_or_404(stocktake_id)
    if not VersionForm().validate_on_submit():
        abort(400)
    form = request.form
    try:
        line = services.add_found(
            db_session(),
            current_actor(),
            stocktake.id,
            code=form.get("code", ""),
            location=form.get("location", ""),
            lot_no=form.get("lot_no", ""),
            quantity=(form.get("quantity") or "").strip(),
        )
    except services.StocktakeState as exc:
        return count_page(stocktake, attach(VersionForm(), exc.errors), 409)
    except services.StocktakeInvalid as exc:
        problems = [translate_message(m) for messages in exc.errors.values() for m in messages]
        return count_page(stocktake, problems, 422, found=form)
    flash(_("Counted %(sku)s in %(bin)s.", sku=line.product.sku, bin=line.location.code), "success")
    return redirect(url_for("shop.count_stocktake", stocktake_id=stocktake.id), 303)


def _step(stocktake_id: int, work, done_message: str):
    stocktake = _stocktake_or_404(stocktake_id)
    form = VersionForm()
    version = _version(form)
    try:
        work(stocktake, version)
    except services.StaleStocktake:
        return detail_page(
            stocktake, [_("Someone changed this stocktake meanwhile. Look again.")], 409
        )
    except services.StocktakeState as exc:
        return detail_page(stocktake, attach(form, exc.errors), 409)
    except (services.StocktakeInvalid, StockInvalid) as exc:
        line_errors = {}
        for name, messages in exc.errors.items():
            if name.startswith("lines[") and name[6 : name.index("]")].isdigit():
                line_errors[int(name[6 : name.index("]")])] = [str(m) for m in messages]
        problems = [m for n, ms in exc.errors.items() if not n.startswith("lines[") for m in ms]
        problems = attach(form, {"_": problems}) if problems else []
        if line_errors and not problems:
            problems = [_("Nothing was approved. See the lines marked below.")]
        return detail_page(stocktake, problems, 422, line_errors=line_errors)
    flash(done_message, "success")
    return redirect(url_for("shop.stocktake_detail", stocktake_id=stocktake.id), 303)


@bp.post("/stocktakes/<int:stocktake_id>/submit")
def submit_stocktake(stocktake_id: int):
    require(COUNT_ROLES)

    def work(stocktake, version):
        services.submit_stocktake(db_session(), current_actor(), stocktake.id, version=version)

    return _step(stocktake_id, work, _("Counting submitted for approval."))


@bp.post("/stocktakes/<int:stocktake_id>/approve")
def approve_stocktake(stocktake_id: int):
    require(APPROVE_ROLES)
    reasons = {}
    for name, value in request.form.items():
        if name.startswith("reason-") and name[7:].isdigit():
            reasons[int(name[7:])] = value

    def work(stocktake, version):
        services.approve_stocktake(
            db_session(), current_actor(), stocktake.id, version=version, reasons=reasons
        )

    return _step(stocktake_id, work, _("Approved."))


@bp.post("/stocktakes/<int:stocktake_id>/decide")
def decide_stocktake(stocktake_id: int):
    require(SHOP_ROLES)
    stocktake = _stocktake_or_404(stocktake_id)
    form = DecisionForm()
    version = _version(form)
    approve = form.decision.data == "approve"
    try:
        services.decide_as_shop(
            db_session(),
            current_actor(),
            stocktake.id,
            version=version,
            approve=approve,
            comment=form.comment.data or "",
        )
    except services.StaleStocktake:
        return detail_page(
            stocktake, [_("Someone changed this stocktake meanwhile. Look again.")], 409
        )
    except services.StocktakeState as exc:
        return detail_page(stocktake, attach(form, exc.errors), 409)
    except (services.StocktakeInvalid, StockInvalid) as exc:
        return detail_page(stocktake, attach(form, exc.errors), 422, decision_form=form)
    flash(
        _("Approved: the stock is corrected.")
        if approve
        else _("Disputed: the agency will look again."),
        "success",
    )
    return redirect(url_for("shop.stocktake_detail", stocktake_id=stocktake.id), 303)


@bp.post("/stocktakes/<int:stocktake_id>/recount")
def recount_stocktake(stocktake_id: int):
    require(COUNT_ROLES)

    def work(stocktake, version):
        services.recount_disputed(db_session(), current_actor(), stocktake.id, version=version)

    return _step(stocktake_id, work, _("The disputed lines are to be counted again."))


@bp.post("/stocktakes/<int:stocktake_id>/cancel")
def cancel_stocktake(stocktake_id: int):
    require(COUNT_ROLES)

    def work(stocktake, version):
        services.cancel_stocktake(db_session(), current_actor(), stocktake.id, version=version)

    return _step(stocktake_id, work, _("Stocktake cancelled."))
