"""The agency's stock pages: the operator's overview of the shops they serve (and one
shop's stock at a glance), the transfer screen of a shop, and the warehouse's bins.

The overview reads across shops through ``fan_out_across_tenants`` only; a shop whose
daily reconciliation failed stands at the top (the portal half of the alert; the mail is
the other). The transfer screen lives under the shop's URL like every page of one shop.
Bins are platform data: agency admins make them, arrange the pick path and assign them
to shops; assigning and releasing are recorded on the shop's chain.
"""

from __future__ import annotations

import uuid

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from urakata.platform.identity import Role
from urakata.platform.locations import (
    LOCATION_KINDS,
    LocationFilter,
    LocationInvalid,
    StaleLocation,
    create_locations,
    get_location,
    list_locations,
    update_location,
    zones,
)
from urakata.platform.tenancy import NotFound, Tenant, fan_out_across_tenants
from urakata.portal.access import require_agency_role, require_permission, shops_for
from urakata.portal.actor import current_actor
from urakata.portal.agency.views import bp
from urakata.portal.i18n import translate_message
from urakata.portal.requestdb import db_session, get_db
from urakata.portal.shop.blueprint import bp as shop_bp
from urakata.portal.shop.stock_views import KIND_LABELS
from urakata.tenants.stock import levels
from urakata.tenants.stock.bins import assign_bins, parse_codes, release_bin, shop_bins
from urakata.tenants.stock.errors import DuplicateSubmission, StockInvalid
from urakata.tenants.stock.transfers import transfer

SHOP_ROWS = 200
LOCATIONS_PER_PAGE = 100


def _kind_choices(blank=None) -> list[SelectChoice]:
    choices = [SelectChoice(kind, KIND_LABELS[kind]) for kind in LOCATION_KINDS]
    return [SelectChoice("", blank), *choices] if blank is not None else choices


def _attach(form: FlaskForm, errors: dict) -> list[str]:
    """Messages next to their (visible) fields; the others returned."""
    unplaced = []
    for name, messages in errors.items():
        texts = [translate_message(m) for m in messages]
        if name in form and form[name].type not in ("CSRFTokenField", "HiddenField"):
            form[name].errors = [*form[name].errors, *texts]
        else:
            unplaced.extend(texts)
    return unplaced


# --- the overview -----------------------------------------------------------------------------


@bp.get("/stock")
def stock_overview():
    require_agency_role(Role.operator, Role.agency_admin)
    shops = shops_for(db_session(), current_user)
    slug = request.args.get("shop", "").strip()
    chosen = [s for s in shops if s.slug == slug]
    if slug and not chosen:
        abort(404)  # a shop the user does not serve looks like a missing one
    figures = fan_out_across_tenants(get_db(), [s.id for s in shops], levels.shop_figures)
    detail = None
    if chosen:
        query = (request.args.get("q") or "").strip()[:100]

        def one_shop(session):
            page = levels.stock_list(session, query=query, in_stock_only=True, limit=SHOP_ROWS)
            return page, levels.replenishment(session)

        detail = fan_out_across_tenants(get_db(), [chosen[0].id], one_shop)[chosen[0].id]
    alerts = [
        s
        for s in shops
        if figures[s.id].reconciliation is not None and not figures[s.id].reconciliation.ok
    ]
    return render_template(
        "stock/overview.html",
        shops=shops,
        figures=figures,
        alerts=alerts,
        chosen=chosen[0] if chosen else None,
        detail=detail,
        query=request.args.get("q", ""),
        limit=SHOP_ROWS,
        is_admin=Role.agency_admin in {Role(m.role) for m in current_user.memberships},
    )


# --- a shop's transfer screen ------------------------------------------------------------------


class TransferForm(FlaskForm):
    key = HiddenField()
    sku = StringField(_l("SKU"))
    lot_no = StringField(_l("Lot"), description=_l("Blank for a SKU not tracked by lot."))
    from_location = SelectField(_l("From bin"), choices=[], validate_choice=False)
    to_location = SelectField(_l("To bin"), choices=[], validate_choice=False)
    quantity = StringField(_l("Pieces"), render_kw={"inputmode": "numeric"})
    reason = StringField(_l("Reason"), description=_l("Such as: replenishing the pick face."))

    FIELDS = ("sku", "lot_no", "from_location", "to_location", "quantity", "reason")

    def with_bins(self) -> TransferForm:
        """The shop's bins to choose from, in pick-path order."""
        choices = [
            SelectChoice(b.code, f"{b.code} · {KIND_LABELS[b.kind]}")
            for b in shop_bins(db_session())
        ]
        blank = SelectChoice("", _("Choose a bin"))
        self.from_location.choices = [blank, *choices]
        self.to_location.choices = [blank, *choices]
        return self


