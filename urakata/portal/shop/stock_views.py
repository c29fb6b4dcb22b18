"""The shop's stock: the list per SKU (on hand, allocated, available), a SKU's bins, lots
and movement history, the CSV export, the orders waiting for stock; and, for the
agency's staff, receiving goods and allocating orders.

Everyone in the shop reads its stock. Receiving (``stock.receive``) and allocating
(``stock.allocate``) are the agency's work: others get 403 on those pages. Forms carry an
idempotency key (receipts) or the order's version (allocation), so a form sent twice
changes nothing the second time and says so.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import format_number
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import FieldList, Form, FormField, HiddenField, SelectField, StringField
from wtforms.fields.choices import SelectChoice

from urakata.platform.tasks import ShopTask, TaskStatus
from urakata.platform.tenancy import NotFound
from urakata.portal.access import has_permission, require_permission
from urakata.portal.actor import current_actor
from urakata.portal.i18n import translate_message
from urakata.portal.requestdb import db_session
from urakata.portal.shop.blueprint import bp, menu_entry
from urakata.portal.shop.task_pages import (
    csv_download,
    export_state,
    progress_response,
    shown_result,
    start_export,
    task_or_404,
)
from urakata.portal.shop.task_views import status_text
from urakata.tenants.orders.services import IllegalTransition, StaleOrder
from urakata.tenants.stock import levels
from urakata.tenants.stock.allocation import allocate_order
from urakata.tenants.stock.bins import shop_bins
from urakata.tenants.stock.errors import DuplicateSubmission, StockContention, StockInvalid
from urakata.tenants.stock.ledger import ALLOCATE_JOB, request_job
from urakata.tenants.stock.receipts import receive

PER_PAGE = 50
HISTORY_PER_PAGE = 50
RECEIPT_ROWS = 8
# The export's task kind and job: the same names as urakata.worker.stock_jobs (the portal
# may not import the worker; tests/portal/stock checks they agree).
EXPORT_KIND = "stock.export"
EXPORT_JOB = "stock.export_csv"
EXPORT_QUEUE = "default"
EXPORT_ENCODINGS = ("utf-8", "cp932")

menu_entry("shop.stock", _l("Stock"), "stock.view")

KIND_LABELS = {
    "pick_face": _l("Pick face"),
    "reserve": _l("Reserve"),
    "returns": _l("Returns"),
    "damaged": _l("Damaged goods"),
}
STATE_LABELS = {
    "sellable": _l("Can be allocated"),
    "expired": _l("Past its best-before date"),
    "short_life": _l("Too close to its best-before date"),
    "set_aside": _l("Not for orders (bin)"),
}
MOVEMENT_LABELS = {
    "receipt": _l("Receipt"),
    "allocation": _l("Allocation"),
    "deallocation": _l("Allocation released"),
    "pick": _l("Pick"),
    "ship": _l("Shipment"),
    "adjustment": _l("Adjustment"),
    "return": _l("Return"),
    "transfer": _l("Transfer"),
}


def label_sets() -> dict:
    return {
        "kind_labels": KIND_LABELS,
        "state_labels": STATE_LABELS,
        "movement_labels": MOVEMENT_LABELS,
    }


def _local(moment: datetime | None) -> str:
    return moment.astimezone(g.shop.zone).strftime("%Y-%m-%d %H:%M") if moment else "—"


def _filters(args) -> dict:
    return {
        "q": (args.get("q") or "").strip()[:100],
        "in_stock": args.get("in_stock") == "1",
    }


class ExportForm(FlaskForm):
    encoding = SelectField(
        _l("Character encoding"),
        choices=[SelectChoice("utf-8", "UTF-8"), SelectChoice("cp932", "Shift_JIS (CP932)")],
        validate_choice=False,
    )
    q = HiddenField()
    in_stock = HiddenField()


# --- the list and a SKU's page --------------------------------------------------------------


@bp.get("/stock")
def stock():
    require_permission("stock.view")
    shown = _filters(request.args)
    after = (request.args.get("after") or "").strip()[:64] or None
    page = levels.stock_list(
        db_session(),
        query=shown["q"],
        in_stock_only=shown["in_stock"],
        after_sku=after,
        limit=PER_PAGE,
    )
    export_data = {"q": shown["q"], "in_stock": "1" if shown["in_stock"] else ""}
    return render_template(
        "stock/list.html",
        shop=g.shop,
        page=page,
        filters=shown,
        first_page=after is None,
        export_form=ExportForm(formdata=None, data=export_data),
        can_receive=has_permission("stock.receive"),
        can_move=has_permission("stock.move"),
    )


@bp.get("/stock/<int:product_id>")
def stock_item(product_id: int):
    require_permission("stock.view")
    session = db_session()
    before = request.args.get("before", type=int)
    try:
        detail = levels.stock_detail(session, product_id)
        history = levels.movement_history(
            session, product_id, before_id=before, limit=HISTORY_PER_PAGE
        )
    except NotFound:
        abort(404)
    return render_template(
        "stock/product.html",
        shop=g.shop,
        detail=detail,
        history=history,
        first_page=before is None,
        local=_local,
        can_move=has_permission("stock.move"),
        **label_sets(),
    )


# --- receiving ------------------------------------------------------------------------------


class ReceiptLineForm(Form):
    sku = StringField(_l("SKU"))
    quantity = StringField(_l("Pieces"), render_kw={"inputmode": "numeric"})
    cases = StringField(_l("Cases"), render_kw={"inputmode": "numeric"})
    location = StringField(_l("Bin"), render_kw={"list": "shop-bins", "autocomplete": "off"})
    lot_no = StringField(_l("Lot"))
    best_before = StringField(_l("Best before"), render_kw={"placeholder": "2026-12-31"})


LINE_FIELDS = ("sku", "quantity", "cases", "location", "lot_no", "best_before")


class ReceiptForm(FlaskForm):
    key = HiddenField()
    reference = StringField(
        _l("Reference"), description=_l("The inbound notice or delivery note number.")
    )
    note = StringField(_l("Note"))
    lines = FieldList(
        FormField(ReceiptLineForm), min_entries=RECEIPT_ROWS, max_entries=RECEIPT_ROWS
    )

    def receipt_data(self) -> tuple[dict, list[int]]:
        """The receipt as the service takes it, and the form row of each line sent."""
        lines, rows = [], []
        for n, entry in enumerate(self.lines):
            values = {k: (entry.form[k].data or "").strip() for k in LINE_FIELDS}
            if not any(values.values()):
                continue
            for name in ("quantity", "cases"):
                values[name] = values[name] or "0"
            lines.append(values)
            rows.append(n)
        data = {
            "key": self.key.data or "",
            "reference": (self.reference.data or "").strip(),
            "note": (self.note.data or "").strip(),
            "lines": lines,
        }
        return data, rows


def _fresh_receipt_form() -> ReceiptForm:
    return ReceiptForm(formdata=None, data={"key": f"receipt-{uuid.uuid4()}"})


def _receipt_page(form: ReceiptForm, problems=(), status: int = 200):
    return render_template(
        "stock/receive.html",
        shop=g.shop,
        form=form,
        problems=problems,
        bins=shop_bins(db_session()),
        kind_labels=KIND_LABELS,
    ), status


def _attach_line_errors(form: ReceiptForm, errors: dict, rows: list[int]) -> list[str]:
    """Each message next to its row's field (``lines[2].quantity``); the rest returned."""
    problems = []
    for name, messages in errors.items():
        texts = [translate_message(m) for m in messages]
        index, _dot, field = name.removeprefix("lines").partition(".")
        if index.startswith("[") and index[1:-1].isdigit() and int(index[1:-1]) < len(rows):
            entry = form.lines[rows[int(index[1:-1])]].form
            if field in entry:
                entry[field].errors = [*entry[field].errors, *texts]
                continue
        if name in form and form[name].type not in ("FieldList", "HiddenField"):
            form[name].errors = [*form[name].errors, *texts]
        else:  # the whole receipt's, or its hidden key's (a form not sent as it was made)
            problems.extend(texts)
    return problems


