"""The shop's catalog: product list and pages, CSV import with a progress bar, CSV export.

Everyone in the shop reads the catalog; shop admins and the agency's staff (agency
admins, the shop's operators) change it and import files, others get 403 on a POST.
A product form posted against an older version answers 409, invalid values 422 with the
message next to the field. An import is checked in the request (the whole file, errors by
row and column, nothing written) and, when clean, imported by a job whose task row holds
the file until it is done (``csvio.start_import``).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from flask import (
    Response,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_number
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from urakata.platform import tasks
from urakata.platform.tasks import ShopTask, TaskStatus
from urakata.platform.tenancy import NotFound
from urakata.portal.access import has_permission, require_permission
from urakata.portal.actor import current_actor
from urakata.portal.i18n import translate_message
from urakata.portal.requestdb import db_session, get_db
from urakata.portal.shop.blueprint import bp, menu_entry
from urakata.portal.shop.task_pages import (
    import_page,
    import_refused_text,
    page_state,
    progress_response,
    task_or_404,
)
from urakata.portal.shop.task_views import status_text
from urakata.portal.timeline import timeline
from urakata.tenants.catalog import csvio
from urakata.tenants.catalog.models import STATUSES, TAX_RATES, TEMPERATURE_ZONES, Product
from urakata.tenants.catalog.services import (
    ProductInvalid,
    StaleProduct,
    create_product,
    get_product,
    list_products,
    update_product,
)

PER_PAGE = 50
IMPORTS_PER_PAGE = 10
ERRORS_SHOWN = 200
EXPORT_ENCODINGS = ("utf-8", "cp932")

menu_entry("shop.products", _l("Products"), "catalog.view")

FIELD_LABELS = {
    "sku": _l("SKU"),
    "jan": _l("JAN code"),
    "name": _l("Product name"),
    "name_en": _l("Product name (English)"),
    "price_yen": _l("Price (yen)"),
    "tax_rate": _l("Tax rate"),
    "sale_starts_at": _l("Sale starts"),
    "status": _l("Status"),
    "length_mm": _l("Length (mm)"),
    "width_mm": _l("Width (mm)"),
    "height_mm": _l("Height (mm)"),
    "weight_g": _l("Weight (g)"),
    "temperature_zone": _l("Temperature zone"),
    "lot_tracked": _l("Lot and best-before tracking"),
    "case_quantity": _l("Units per case"),
    "case_itf14": _l("Case ITF-14"),
    "barcodes": _l("Other barcodes"),
}
STATUS_LABELS = {
    "draft": _l("Draft"),
    "active": _l("On sale"),
    "discontinued": _l("Discontinued"),
}
ZONE_LABELS = {
    "ambient": _l("Ambient"),
    "chilled": _l("Chilled"),
    "frozen": _l("Frozen"),
}
TAX_LABELS = {10: _l("10%"), 8: _l("8% (reduced rate)")}
SECTIONS = [
    (_l("Product"), ["sku", "jan", "name", "name_en"]),
    (_l("Price and sale"), ["price_yen", "tax_rate", "sale_starts_at", "status"]),
    (
        _l("Size and handling"),
        ["length_mm", "width_mm", "height_mm", "weight_g", "temperature_zone", "lot_tracked"],
    ),
    (_l("Cases and barcodes"), ["case_quantity", "case_itf14", "barcodes"]),
]


class ProductForm(FlaskForm):
    """Parses the posted strings only; the service's schema normalises and validates."""

    version = HiddenField()
    sku = StringField(
        FIELD_LABELS["sku"],
        description=_l("Letters, digits and - _ . / only, at most 64 characters."),
    )
    jan = StringField(
        FIELD_LABELS["jan"],
        description=_l("JAN (GTIN-13) or GTIN-8; the check digit is verified. May be blank."),
        render_kw={"inputmode": "numeric"},
    )
    name = StringField(FIELD_LABELS["name"])
    name_en = StringField(FIELD_LABELS["name_en"])
    price_yen = StringField(FIELD_LABELS["price_yen"], render_kw={"inputmode": "numeric"})
    tax_rate = SelectField(
        FIELD_LABELS["tax_rate"],
        choices=[SelectChoice(str(rate), TAX_LABELS[rate]) for rate in TAX_RATES],
        validate_choice=False,
    )
    sale_starts_at = StringField(
        FIELD_LABELS["sale_starts_at"],
        description=_l("Date and time in the shop's time zone, such as 2026-12-01 10:00."),
    )
    status = SelectField(
        FIELD_LABELS["status"],
        choices=[SelectChoice(s, STATUS_LABELS[s]) for s in STATUSES],
        validate_choice=False,
    )
    length_mm = StringField(FIELD_LABELS["length_mm"], render_kw={"inputmode": "numeric"})
    width_mm = StringField(FIELD_LABELS["width_mm"], render_kw={"inputmode": "numeric"})
    height_mm = StringField(FIELD_LABELS["height_mm"], render_kw={"inputmode": "numeric"})
    weight_g = StringField(FIELD_LABELS["weight_g"], render_kw={"inputmode": "numeric"})
    temperature_zone = SelectField(
        FIELD_LABELS["temperature_zone"],
        choices=[SelectChoice(z, ZONE_LABELS[z]) for z in TEMPERATURE_ZONES],
        validate_choice=False,
        description=_l("Chilled and frozen products ship as cool parcels."),
    )
    lot_tracked = BooleanField(FIELD_LABELS["lot_tracked"])
    case_quantity = StringField(FIELD_LABELS["case_quantity"], render_kw={"inputmode": "numeric"})
    case_itf14 = StringField(
        FIELD_LABELS["case_itf14"],
        description=_l("The 14-digit code of a case, when the product ships in cases."),
        render_kw={"inputmode": "numeric"},
    )
    barcodes = TextAreaField(
        FIELD_LABELS["barcodes"],
        description=_l("The shop's own codes, one per line (at most 20)."),
        render_kw={"rows": 3},
    )

    def product_data(self) -> dict:
        """The posted fields as the service takes them (a blank optional field is empty)."""
        data = {}
        for name in FIELD_LABELS:
            value = self[name].data
            if name in csvio.NULLABLE and isinstance(value, str) and not value.strip():
                value = None
            data[name] = value
        return data