def _transfer_page(form: TransferForm, problems=(), status: int = 200):
    return render_template(
        "stock/transfer.html",
        shop=g.shop,
        form=form,
        problems=problems,
        suggestions=levels.replenishment(db_session()),
    ), status


def _fresh_transfer_form(**prefill) -> TransferForm:
    data = {"key": f"transfer-{uuid.uuid4()}", **prefill}
    return TransferForm(formdata=None, data=data).with_bins()


@shop_bp.route("/stock/transfer", methods=["GET", "POST"])
def transfer_stock():
    require_permission("stock.move")
    if request.method == "GET":
        args = request.args
        prefill = {
            "sku": args.get("sku", "")[:64],
            "lot_no": args.get("lot", "")[:40],
            "from_location": args.get("from", "")[:19],
            "to_location": args.get("to", "")[:19],
            "quantity": args.get("quantity", "")[:7],
        }
        return _transfer_page(_fresh_transfer_form(**prefill))
    form = TransferForm().with_bins()
    if not form.validate():
        abort(400)
    data = {name: (form[name].data or "").strip() for name in TransferForm.FIELDS}
    try:
        done = transfer(
            db_session(), actor=current_actor(), data={"key": form.key.data or "", **data}
        )
    except DuplicateSubmission:
        message = _("This transfer was recorded already: the form was sent twice. Nothing moved.")
        return _transfer_page(_fresh_transfer_form(), [message], 409)
    except StockInvalid as exc:
        return _transfer_page(form, _attach(form, exc.errors), 422)
    flash(
        _(
            "Moved %(quantity)s × %(sku)s from %(source)s to %(target)s.",
            quantity=done.quantity,
            sku=done.sku,
            source=done.from_location,
            target=done.to_location,
        ),
        "success",
    )
    return redirect(url_for("shop.transfer_stock"), 303)


# --- the warehouse's bins (agency admins) ------------------------------------------------------


class RangeForm(FlaskForm):
    zone = StringField(_l("Zone"), render_kw={"placeholder": "A"})
    aisle = StringField(_l("Aisle"), render_kw={"placeholder": "01-04"})
    shelf = StringField(_l("Shelf"), render_kw={"placeholder": "1-3"})
    bin = StringField(_l("Bin"), render_kw={"placeholder": "1-5"})
    kind = SelectField(_l("Kind"), choices=_kind_choices, validate_choice=False)
    first_sequence = StringField(
        _l("First place on the pick path"),
        description=_l("Blank: after the last bin of the warehouse."),
        render_kw={"inputmode": "numeric"},
    )

    FIELDS = ("zone", "aisle", "shelf", "bin", "kind", "first_sequence")


class AssignForm(FlaskForm):
    shop = SelectField(_l("Shop"), choices=[], validate_choice=False)
    codes = TextAreaField(
        _l("Bins"),
        description=_l("Bin codes, one per line or separated by spaces."),
        render_kw={"rows": 4, "placeholder": "A-01-01-1\nA-01-01-2"},
    )


class LocationForm(FlaskForm):
    version = HiddenField()
    kind = SelectField(_l("Kind"), choices=_kind_choices, validate_choice=False)
    pick_sequence = StringField(_l("Place on the pick path"), render_kw={"inputmode": "numeric"})


class ReleaseForm(FlaskForm):
    version = HiddenField()


def _shop_choices(shops: list[Tenant]) -> list[SelectChoice]:
    return [SelectChoice("", _("Choose a shop"))] + [SelectChoice(s.slug, s.name) for s in shops]


def _location_filter(shops: list[Tenant]) -> tuple[LocationFilter, dict]:
    args = request.args
    kind = args.get("kind") if args.get("kind") in LOCATION_KINDS else None
    shop = args.get("shop", "")
    shop_id = next((s.id for s in shops if s.slug == shop), None)
    shown = {
        "zone": (args.get("zone") or "").strip()[:4],
        "kind": kind or "",
        "shop": shop if shop == "free" or shop_id else "",
    }
    return LocationFilter(shown["zone"], kind, shop_id, shop == "free"), shown


def _locations_page(range_form=None, assign_form=None, problems=(), status=200):
    session = db_session()
    shops = list(session.scalars(select(Tenant).order_by(Tenant.slug)))
    filters, shown = _location_filter(shops)
    after = (request.args.get("after") or "").strip()[:19] or None
    page = list_locations(session, filters, after_code=after, limit=LOCATIONS_PER_PAGE)
    assign_form = assign_form or AssignForm(formdata=None)
    assign_form.shop.choices = _shop_choices(shops)
    return render_template(
        "stock/locations.html",
        page=page,
        filters=shown,
        first_page=after is None,
        zones=zones(session),
        shops=shops,
        shop_names={s.id: s.name for s in shops},
        kind_labels=KIND_LABELS,
        range_form=range_form or RangeForm(formdata=None, data={"kind": "pick_face"}),
        assign_form=assign_form,
        problems=problems,
    ), status