@bp.route("/stock/receive", methods=["GET", "POST"])
def receive_stock():
    require_permission("stock.receive")
    if request.method == "GET":
        return _receipt_page(_fresh_receipt_form())
    form = ReceiptForm()
    if not form.validate():
        abort(400)
    data, rows = form.receipt_data()
    if not rows:
        return _receipt_page(form, [_("Enter at least one line.")], 422)
    try:
        done = receive(db_session(), actor=current_actor(), data=data)
    except DuplicateSubmission:
        message = _(
            "This receipt was recorded already: the form was sent twice. Nothing was added."
        )
        return _receipt_page(_fresh_receipt_form(), [message], 409)
    except StockInvalid as exc:
        return _receipt_page(form, _attach_line_errors(form, exc.errors, rows), 422)
    flash(
        _(
            "Received %(pieces)s pieces in %(lines)s lines.",
            pieces=format_number(done.quantity),
            lines=len(done.lines),
        ),
        "success",
    )
    return redirect(url_for("shop.receive_stock"), 303)


# --- orders waiting for stock, and allocating them -------------------------------------------


class AllocateForm(FlaskForm):
    version = HiddenField()


class AllocateAllForm(FlaskForm):
    """No fields: the CSRF token is the whole form."""


@bp.get("/stock/waiting")
def waiting_orders():
    require_permission("stock.view")
    rows = levels.waiting_orders(db_session())
    return render_template(
        "stock/waiting.html",
        shop=g.shop,
        rows=rows,
        can_allocate=has_permission("stock.allocate"),
        form=AllocateForm(formdata=None),
        all_form=AllocateAllForm(formdata=None),
    )


