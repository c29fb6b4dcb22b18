"""Shop settings and contract: everyone in the shop reads them, agency admins change them.

Every change is a new version (history page); a form posted against an older version is
refused with 409, invalid values with 422 and the message next to the field.
"""

from __future__ import annotations

from datetime import datetime

from flask import abort, flash, g, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import HiddenField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from urakata.portal.access import has_permission, require_permission
from urakata.portal.actor import current_actor
from urakata.portal.agency.wave_views import CARRIER_LABELS, SERVICE_LABELS
from urakata.portal.i18n import translate_message
from urakata.portal.requestdb import db_session
from urakata.portal.shop.blueprint import bp, menu_entry
from urakata.tenants.fulfilment.models import CARRIERS, SERVICES
from urakata.tenants.shop.models import SPLIT_POLICIES, ShopSettings
from urakata.tenants.shop.services import (
    LOGO_MAX_BYTES,
    SECRET_FIELDS,
    SettingsInvalid,
    StaleSettings,
    get_settings,
    remove_logo,
    set_logo,
    settings_history,
    update_settings,
)

menu_entry("shop.settings", _l("Settings and contract"), "shop.settings.view")

FIELD_LABELS = {
    "timezone": _l("Time zone"),
    "same_day_cutoff": _l("Same-day shipping cutoff"),
    "closed_days": _l("Agency closed days"),
    "split_policy": _l("Split shipments"),
    "stocktake_approval_threshold_yen": _l("Stocktake approval threshold (yen)"),
    "sasage_turnaround_days": _l("Sasage turnaround (business days)"),
    "min_shelf_life_days": _l("Minimum remaining shelf life (days)"),
    "sasage_on_first_receipt": _l("Request sasage on a SKU's first receipt"),
    "default_carrier": _l("Default carrier"),
    "default_carrier_service": _l("Default service"),
    "sender_name": _l("Sender name"),
    "sender_postal_code": _l("Sender postal code"),
    "sender_address": _l("Sender address"),
    "sender_phone": _l("Sender phone"),
    "sender_email": _l("Sender e-mail"),
    "b2_customer_code": _l("Yamato B2 customer code"),
    "b2_freight_code": _l("Yamato B2 freight code"),
    "ehiden_customer_code": _l("Sagawa e-Hiden customer code"),
    "shopify_webhook_secret": _l("Shopify webhook secret"),
    "shopify_date_keys": _l("Shopify note attributes: delivery date"),
    "shopify_slot_keys": _l("Shopify note attributes: delivery time slot"),
    "shopify_noshi_keys": _l("Shopify note attributes: noshi"),
    "logo": _l("Logo"),
}
NOTE_KEYS_HELP = _l(
    "The names your Shopify delivery app gives this note attribute, separated by commas."
    " The common apps' names (配送希望日, 配送希望時間帯, のし …) are known already."
)
SECTIONS = [
    (
        _l("Contract and operations"),
        [
            "timezone",
            "same_day_cutoff",
            "closed_days",
            "split_policy",
            "stocktake_approval_threshold_yen",
            "sasage_turnaround_days",
            "min_shelf_life_days",
            "sasage_on_first_receipt",
        ],
    ),
    (
        _l("Sender on shipping labels"),
        ["sender_name", "sender_postal_code", "sender_address", "sender_phone", "sender_email"],
    ),
    (
        _l("Carrier accounts"),
        [
            "default_carrier",
            "default_carrier_service",
            "b2_customer_code",
            "b2_freight_code",
            "ehiden_customer_code",
        ],
    ),
    (
        _l("Integrations"),
        ["shopify_webhook_secret", "shopify_date_keys", "shopify_slot_keys", "shopify_noshi_keys"],
    ),
]
EDITABLE = [name for _title, names in SECTIONS for name in names]
SPLIT_POLICY_LABELS = {
    "ship_complete": _l("Ship complete orders only"),
    "split_allowed": _l("Split when items arrive at different times"),
    "partial_allowed": _l("Ship what is in stock, the rest later"),
}