@bp.get("/locations")
def locations():
    require_agency_role(Role.agency_admin)
    return _locations_page()


@bp.post("/locations")
def create_location_range():
    require_agency_role(Role.agency_admin)
    form = RangeForm()
    if not form.validate():
        abort(400)
    data = {name: (form[name].data or "").strip() for name in RangeForm.FIELDS}
    if not data["first_sequence"]:
        del data["first_sequence"]
    try:
        made = create_locations(db_session(), actor=current_actor(), data=data)
    except LocationInvalid as exc:
        return _locations_page(range_form=form, problems=_attach(form, exc.errors), status=422)
    flash(
        _(
            "%(count)s bins were made, %(first)s to %(last)s.",
            count=len(made),
            first=made[0].code,
            last=made[-1].code,
        ),
        "success",
    )
    return redirect(url_for("agency.locations"), 303)


@bp.post("/locations/assign")
def assign_locations():
    require_agency_role(Role.agency_admin)
    form = AssignForm()
    session = db_session()
    shops = list(session.scalars(select(Tenant).order_by(Tenant.slug)))
    form.shop.choices = _shop_choices(shops)
    if not form.validate():
        abort(400)
    shop = next((s for s in shops if s.slug == form.shop.data), None)
    if shop is None:
        form.shop.errors = [_("Choose a shop.")]
        return _locations_page(assign_form=form, status=422)
    session.bind_tenant(shop.id)  # assigning is the shop's business: its chain records it
    try:
        done = assign_bins(session, actor=current_actor(), codes=parse_codes(form.codes.data or ""))
    except StockInvalid as exc:
        return _locations_page(assign_form=form, problems=_attach(form, exc.errors), status=422)
    flash(_("%(count)s bins now belong to %(shop)s.", count=len(done), shop=shop.name), "success")
    return redirect(url_for("agency.locations", shop=shop.slug), 303)


def _location_or_404(location_id: int):
    try:
        return get_location(db_session(), location_id)
    except NotFound:
        abort(404)


def _location_page(location, form=None, problem=None, status=200):
    session = db_session()
    shop = session.get(Tenant, location.shop_id) if location.shop_id else None
    data = {
        "version": location.version,
        "kind": location.kind,
        "pick_sequence": str(location.pick_sequence),
    }
    return render_template(
        "stock/location.html",
        location=location,
        shop=shop,
        form=form or LocationForm(formdata=None, data=data),
        release_form=ReleaseForm(formdata=None, data={"version": location.version}),
        kind_labels=KIND_LABELS,
        problem=problem,
    ), status


@bp.route("/locations/<int:location_id>", methods=["GET", "POST"])
def location(location_id: int):
    require_agency_role(Role.agency_admin)
    current = _location_or_404(location_id)
    if request.method == "GET":
        return _location_page(current)
    form = LocationForm()
    if not form.validate():
        abort(400)
    data = {
        "version": form.version.data or "",
        "kind": form.kind.data or "",
        "pick_sequence": (form.pick_sequence.data or "").strip(),
    }
    try:
        update_location(db_session(), actor=current_actor(), location_id=current.id, data=data)
    except LocationInvalid as exc:
        problems = _attach(form, exc.errors)
        return _location_page(current, form, " ".join(problems) or None, 422)
    except StaleLocation:
        db_session().rollback()
        fresh = _location_or_404(location_id)
        return _location_page(
            fresh, problem=_("Someone changed this bin meanwhile: look at it again."), status=409
        )
    flash(_("Bin %(code)s was saved.", code=current.code), "success")
    return redirect(url_for("agency.location", location_id=current.id), 303)


@bp.post("/locations/<int:location_id>/release")
def release_location(location_id: int):
    require_agency_role(Role.agency_admin)
    current = _location_or_404(location_id)
    form = ReleaseForm()
    if not form.validate() or not (form.version.data or "").isdigit():
        abort(400)
    if current.shop_id is None:
        return _location_page(current, problem=_("This bin belongs to no shop."), status=409)
    session = db_session()
    session.bind_tenant(current.shop_id)  # releasing is the shop's business: its chain
    try:
        release_bin(
            session, actor=current_actor(), location_id=current.id, version=int(form.version.data)
        )
    except StockInvalid as exc:
        message = " ".join(translate_message(m) for ms in exc.errors.values() for m in ms)
        return _location_page(current, problem=message, status=409)
    except StaleLocation:
        session.rollback()
        return _location_page(
            _location_or_404(location_id),
            problem=_("Someone changed this bin meanwhile: look at it again."),
            status=409,
        )
    flash(_("Bin %(code)s is free again.", code=current.code), "success")
    return redirect(url_for("agency.location", location_id=current.id), 303)
