"""The shop's side of shipping: its parcels with their tracking numbers and the carriers'
tracking links, and its shipping options (packing-slip message and prices, the labels'
item name, posting fulfilments back to Shopify)."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm

from urakata.platform.identity import Role
from urakata.portal.access import require_permission
from urakata.portal.actor import current_actor
from urakata.portal.i18n import translate_message
from urakata.portal.requestdb import db_session
from urakata.portal.shop.blueprint import bp, menu_entry
from urakata.tenants.shipping import settings as shipping_settings
from urakata.tenants.shipping.errors import ShippingInvalid, StaleShipping
from urakata.tenants.shipping.parcels import STATUSES, parcel_rows

PER_PAGE = 50
EDITORS = frozenset({Role.shop_admin, Role.agency_admin})
CARRIER_LABELS = {"yamato": _l("Yamato"), "sagawa": _l("Sagawa"), "japan_post": _l("Japan Post")}
MAIL_LABELS = {"queued": _l("Queued"), "sent": _l("Sent"), "failed": _l("Failed"),
               "no_address": _l("No e-mail address"), "skipped": _l("Not sent")}  # fmt: skip
STATUS_LABELS = {"inspected": _l("Inspected"), "packed": _l("Packed"), "shipped": _l("Shipped"),
                 "cancelled": _l("Cancelled")}  # fmt: skip

menu_entry("shop.parcels", _l("Parcels and tracking"), "orders.view")
menu_entry("shop.shipping_options", _l("Shipping options"), "shop.settings.view")


@bp.get("/parcels")
def parcels():
    require_permission("orders.view")
    status = request.args.get("status") if request.args.get("status") in STATUSES else None
    query = (request.args.get("q") or "").strip()[:64]
    before = request.args.get("before", type=int)
    rows = parcel_rows(db_session(), status=status, query=query, before=before,
                       limit=PER_PAGE + 1)  # fmt: skip
    return render_template(
        "shipping/parcels.html",
        shop=g.shop,
        rows=rows[:PER_PAGE],
        next_before=rows[PER_PAGE - 1]["shipment"].id if len(rows) > PER_PAGE else None,
        status=status,
        query=query,
        statuses=STATUS_LABELS,
        carrier_labels=CARRIER_LABELS,
        mail_labels=MAIL_LABELS,
    )


@bp.route("/shipping/options", methods=["GET", "POST"])
def shipping_options():
    require_permission("shop.settings.view")
    session = db_session()
    options = shipping_settings.get_options(session)
    can_edit = bool(g.shop_roles & EDITORS)
    problems, status = {}, 200
    if request.method == "POST":
        if not can_edit:
            abort(403)
        if not FlaskForm().validate():
            abort(400)
        data = {name: request.form.get(name, "") for name in
                ("slip_message", "label_item_name", "shopify_shop_domain",
                 "shopify_access_token")}  # fmt: skip
        data["slip_hide_prices"] = "slip_hide_prices" in request.form
        data["shopify_fulfilment_enabled"] = "shopify_fulfilment_enabled" in request.form
        try:
            shipping_settings.update_options(session, actor=current_actor(),
                                             version=request.form.get("version", type=int) or 0,
                                             data=data)  # fmt: skip
        except ShippingInvalid as exc:
            problems = {k: [translate_message(m) for m in v] for k, v in exc.errors.items()}
            status = 422
        except StaleShipping:
            problems, status = {"": [_("Someone saved these options meanwhile. Check them.")]}, 409
        else:
            flash(_("Saved the shipping options."), "success")
            return redirect(url_for("shop.shipping_options"), 303)
    return render_template("shipping/options.html", shop=g.shop, options=options,
                           can_edit=can_edit, problems=problems, form=FlaskForm(),
                           values=request.form if problems else None), status  # fmt: skip
