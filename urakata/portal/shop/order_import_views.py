"""Order files from the carts, in the portal: upload, check, import, history.

The upload is checked in the request (nothing written): its errors come back by row and
column. A clean file, or one whose user chose "import only the valid orders", starts the
import job; its page shows the progress bar and the figures. The history lists the
shop's imports (file, who, when, counts) with a download of each one's error report.
Shop admins and the agency's staff import; everyone in the shop reads the history.
"""

from __future__ import annotations

import uuid

from flask import Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import format_number
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, SelectField
from wtforms.fields.choices import SelectChoice

from urakata.platform import csvfiles, tasks
from urakata.platform.tasks import ShopTask, TaskStatus
from urakata.portal.access import require_permission
from urakata.portal.actor import current_actor
from urakata.portal.i18n import translate_message
from urakata.portal.requestdb import db_session
from urakata.portal.shop.blueprint import bp
from urakata.portal.shop.order_views import _local
from urakata.portal.shop.task_pages import (
    import_page,
    import_refused_text,
    page_state,
    progress_response,
    task_or_404,
)
from urakata.portal.shop.task_views import status_text
from urakata.tenants.orders.imports import formats, service
from urakata.tenants.orders.imports.service import IMPORT_KIND, start_import

ERRORS_SHOWN = 200
IMPORTS_PER_PAGE = 20
FORMAT_LABELS = {
    "shopify": _l("Shopify orders CSV"),
    "rakuten": _l("Rakuten RMS order CSV"),
    "amazon": _l("Amazon JP order report (tab-separated)"),
    "generic": _l("Urakata order CSV (template)"),
}


class OrderImportForm(FlaskForm):
    format = SelectField(
        _l("File from"),
        choices=[SelectChoice(key, label) for key, label in FORMAT_LABELS.items()],
    )
    file = FileField(
        _l("Order file"),
        description=_l(
            "UTF-8 (with or without BOM) or Shift_JIS (CP932), comma- or tab-separated,"
            " at most 50 MB."
        ),
        render_kw={"accept": ".csv,.txt,.tsv,text/csv,text/plain"},
    )
    only_valid = BooleanField(
        _l("Import only the valid orders (the orders with errors stay out; this is recorded)")
    )


@bp.get("/orders/import")
def order_import():
    require_permission("orders.edit")
    return _page(OrderImportForm())


@bp.post("/orders/import")
def check_order_import():
    require_permission("orders.edit")
    form = OrderImportForm()
    if not form.validate():
        abort(400)
    upload = form.file.data
    if not upload or not upload.filename:
        form.file.errors.append(_("Choose a file."))
        return _page(form), 422
    data = upload.stream.read()
    session = db_session()
    try:
        check = service.check_file(session, form.format.data, data, zone=g.shop.timezone)
    except csvfiles.CsvUnreadable as exc:
        form.file.errors.append(translate_message(exc.message))
        return _page(form), 422
    only_valid = bool(form.only_valid.data)
    startable = check.ok or (only_valid and check.valid_new)
    if request.form.get("action") == "import" and startable:
        running = tasks.active_task(session, IMPORT_KIND)
        if running is not None:
            flash(_("An import is already under way; wait for it to finish."), "warning")
            return redirect(url_for("shop.order_import_task", task_id=running.id), 303)
        text, _encoding = csvfiles.decode(data)
        task = start_import(
            session,
            actor=current_actor(),
            check=check,
            text=text,
            filename=upload.filename,
            only_valid=only_valid,
        )
        flash(_("The import has started."), "success")
        return redirect(url_for("shop.order_import_task", task_id=task.id), 303)
    return _page(form, check=check, filename=upload.filename), (200 if check.ok else 422)