class ImportForm(FlaskForm):
    file = FileField(
        _l("CSV file"),
        description=_l("UTF-8 (with or without BOM) or Shift_JIS (CP932), at most 20 MB."),
        render_kw={"accept": ".csv,.txt,text/csv"},
    )
    update_existing = BooleanField(
        _l("Update products whose SKU is already in the shop"), default=True
    )


# --- the list and the product pages ------------------------------------------------------


@bp.get("/products")
def products():
    require_permission("catalog.view")
    args = request.args
    status = args.get("status") if args.get("status") in STATUSES else None
    zone = args.get("zone") if args.get("zone") in TEMPERATURE_ZONES else None
    query = args.get("q", "").strip()[:100]
    after = args.get("after", type=int)
    page = list_products(
        db_session(),
        query=query,
        status=status,
        temperature_zone=zone,
        after_id=after,
        limit=PER_PAGE,
    )
    return render_template(
        "shop/products.html",
        shop=g.shop,
        page=page,
        filters={"q": query, "status": status or "", "zone": zone or ""},
        first_page=after is None,
        can_edit=has_permission("catalog.edit"),
        status_labels=STATUS_LABELS,
        zone_labels=ZONE_LABELS,
        local=_local,
    )


@bp.route("/products/new", methods=["GET", "POST"])
def new_product():
    require_permission("catalog.edit")
    form = ProductForm(data={"tax_rate": "10", "status": "draft", "temperature_zone": "ambient"})
    if not form.is_submitted():
        return _new_page(form)
    if not form.validate():
        abort(400)
    try:
        product = create_product(
            db_session(), actor=current_actor(), data=form.product_data(), zone=g.shop.timezone
        )
    except ProductInvalid as exc:
        unplaced = _attach_errors(form, exc.errors)
        return _new_page(form, unplaced), 422
    flash(_("The product %(sku)s was added.", sku=product.sku), "success")
    return redirect(url_for("shop.product", product_id=product.id), 303)


@bp.get("/products/<int:product_id>")
def product(product_id: int):
    require_permission("catalog.view")
    current = _product_or_404(product_id)
    return _product_page(current)


@bp.post("/products/<int:product_id>")
def save_product(product_id: int):
    require_permission("catalog.edit")
    current = _product_or_404(product_id)
    form = ProductForm()
    if not form.validate() or len(form.version.raw_data or ()) != 1:
        abort(400)
    try:
        version = int(form.version.data)
    except ValueError:
        abort(400)
    data = {**form.product_data(), "version": version}
    try:
        saved = update_product(
            db_session(),
            actor=current_actor(),
            product_id=current.id,
            data=data,
            zone=g.shop.timezone,
        )
    except ProductInvalid as exc:
        unplaced = _attach_errors(form, exc.errors)
        return _product_page(current, form=form, unplaced=unplaced), 422
    except StaleProduct:
        return _conflict(current.id, version)
    if saved.version == version:
        flash(_("Nothing changed; the product stays at version %(version)s.", version=version))
    else:
        flash(_("Saved as version %(version)s.", version=saved.version), "success")
    return redirect(url_for("shop.product", product_id=saved.id), 303)