class SettingsForm(FlaskForm):
    """Parses the posted strings only; the service's schema normalises and validates."""

    version = HiddenField()
    timezone = StringField(
        FIELD_LABELS["timezone"], description=_l("An IANA name such as Asia/Tokyo.")
    )
    same_day_cutoff = StringField(
        FIELD_LABELS["same_day_cutoff"],
        description=_l("Orders confirmed by this time (HH:MM, shop's time zone) ship that day."),
        render_kw={"inputmode": "numeric", "placeholder": "14:00"},
    )
    closed_days = TextAreaField(
        FIELD_LABELS["closed_days"],
        description=_l(
            "Days the agency does not ship, beyond Japanese public holidays."
            " One date per line, YYYY-MM-DD."
        ),
        render_kw={"rows": 4},
    )
    split_policy = SelectField(
        FIELD_LABELS["split_policy"],
        choices=[SelectChoice(value, SPLIT_POLICY_LABELS[value]) for value in SPLIT_POLICIES],
        validate_choice=False,
    )
    stocktake_approval_threshold_yen = StringField(
        FIELD_LABELS["stocktake_approval_threshold_yen"],
        description=_l("Stocktake differences worth more than this need the shop's approval."),
        render_kw={"inputmode": "numeric"},
    )
    sasage_turnaround_days = StringField(
        FIELD_LABELS["sasage_turnaround_days"],
        description=_l("From 1 to 60 business days."),
        render_kw={"inputmode": "numeric"},
    )
    min_shelf_life_days = StringField(
        FIELD_LABELS["min_shelf_life_days"],
        description=_l(
            "Orders are never given a lot with fewer days than this left to its best-before"
            " date. 0 to 3650."
        ),
        render_kw={"inputmode": "numeric"},
    )
    sasage_on_first_receipt = SelectField(
        FIELD_LABELS["sasage_on_first_receipt"],
        description=_l("A SKU received for the first time gets its sasage requested by itself."),
        choices=[SelectChoice("0", _l("No")), SelectChoice("1", _l("Yes"))],
        validate_choice=False,
    )
    default_carrier = SelectField(
        FIELD_LABELS["default_carrier"],
        description=_l("Parcels go by this carrier unless an order says otherwise."),
        choices=[SelectChoice(c, CARRIER_LABELS[c]) for c in CARRIERS],
        validate_choice=False,
    )
    default_carrier_service = SelectField(
        FIELD_LABELS["default_carrier_service"],
        description=_l("A service of the carrier above (cool parcels use its standard one)."),
        choices=[SelectChoice(v, SERVICE_LABELS[v]) for c in CARRIERS for v in SERVICES[c]],
        validate_choice=False,
    )
    sender_name = StringField(FIELD_LABELS["sender_name"])
    sender_postal_code = StringField(
        FIELD_LABELS["sender_postal_code"], render_kw={"placeholder": "150-0001"}
    )
    sender_address = StringField(FIELD_LABELS["sender_address"])
    sender_phone = StringField(
        FIELD_LABELS["sender_phone"],
        description=_l("Digits and hyphens, at most 15 characters (Yamato B2)."),
        render_kw={"inputmode": "tel", "placeholder": "03-1234-5678"},
    )
    sender_email = StringField(FIELD_LABELS["sender_email"], render_kw={"inputmode": "email"})
    b2_customer_code = StringField(
        FIELD_LABELS["b2_customer_code"],
        description=_l("Blank, or the 12-digit billing customer code."),
        render_kw={"inputmode": "numeric"},
    )
    b2_freight_code = StringField(
        FIELD_LABELS["b2_freight_code"],
        description=_l("Blank, or the 2-digit freight management number."),
        render_kw={"inputmode": "numeric"},
    )
    ehiden_customer_code = StringField(
        FIELD_LABELS["ehiden_customer_code"],
        description=_l("Blank, or up to 20 digits."),
        render_kw={"inputmode": "numeric"},
    )
    shopify_webhook_secret = PasswordField(
        FIELD_LABELS["shopify_webhook_secret"],
        description=_l("Write-only. Leave blank to keep the current secret."),
        render_kw={"autocomplete": "off"},
    )
    shopify_date_keys = StringField(
        FIELD_LABELS["shopify_date_keys"],
        description=NOTE_KEYS_HELP,
    )
    shopify_slot_keys = StringField(
        FIELD_LABELS["shopify_slot_keys"],
        description=NOTE_KEYS_HELP,
    )
    shopify_noshi_keys = StringField(
        FIELD_LABELS["shopify_noshi_keys"],
        description=NOTE_KEYS_HELP,
    )

    def changes(self) -> dict[str, str]:
        """The posted settings; a field absent from the request is left as it is."""
        return {name: self[name].data for name in EDITABLE if self[name].raw_data}