@bp.post("/stock/allocate")
def allocate_waiting():
    """Ask for an allocation run of the shop's released orders (a job, after commit)."""
    require_permission("stock.allocate")
    if not AllocateAllForm().validate():
        abort(400)
    if request_job(db_session(), ALLOCATE_JOB, g.shop.id):
        flash(_("Allocation of the released orders has started."), "success")
    else:
        flash(_("An allocation run is already waiting to start."), "warning")
    return redirect(url_for("shop.waiting_orders"), 303)


@bp.post("/stock/orders/<int:order_id>/allocate")
def allocate_one(order_id: int):
    """Allocate one order now, on the version the page showed."""
    require_permission("stock.allocate")
    form = AllocateForm()
    if not form.validate() or not (form.version.data or "").isdigit():
        abort(400)
    session = db_session()
    try:
        outcome = allocate_order(
            session, actor=current_actor(), order_id=order_id, version=int(form.version.data)
        )
    except NotFound:
        abort(404)
    except StaleOrder:
        return _refused(_("Someone changed the order meanwhile: look at it again."))
    except IllegalTransition as exc:
        return _refused(translate_message(exc.message))
    except (DuplicateSubmission, StockContention):
        return _refused(_("The stock changed meanwhile: try again."))
    if outcome.complete:
        flash(_("The order is allocated."), "success")
    else:
        flash(_("Not enough stock: the order waits for it."), "warning")
    return redirect(url_for("shop.waiting_orders"), 303)


def _refused(message: str):
    session = db_session()
    session.rollback()
    return render_template(
        "stock/waiting.html",
        shop=g.shop,
        rows=levels.waiting_orders(session),
        can_allocate=True,
        form=AllocateForm(formdata=None),
        all_form=AllocateAllForm(formdata=None),
        problem=message,
    ), 409


# --- export ---------------------------------------------------------------------------------


@bp.post("/stock/export")
def export_stock():
    """Start the export job for the list's filters; its page shows the progress bar."""
    require_permission("stock.view")
    form = ExportForm()
    if not form.validate() or form.encoding.data not in EXPORT_ENCODINGS:
        abort(400)
    shown = _filters({"q": form.q.data, "in_stock": form.in_stock.data})
    return start_export(
        kind=EXPORT_KIND,
        job=EXPORT_JOB,
        queue=EXPORT_QUEUE,
        page="shop.stock_export",
        encoding=form.encoding.data,
        query=shown["q"],
        in_stock_only=shown["in_stock"],
    )


def _export_status_text(task: ShopTask) -> str:
    result = task.result or {}
    if task.status == TaskStatus.done and "products" in result:
        return _(
            "Done: %(products)s SKUs in %(rows)s rows.",
            products=format_number(result["products"]),
            rows=format_number(result["rows"]),
        )
    if task.status == TaskStatus.running and task.progress_total:
        return _(
            "Writing: %(done)s of %(total)s SKUs",
            done=format_number(task.progress_done),
            total=format_number(task.progress_total),
        )
    return status_text(task)


def _export_state(task: ShopTask) -> dict:
    return export_state(
        task, status_text=_export_status_text(task), download="shop.download_stock_export"
    )


@bp.get("/stock/export/<uuid:task_id>")
def stock_export(task_id: uuid.UUID):
    require_permission("stock.view")
    task = task_or_404(task_id, EXPORT_KIND)
    return render_template(
        "stock/export.html",
        shop=g.shop,
        task=task,
        state=_export_state(task),
        result=shown_result(task),
        local=_local,
    )


@bp.get("/stock/export/<uuid:task_id>/progress.json")
def stock_export_progress(task_id: uuid.UUID):
    require_permission("stock.view")
    return progress_response(_export_state(task_or_404(task_id, EXPORT_KIND)))


@bp.get("/stock/export/<uuid:task_id>/download")
def download_stock_export(task_id: uuid.UUID):
    require_permission("stock.view")
    return csv_download(task_or_404(task_id, EXPORT_KIND))