def _page(form: OrderImportForm, *, check: service.FileCheck | None = None, filename=""):
    session = db_session()
    before = None
    if request.method == "GET" and request.args.get("before"):
        before = task_or_404(request.args["before"], IMPORT_KIND)
    recent = tasks.list_tasks(session, kinds={IMPORT_KIND}, before=before,
                              limit=IMPORTS_PER_PAGE + 1)  # fmt: skip
    return render_template(
        "shop/orders/import.html",
        shop=g.shop,
        form=form,
        check=check,
        filename=filename,
        errors=[(e, translate_message(e.message)) for e in (check.errors if check else [])][
            :ERRORS_SHOWN
        ],
        errors_shown=ERRORS_SHOWN,
        format_labels=FORMAT_LABELS,
        recent=recent[:IMPORTS_PER_PAGE],
        older=recent[IMPORTS_PER_PAGE - 1].id if len(recent) > IMPORTS_PER_PAGE else None,
        status_of=import_status_text,
        local=_local,
    )


def import_status_text(task: ShopTask) -> str:
    result = task.result or {}
    if task.status == TaskStatus.done and "created" in result:
        return _(
            "Done: %(created)s orders added (%(held)s on hold), %(existing)s already there,"
            " %(invalid)s left out.",
            created=format_number(result["created"]),
            held=format_number(result["held"]),
            existing=format_number(result["existing"]),
            invalid=format_number(result["skipped_invalid"]),
        )
    return import_refused_text(task) or status_text(task)


def _state(task: ShopTask) -> dict:
    return page_state(task, status_text=import_status_text(task), result_url=url_for("shop.orders"))


@bp.get("/orders/import/<uuid:task_id>")
def order_import_task(task_id: uuid.UUID):
    require_permission("orders.view")
    task = task_or_404(task_id, IMPORT_KIND)
    return render_template(
        "shop/orders/import_task.html",
        shop=g.shop,
        task=task,
        state=_state(task),
        **import_page(task, ERRORS_SHOWN),
        format_labels=FORMAT_LABELS,
        local=_local,
    )


@bp.get("/orders/import/<uuid:task_id>/progress.json")
def order_import_progress(task_id: uuid.UUID):
    require_permission("orders.view")
    return progress_response(_state(task_or_404(task_id, IMPORT_KIND)))


@bp.get("/orders/import/<uuid:task_id>/errors.csv")
def order_import_errors(task_id: uuid.UUID):
    """The import's error report: row, column, problem (in the page's language)."""
    require_permission("orders.view")
    result = task_or_404(task_id, IMPORT_KIND).result or {}
    rows = [[_("Row"), _("Column"), _("Problem")]] + [
        [str(e.row), csvfiles.neutralise(e.column), csvfiles.neutralise(translate_message(
            e.message))]
        for e in csvfiles.errors_from_rows(result.get("errors", []))
    ]  # fmt: skip
    return _csv_download(rows, f"order-import-errors-{task_id}.csv")


@bp.get("/orders/import/template.csv")
def order_import_template():
    """The generic format's header and one example order (Japanese headers, UTF-8)."""
    require_permission("orders.view")
    header = [ja for _path, ja, _en in formats.GENERIC_COLUMNS]
    example = {
        "external_id": "TEL-20261201-0001", "ordered_at": "2026-12-01 10:00",
        "customer.name": "山田 花子", "customer.kana": "ヤマダ ハナコ",
        "customer.email": "hanako@example.jp", "customer.phone": "090-1234-5678",
        "ship_to.name": "山田 花子", "ship_to.postal_code": "100-0001",
        "ship_to.prefecture": "東京都", "ship_to.city": "千代田区",
        "ship_to.street": "千代田1-1", "ship_to.phone": "090-1234-5678",
        "gift_wrap": "0", "payment_method": "card", "payment_status": "authorized",
        "shipping_fee_yen": "0", "fee_yen": "0", "discount_yen": "0",
        "lines.sku": "SKU-001", "lines.quantity": "1", "lines.unit_price_yen": "1080",
    }  # fmt: skip
    row = [example.get(path, "") for path, _ja, _en in formats.GENERIC_COLUMNS]
    return _csv_download([header, row], "urakata-orders-template.csv")


def _csv_download(rows: list[list[str]], filename: str) -> Response:
    response = Response(b"".join(csvfiles.encode_csv(rows)), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response