class VersionForm(FlaskForm):
    version = HiddenField()


class LogoForm(VersionForm):
    logo = FileField(
        FIELD_LABELS["logo"],
        description=_l("PNG, JPEG or WebP, at most 512 KB and 2000 × 2000 pixels."),
        render_kw={"accept": "image/png,image/jpeg,image/webp"},
    )


@bp.get("/settings")
def settings():
    require_permission("shop.settings.view")
    current = get_settings(db_session())
    return _settings_page(current)


@bp.post("/settings")
def save_settings():
    require_permission("shop.settings.edit")
    session = db_session()
    form = SettingsForm(data=_form_data(get_settings(session)))  # unposted fields: as stored
    expected = _posted_version(form)
    try:
        saved = update_settings(
            session, actor=current_actor(), expected_version=expected, changes=form.changes()
        )
    except SettingsInvalid as exc:
        form_errors = _attach_errors(form, exc.errors)
        return _settings_page(get_settings(session), form=form, form_errors=form_errors), 422
    except StaleSettings as exc:
        return _conflict(exc)
    _flash_saved(saved, expected)
    return redirect(url_for("shop.settings"))


@bp.get("/settings/logo")
def settings_logo():
    require_permission("shop.settings.view")
    current = get_settings(db_session())
    if current.logo is None:
        abort(404)
    response = make_response(current.logo)
    response.mimetype = current.logo_mime
    response.headers["Cache-Control"] = "private, no-cache"
    response.add_etag()
    return response.make_conditional(request)


@bp.post("/settings/logo")
def upload_logo():
    require_permission("shop.settings.edit")
    form = LogoForm()
    expected = _posted_version(form)
    upload = form.logo.data
    data = upload.stream.read(LOGO_MAX_BYTES + 1) if upload else b""
    session = db_session()
    try:
        saved = set_logo(session, actor=current_actor(), expected_version=expected, data=data)
    except SettingsInvalid as exc:
        _attach_errors(form, exc.errors)
        return _settings_page(get_settings(session), logo_form=form), 422
    except StaleSettings as exc:
        return _conflict(exc)
    _flash_saved(saved, expected)
    return redirect(url_for("shop.settings"))


@bp.post("/settings/logo/remove")
def delete_logo():
    require_permission("shop.settings.edit")
    form = VersionForm()
    expected = _posted_version(form)
    try:
        saved = remove_logo(db_session(), actor=current_actor(), expected_version=expected)
    except StaleSettings as exc:
        return _conflict(exc)
    _flash_saved(saved, expected)
    return redirect(url_for("shop.settings"))


@bp.get("/settings/history")
def settings_history_page():
    require_permission("shop.settings.view")
    field = request.args.get("field") or None
    if field not in FIELD_LABELS:
        field = None
    page = settings_history(db_session(), page=request.args.get("page", 1, type=int), field=field)
    return render_template(
        "shop/settings_history.html",
        shop=g.shop,
        history=page,
        rows=[_describe_version(v) for v in page.versions],
        field=field,
        labels=FIELD_LABELS,
        local=_local,
    )


# --- helpers: presentation only ---------------------------------------------------------


def _posted_version(form: FlaskForm) -> int:
    """The version the form was read at; a post without a valid one is a broken request."""
    if not form.validate_on_submit() or len(form.version.raw_data) != 1:
        abort(400)
    try:
        return int(form.version.raw_data[0])
    except ValueError:
        abort(400)


