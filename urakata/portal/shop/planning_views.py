"""The shop's planning pages: SKUs with their reorder points and forecasts, low-stock
notices, a SKU's chart of sales and forecast, reorder proposals (accept → inbound
notice), storage usage from the day-end snapshots, and the planning settings.

Everyone in the shop reads them; setting reorder points, asking for a forecast and
deciding proposals is for shop admins and the agency's staff (``planning.edit``). Forms
carry the record's version (a stale one is 409) and a proposal decided once is not
decided again (a form sent twice changes nothing and says so).
"""

from __future__ import annotations

from datetime import date, timedelta

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from urakata.platform.identity import Role
from urakata.platform.tenancy import NotFound
from urakata.portal.access import PERMISSIONS, has_permission, require_permission
from urakata.portal.actor import current_actor
from urakata.portal.i18n import translate_message
from urakata.portal.requestdb import db_session
from urakata.portal.shop.blueprint import bp, menu_entry
from urakata.tenants.catalog.services import get_product
from urakata.tenants.planning import chart, forecasts, overview, proposals, services, snapshots
from urakata.tenants.planning.errors import AlreadyDecided, PlanningInvalid, StaleRecord
from urakata.tenants.stock.ledger import shop_today

# The planning permissions live with the pages that use them.
PERMISSIONS.setdefault("planning.view", frozenset(Role))
PERMISSIONS.setdefault(
    "planning.edit", frozenset({Role.shop_admin, Role.agency_admin, Role.operator})
)
menu_entry("shop.planning", _l("Planning and reorders"), "planning.view")
menu_entry("shop.storage_usage", _l("Storage usage"), "planning.view")

PER_PAGE = 50
HISTORY_DAYS = 56
METHOD_LABELS = {
    "holt_winters": _l("Holt-Winters (weekly season)"),
    "average": _l("Average (short history)"),
}
STATUS_LABELS = {
    "open": _l("Awaiting decision"),
    "accepted": _l("Accepted"),
    "dismissed": _l("Dismissed"),
    "withdrawn": _l("Withdrawn"),
}


def _problems(exc: PlanningInvalid) -> dict[str, list[str]]:
    return {field: [translate_message(m) for m in msgs] for field, msgs in exc.errors.items()}


# --- the list ---------------------------------------------------------------------------------


@bp.get("/planning")
def planning():
    require_permission("planning.view")
    session = db_session()
    q = (request.args.get("q") or "").strip()[:100]
    low = request.args.get("low") == "1"
    after = (request.args.get("after") or "").strip()[:64] or None
    rows, next_after = overview.planning_rows(
        session, query=q, low_only=low, after_sku=after, limit=PER_PAGE
    )
    return render_template(
        "planning/list.html",
        shop=g.shop,
        rows=rows,
        next_after=next_after,
        first_page=after is None,
        filters={"q": q, "low": low},
        notices=services.notices(session, limit=20),
        open_proposals=len(proposals.list_proposals(session, limit=100)[0]),
        method_labels=METHOD_LABELS,
        can_edit=has_permission("planning.edit"),
    )


@bp.post("/planning/notices/read")
def read_notices():
    require_permission("planning.view")
    ids = [int(i) for i in request.form.getlist("notice") if i.isdigit()][:100]
    services.mark_notices_read(db_session(), actor=current_actor(), notice_ids=ids)
    return redirect(url_for("shop.planning"), 303)


# --- a SKU --------------------------------------------------------------------------------------