def _product_or_404(product_id: int) -> Product:
    try:
        return get_product(db_session(), product_id)
    except NotFound:
        abort(404)


def _new_page(form: ProductForm, unplaced=()):
    return render_template(
        "shop/product_new.html", shop=g.shop, form=form, unplaced=unplaced, sections=SECTIONS
    )


def _product_page(current: Product, *, form: ProductForm | None = None, unplaced=()):
    editable = has_permission("catalog.edit")
    if editable and form is None:
        form = ProductForm(formdata=None, data=_form_data(current))
    return render_template(
        "shop/product.html",
        shop=g.shop,
        product=current,
        shown=_shown(current),
        labels=FIELD_LABELS,
        sections=SECTIONS,
        form=form if editable else None,
        unplaced=unplaced,
        history=timeline("product", current.id),
        local=_local,
    )


def _conflict(product_id: int, version: int):
    session = db_session()
    session.rollback()  # a flush refused by the version check leaves nothing to keep
    current = get_product(session, product_id)  # as someone else saved it
    page = render_template(
        "shop/product_conflict.html", shop=g.shop, product=current, edited=version
    )
    return page, 409


def _attach_errors(form: FlaskForm, errors: dict[str, list]) -> list[str]:
    """Put each message next to its field; return those that belong to no field."""
    unplaced = []
    for name, messages in errors.items():
        texts = [translate_message(m) for m in messages]
        if name in form and name != "version":
            form[name].errors = [*form[name].errors, *texts]
        else:
            unplaced.extend(f"{name}: {t}" for t in texts)
    return unplaced


def _form_data(current: Product) -> dict:
    data = {name: getattr(current, name) for name in FIELD_LABELS if name != "barcodes"}
    for name, value in data.items():
        if value is None:
            data[name] = ""
        elif name not in ("lot_tracked",):
            data[name] = str(value)
    if current.sale_starts_at is not None:
        data["sale_starts_at"] = _local_input(current.sale_starts_at)
    data["barcodes"] = "\n".join(b.code for b in current.barcodes if b.kind == "shop")
    data["version"] = current.version
    return data


def _shown(current: Product) -> dict[str, str]:
    """Each field as the page shows it."""
    shown = {}
    for name in FIELD_LABELS:
        value = getattr(current, name) if name != "barcodes" else None
        if name == "barcodes":
            shown[name] = ", ".join(b.code for b in current.barcodes if b.kind == "shop")
        elif value is None or value == "":
            shown[name] = "—"
        elif name == "price_yen":
            shown[name] = f"¥{value:,}"
        elif name == "tax_rate":
            shown[name] = str(TAX_LABELS.get(value, value))
        elif name == "status":
            shown[name] = str(STATUS_LABELS.get(value, value))
        elif name == "temperature_zone":
            shown[name] = str(ZONE_LABELS.get(value, value))
        elif name == "lot_tracked":
            shown[name] = _("Yes") if value else _("No")
        elif name == "sale_starts_at":
            shown[name] = _local(value)
        else:
            shown[name] = str(value)
    return shown


def _local(moment: datetime | None) -> str:
    return moment.astimezone(g.shop.zone).strftime("%Y-%m-%d %H:%M") if moment else "—"


def _local_input(moment: datetime) -> str:
    local = moment.astimezone(g.shop.zone)
    return local.strftime("%Y-%m-%d %H:%M:%S" if local.second else "%Y-%m-%d %H:%M")


# --- export ------------------------------------------------------------------------------


@bp.get("/products/export")
def export_products():
    """The shop's products as CSV, streamed as it is read (no job yet: see the report)."""
    require_permission("catalog.view")
    encoding = request.args.get("encoding", "utf-8")
    language = request.args.get("headers", "ja")
    if encoding not in EXPORT_ENCODINGS or language not in ("ja", "en"):
        abort(400)
    database, shop_id, zone = get_db(), g.shop.id, g.shop.timezone

    def body():
        # Its own session: the request's is committed and closed before the body streams.
        with database.tenant_session(shop_id) as session:
            yield from csvio.export_csv(session, zone=zone, encoding=encoding, language=language)

    stamp = datetime.now(g.shop.zone).strftime("%Y%m%d-%H%M")
    charset = "Shift_JIS" if encoding == "cp932" else "utf-8"
    response = Response(body(), mimetype="text/csv")
    response.headers["Content-Type"] = f"text/csv; charset={charset}"
    response.headers["Content-Disposition"] = (
        f'attachment; filename="products-{g.shop.slug}-{stamp}.csv"'
    )
    response.headers["Cache-Control"] = "no-store"
    return response