def _settings_page(current: ShopSettings, *, form=None, logo_form=None, form_errors=()):
    editable = has_permission("shop.settings.edit")
    if editable:
        form = form or SettingsForm(formdata=None, data=_form_data(current))
        logo_form = logo_form or LogoForm(formdata=None, data={"version": current.version})
    return render_template(
        "shop/settings.html",
        shop=g.shop,
        current=current,
        sections=SECTIONS,
        labels=FIELD_LABELS,
        shown={name: _shown(name, _value(current, name)) for name in EDITABLE},
        form=form if editable else None,
        form_errors=form_errors,
        logo_form=logo_form if editable else None,
        remove_form=VersionForm(formdata=None, data={"version": current.version}),
        local=_local,
    )


def _conflict(exc: StaleSettings):
    return render_template("shop/settings_conflict.html", shop=g.shop, stale=exc), 409


def _flash_saved(saved: ShopSettings, expected: int) -> None:
    if saved.version == expected:
        flash(_("Nothing changed; the settings stay at version %(version)s.", version=expected))
    else:
        flash(_("Settings saved as version %(version)s.", version=saved.version), "success")


def _attach_errors(form: FlaskForm, errors: dict[str, list[str]]) -> list[str]:
    """Put each message next to its field; return those that belong to no field."""
    unplaced = []
    for name, messages in errors.items():
        texts = [translate_message(m) for m in messages]
        if name in form and name != "version":
            form[name].errors = [*form[name].errors, *texts]
        else:
            unplaced.extend(texts)
    return unplaced


def _value(current: ShopSettings, name: str):
    return g.shop.timezone if name == "timezone" else getattr(current, name)


def _form_data(current: ShopSettings) -> dict:
    data = {name: _value(current, name) for name in EDITABLE if name not in SECRET_FIELDS}
    data["same_day_cutoff"] = current.same_day_cutoff.strftime("%H:%M")
    data["closed_days"] = "\n".join(d.isoformat() for d in current.closed_days)
    for name in (
        "stocktake_approval_threshold_yen",
        "sasage_turnaround_days",
        "min_shelf_life_days",
    ):
        data[name] = str(data[name])
    data["sasage_on_first_receipt"] = "1" if current.sasage_on_first_receipt else "0"
    data["version"] = current.version
    return data


def _shown(name: str, value) -> str:
    """A setting's value as the pages show it (also for old and new values in history)."""
    if name in SECRET_FIELDS:
        return _("Set") if value else _("Not set")
    if value is None or value == "" or value == []:
        return _("Not set")
    if name == "split_policy":
        return str(SPLIT_POLICY_LABELS.get(value, value))
    if name == "stocktake_approval_threshold_yen":
        return f"¥{value:,}"
    if name == "default_carrier":
        return str(CARRIER_LABELS.get(value, value))
    if name == "default_carrier_service":
        return str(SERVICE_LABELS.get(value, value))
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if name == "same_day_cutoff" and not isinstance(value, str):
        return value.strftime("%H:%M")
    if isinstance(value, list):
        return ", ".join(d if isinstance(d, str) else d.isoformat() for d in value)
    return str(value)


def _describe_version(version) -> dict:
    order = {name: i for i, name in enumerate(FIELD_LABELS)}
    changes = []
    for name in sorted(version.changes, key=lambda n: order.get(n, len(order))):
        old, new = version.changes[name].get("old"), version.changes[name].get("new")
        item = {"field": name, "label": FIELD_LABELS.get(name, name)}
        if name in SECRET_FIELDS:
            item["note"] = _("changed (the value is never shown)")
        elif name == "closed_days":
            item["note"] = _closed_days_note(old or [], new or [])
        else:
            item["old"], item["new"] = _shown(name, old), _shown(name, new)
        changes.append(item)
    return {"version": version, "changes": changes}


def _closed_days_note(old: list[str], new: list[str]) -> str:
    added = sorted(set(new) - set(old))
    removed = sorted(set(old) - set(new))
    parts = []
    if added:
        parts.append(_("added %(days)s", days=", ".join(added)))
    if removed:
        parts.append(_("removed %(days)s", days=", ".join(removed)))
    return "; ".join(parts)


def _local(moment: datetime) -> str:
    """A stored UTC time in the shop's time zone."""
    return moment.astimezone(g.shop.zone).strftime("%Y-%m-%d %H:%M")