def _sku_page(product_id: int, problems: dict | None = None, status: int = 200):
    session = db_session()
    try:
        product = get_product(session, product_id)
    except NotFound:
        abort(404)
    point = session.get(services.ReorderPoint, (g.shop.id, product.id))
    forecast = forecasts.latest_forecasts(session, [product.id]).get(product.id)
    today = shop_today(session)
    history = forecasts.daily_history(session, product.id, until=today, days=HISTORY_DAYS)
    svg = chart.render(
        history=history,
        starts_on=forecast.starts_on if forecast else today,
        daily=forecast.daily if forecast else [],
        lower=forecast.lower if forecast else [],
        upper=forecast.upper if forecast else [],
        labels={
            "title": _("Sales and forecast of %(sku)s", sku=product.sku),
            "desc": _(
                "Pieces sold each day over the last %(days)s days, then the forecast with"
                " its 80%% range.",
                days=HISTORY_DAYS,
            ),
            "sold": _("Sold"),
            "forecast": _("Forecast"),
            "band": _("Likely range (80%)"),
            "today": _("Today"),
            "pieces": _("Pieces"),
        },
    )
    return render_template(
        "planning/product.html",
        shop=g.shop,
        product=product,
        point=point,
        forecast=forecast,
        chart=svg,
        available=services.available_by_product(session, [product.id]).get(product.id, 0),
        settings=services.get_planning_settings(session),
        method_labels=METHOD_LABELS,
        problems=problems or {},
        can_edit=has_permission("planning.edit"),
        sold_last_4_weeks=sum(q for _d, q in history[-28:]),
    ), status


@bp.get("/planning/<int:product_id>")
def planning_product(product_id: int):
    require_permission("planning.view")
    return _sku_page(product_id)


@bp.post("/planning/<int:product_id>/reorder-point")
def set_reorder_point(product_id: int):
    require_permission("planning.edit")
    session = db_session()
    form = request.form
    version = form.get("version", "")
    data = {
        "mode": form.get("mode", "manual"),
        "reorder_point": form.get("reorder_point", ""),
        "lead_time_days": form.get("lead_time_days") or None,
        "version": int(version) if version.isdigit() else None,
    }
    try:
        suggestion = None
        if data["mode"] == "suggested":
            found = forecasts.latest_forecasts(session, [product_id]).get(product_id)
            suggestion = found.suggested_reorder_point if found else None
        services.set_reorder_point(
            session, actor=current_actor(), product_id=product_id, data=data,
            suggestion=suggestion,
        )  # fmt: skip
    except NotFound:
        abort(404)
    except PlanningInvalid as exc:
        session.rollback()
        return _sku_page(product_id, _problems(exc), 422)
    except StaleRecord as exc:
        session.rollback()
        return _sku_page(product_id, {"_": [translate_message(exc.message)]}, 409)
    flash(_("The reorder point was saved."), "success")
    return redirect(url_for("shop.planning_product", product_id=product_id), 303)


@bp.post("/planning/<int:product_id>/forecast")
def forecast_now(product_id: int):
    require_permission("planning.edit")
    session = db_session()
    try:
        forecasts.forecast_product(session, actor=current_actor(), product_id=product_id)
    except NotFound:
        abort(404)
    except PlanningInvalid as exc:
        session.rollback()
        return _sku_page(product_id, _problems(exc), 422)
    flash(_("The forecast was made."), "success")
    return redirect(url_for("shop.planning_product", product_id=product_id), 303)


# --- proposals ----------------------------------------------------------------------------------


def _proposals_page(problems: dict | None = None, status: int = 200):
    session = db_session()
    shown = request.args.get("status", "open")
    if shown not in STATUS_LABELS:
        shown = "open"
    q = (request.args.get("q") or "").strip()[:100]
    before = request.args.get("before", type=int)
    rows, next_before = proposals.list_proposals(
        session, status=shown, query=q, before_id=before, limit=PER_PAGE
    )
    return render_template(
        "planning/proposals.html",
        shop=g.shop,
        rows=rows,
        next_before=next_before,
        first_page=before is None,
        shown=shown,
        q=q,
        status_labels=STATUS_LABELS,
        problems=problems or {},
        can_edit=has_permission("planning.edit"),
    ), status


@bp.get("/planning/proposals")
def planning_proposals():
    require_permission("planning.view")
    return _proposals_page()


@bp.post("/planning/proposals/refresh")
def refresh_proposals():
    require_permission("planning.edit")
    done = proposals.refresh_proposals(db_session(), actor=current_actor())
    flash(
        _("Proposals: %(made)s new, %(updated)s updated, %(withdrawn)s withdrawn.",
          made=done.made, updated=done.updated, withdrawn=done.withdrawn),
        "success",
    )  # fmt: skip
    return redirect(url_for("shop.planning_proposals"), 303)