# --- import ------------------------------------------------------------------------------


@bp.get("/products/import")
def product_import():
    require_permission("catalog.edit")
    return _import_page(ImportForm())


@bp.post("/products/import")
def check_product_import():
    require_permission("catalog.edit")
    form = ImportForm()
    if not form.validate():
        abort(400)
    upload = form.file.data
    if not upload or not upload.filename:
        form.file.errors.append(_("Choose a CSV file."))
        return _import_page(form), 422
    data = upload.stream.read()
    try:
        decoded, encoding = csvio.decode(data)
        parsed = csvio.parse_text(decoded, encoding)
    except csvio.CsvUnreadable as exc:
        form.file.errors.append(translate_message(exc.message))
        return _import_page(form), 422
    session = db_session()
    update_existing = bool(form.update_existing.data)
    check = csvio.check_import(
        session, parsed, zone=g.shop.timezone, update_existing=update_existing
    )
    if request.form.get("action") == "import" and check.ok:
        running = tasks.active_task(session, csvio.IMPORT_KIND)
        if running is not None:
            flash(_("An import is already under way; wait for it to finish."), "warning")
            return redirect(url_for("shop.product_import_task", task_id=running.id), 303)
        task = csvio.start_import(
            session,
            actor=current_actor(),
            csv_file=parsed,
            decoded=decoded,
            filename=upload.filename,
            update_existing=update_existing,
        )
        flash(_("The import has started."), "success")
        return redirect(url_for("shop.product_import_task", task_id=task.id), 303)
    return _import_page(form, check=check, filename=upload.filename), (200 if check.ok else 422)


def _import_page(form: ImportForm, *, check: csvio.ImportCheck | None = None, filename=""):
    session = db_session()
    before = None
    if request.method == "GET" and request.args.get("before"):
        before = task_or_404(request.args["before"], csvio.IMPORT_KIND)
    recent = tasks.list_tasks(
        session, kinds={csvio.IMPORT_KIND}, before=before, limit=IMPORTS_PER_PAGE + 1
    )
    return render_template(
        "shop/catalog_import.html",
        shop=g.shop,
        form=form,
        check=check,
        filename=filename,
        errors=[
            (e, translate_message(e.message))
            for e in (check.errors[:ERRORS_SHOWN] if check else [])
        ],
        errors_shown=ERRORS_SHOWN,
        columns=csvio.COLUMNS,
        required=csvio.REQUIRED,
        labels=FIELD_LABELS,
        recent=recent[:IMPORTS_PER_PAGE],
        older=recent[IMPORTS_PER_PAGE - 1].id if len(recent) > IMPORTS_PER_PAGE else None,
        import_status=import_status_text,
        local=_local,
    )


def import_status_text(task: ShopTask) -> str:
    rows = task.progress_total // 2
    if task.status == TaskStatus.running and rows:
        if task.message == "importing":
            return _(
                "Importing: %(done)s of %(total)s rows",
                done=format_number(max(0, task.progress_done - rows)),
                total=format_number(rows),
            )
        return _(
            "Checking: %(done)s of %(total)s rows",
            done=format_number(min(task.progress_done, rows)),
            total=format_number(rows),
        )
    result = task.result or {}
    if task.status == TaskStatus.done and "created" in result:
        return _(
            "Done: %(created)s added, %(updated)s changed, %(unchanged)s unchanged.",
            created=format_number(result["created"]),
            updated=format_number(result["updated"]),
            unchanged=format_number(result["unchanged"]),
        )
    return import_refused_text(task) or status_text(task)


def _import_state(task: ShopTask) -> dict:
    return page_state(
        task, status_text=import_status_text(task), result_url=url_for("shop.products")
    )


@bp.get("/products/import/<uuid:task_id>")
def product_import_task(task_id: uuid.UUID):
    require_permission("catalog.edit")
    task = task_or_404(task_id, csvio.IMPORT_KIND)
    return render_template(
        "shop/catalog_import_task.html",
        shop=g.shop,
        task=task,
        state=_import_state(task),
        **import_page(task),
        local=_local,
    )


@bp.get("/products/import/<uuid:task_id>/progress.json")
def product_import_progress(task_id: uuid.UUID):
    require_permission("catalog.edit")
    return progress_response(_import_state(task_or_404(task_id, csvio.IMPORT_KIND)))