def _decide(proposal_id: int, action):
    session = db_session()
    try:
        action(session)
    except NotFound:
        abort(404)
    except AlreadyDecided as exc:
        session.rollback()
        return _proposals_page({proposal_id: [translate_message(m) for m in
                                              exc.errors["status"]]}, 409)  # fmt: skip
    except StaleRecord as exc:
        session.rollback()
        return _proposals_page({proposal_id: [translate_message(exc.message)]}, 409)
    except PlanningInvalid as exc:
        session.rollback()
        flat = [m for msgs in _problems(exc).values() for m in msgs]
        return _proposals_page({proposal_id: flat}, 422)
    return None


def _proposal_id() -> int:
    """The proposal a form is about (a form field: the list page decides many at once)."""
    value = request.form.get("proposal", "")
    if not value.isdigit():
        abort(404)
    return int(value)


@bp.post("/planning/proposals/accept")
def accept_proposal():
    require_permission("planning.edit")
    proposal_id = _proposal_id()
    version = request.form.get("version", "")
    data = {
        "quantity": request.form.get("quantity", ""),
        "version": int(version) if version.isdigit() else -1,
    }
    accepted = []

    def act(session):
        accepted.append(proposals.accept_proposal(
            session, actor=current_actor(), proposal_id=proposal_id, data=data))  # fmt: skip

    refused = _decide(proposal_id, act)
    if refused is not None:
        return refused
    flash(
        _("Accepted: inbound notice %(notice)s for %(quantity)s pieces.",
          notice=accepted[0].inbound_notice_id, quantity=accepted[0].quantity),
        "success",
    )  # fmt: skip
    return redirect(url_for("shop.planning_proposals"), 303)


@bp.post("/planning/proposals/dismiss")
def dismiss_proposal():
    require_permission("planning.edit")
    proposal_id = _proposal_id()
    version = request.form.get("version", "")

    def act(session):
        proposals.dismiss_proposal(session, actor=current_actor(), proposal_id=proposal_id,
                                   version=int(version) if version.isdigit() else -1)  # fmt: skip

    refused = _decide(proposal_id, act)
    if refused is not None:
        return refused
    flash(_("The proposal was dismissed."), "success")
    return redirect(url_for("shop.planning_proposals"), 303)


# --- storage usage --------------------------------------------------------------------------------


def _month(value: str | None, today: date) -> date:
    try:
        year, month = (int(p) for p in (value or "").split("-"))
        return date(year, month, 1)
    except ValueError:
        return today.replace(day=1)


@bp.get("/planning/storage")
def storage_usage():
    require_permission("planning.view")
    session = db_session()
    today = shop_today(session)
    month = _month(request.args.get("month"), today)
    after = (request.args.get("after") or "").strip()[:32] or None
    usage = snapshots.storage_usage(session, month)
    bins, next_after = snapshots.bins_in_month(session, month, after=after, limit=PER_PAGE)
    previous = (month - timedelta(days=1)).replace(day=1)
    following = (month + timedelta(days=32)).replace(day=1)
    return render_template(
        "planning/storage.html",
        shop=g.shop,
        usage=usage,
        bins=bins,
        next_after=next_after,
        month=month,
        previous=previous,
        following=following if following <= today else None,
    )


# --- settings ------------------------------------------------------------------------------


@bp.route("/planning/settings", methods=["GET", "POST"])
def planning_settings():
    require_permission("planning.view")
    session = db_session()
    problems: dict = {}
    status = 200
    if request.method == "POST":
        require_permission("planning.edit")
        data = {k: request.form.get(k, "") for k in services.SETTINGS_FIELDS}
        version = request.form.get("version", "")
        data["version"] = int(version) if version.isdigit() else -1
        try:
            services.update_planning_settings(session, actor=current_actor(), data=data)
        except PlanningInvalid as exc:
            session.rollback()
            problems, status = _problems(exc), 422
        except StaleRecord as exc:
            session.rollback()
            problems, status = {"_": [translate_message(exc.message)]}, 409
        else:
            flash(_("The planning settings were saved."), "success")
            return redirect(url_for("shop.planning_settings"), 303)
    return render_template(
        "planning/settings.html",
        shop=g.shop,
        settings=services.get_planning_settings(session),
        values=request.form if problems else None,
        problems=problems,
        can_edit=has_permission("planning.edit"),
    ), status
