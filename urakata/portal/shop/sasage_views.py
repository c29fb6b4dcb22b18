"""The shop's sasage: its requests, the page of one SKU's photos, measurements and copy,
the operators' work on it and the shop's approval; photos served only from here.

Everyone in the shop sees its sasage; shop admins and agency admins request it;
operators (and agency admins) do the work; shop admins approve or return each task.
Another shop's request, task or photo answers 404 like a missing one. Each action names
the version its page showed: an older one answers 409; input the services refuse 422
with the message next to its field; a move the task's state does not allow 409 with why.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from flask import (
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from urakata.platform import tasks
from urakata.platform.identity import UserAccount
from urakata.platform.tenancy import NotFound
from urakata.portal.access import has_permission, require_permission
from urakata.portal.actor import current_actor
from urakata.portal.i18n import translate_message
from urakata.portal.requestdb import db_session
from urakata.portal.shop import sasage_forms as forms
from urakata.portal.shop.blueprint import bp, menu_entry
from urakata.portal.shop.task_views import task_state
from urakata.portal.timeline import timeline
from urakata.tenants.sasage import copywriting, mall_limits, measuring, photos, services
from urakata.tenants.sasage.images import RENDITIONS
from urakata.tenants.sasage.models import TASK_KINDS, SasageRequest
from urakata.tenants.sasage.services import IllegalMove, SasageInvalid, StaleSasage
from urakata.tenants.sasage.storage import FileMissing, FileStore
from urakata.tenants.shop.services import get_settings

PER_PAGE = 50
SECTIONS = {"upload": "photo", "photos": "photo"}  # form name -> the page's section

menu_entry("shop.sasage_list", _l("Sasage"), "sasage.view")


def _store() -> FileStore:
    return FileStore.at(current_app.config["URAKATA_SETTINGS"].files_dir)


def _local(moment: datetime | None) -> str:
    return moment.astimezone(g.shop.zone).strftime("%Y-%m-%d %H:%M") if moment else "—"


def _request_or_404(request_id: int) -> SasageRequest:
    try:
        return services.get_request(db_session(), request_id)
    except NotFound:
        abort(404)


def _kind_or_404(kind: str) -> str:
    if kind not in TASK_KINDS:
        abort(404)
    return kind


def _version(form) -> int:
    """The version the page showed; 400 for a form that is not one of ours."""
    if not form.validate() or len(form.version.raw_data or ()) != 1:
        abort(400)
    try:
        return int(form.version.data)
    except ValueError:
        abort(400)


# --- the list and the request form ------------------------------------------------------


@bp.get("/sasage")
def sasage_list():
    require_permission("sasage.view")
    args = request.args
    state = args.get("state") if args.get("state") in services.LIST_STATES else None
    query = args.get("q", "").strip()[:100]
    after = args.get("after", type=int)
    page = services.list_requests(
        db_session(), state=state, query=query, after_id=after, limit=PER_PAGE
    )
    return render_template(
        "sasage/list.html",
        shop=g.shop,
        page=page,
        filters={"state": state or "", "q": query},
        first_page=after is None,
        can_request=has_permission("sasage.request"),
        kinds=TASK_KINDS,
        kind_labels=forms.KIND_LABELS,
        state_labels=forms.STATE_LABELS,
        list_state_labels=forms.LIST_STATE_LABELS,
        today=services.local_today(db_session()),
    )


@bp.route("/sasage/new", methods=["GET", "POST"])
def new_sasage():
    require_permission("sasage.request")
    form = forms.RequestForm()
    if not form.is_submitted():
        return _new_page(form)
    if not form.validate():
        abort(400)
    entries = forms.split_entries(form.skus.data or "")
    data = {"skus": entries, "note": form.note.data or ""}
    try:
        created = services.request_sasage(db_session(), actor=current_actor(), data=data)
    except SasageInvalid as exc:
        _attach_entry_errors(form, exc.errors, entries)
        return _new_page(form), 422
    flash(
        _(
            "Sasage was requested for %(count)s SKUs, due %(due)s.",
            count=len(created),
            due=created[0].due_date.isoformat(),
        ),
        "success",
    )
    if len(created) == 1:
        return redirect(url_for("shop.sasage_request", request_id=created[0].id), 303)
    return redirect(url_for("shop.sasage_list"), 303)


def _attach_entry_errors(form: forms.RequestForm, errors: dict, entries: list[str]) -> None:
    for key, messages in errors.items():
        texts = [translate_message(m) for m in messages]
        index = key.removeprefix("skus[").removesuffix("]")
        if key.startswith("skus[") and index.isdigit() and int(index) < len(entries):
            texts = [f"{entries[int(index)]}: {t}" for t in texts]
        target = form.note if key == "note" else form.skus
        target.errors = [*target.errors, *texts]


def _new_page(form: forms.RequestForm):
    settings = get_settings(db_session())
    return render_template(
        "sasage/new.html", shop=g.shop, form=form, turnaround=settings.sasage_turnaround_days
    )


# --- the request page -------------------------------------------------------------------


@bp.get("/sasage/<int:request_id>")
def sasage_request(request_id: int):
    require_permission("sasage.view")
    return _request_page(_request_or_404(request_id))


def _request_page(current: SasageRequest, *, forms_given=None, unplaced=(), problem=None):
    session = db_session()
    can_work = has_permission("sasage.work")
    can_approve = has_permission("sasage.approve")
    latest = copywriting.latest_copy(session, current.id)
    measurement = measuring.get_measurement(session, current.id)
    shown = _blank_forms(current, latest, measurement) if can_work or can_approve else {}
    shown.update(forms_given or {})
    copy_text = copywriting.values_of(latest)
    if "copy" in (forms_given or {}):  # counts of the text just refused, as written
        posted = forms_given["copy"].copy_data()
        copy_text = {name: posted[name] for name in forms.COPY_LABELS}
    render_id = photos.rendering_task_id(session, current.id)
    render_task = tasks.get_task(session, render_id) if render_id else None
    return render_template(
        "sasage/request.html",
        shop=g.shop,
        req=current,
        product=current.product,
        tasks={t.kind: t for t in current.tasks},
        kinds=TASK_KINDS,
        photos=photos.list_photos(session, current.id),
        render_task=render_task,
        render_state=_render_state(current, render_task) if render_task else None,
        measurement=measurement,
        latest=latest,
        versions=copywriting.copy_versions(session, current.id),
        counts=mall_limits.counts(copy_text),
        not_cp932=mall_limits.not_in_cp932("".join(copy_text.values())),
        reviews=services.reviews_of(session, current),
        forms=shown,
        unplaced=unplaced,
        problem=problem,
        can_work=can_work,
        can_approve=can_approve,
        today=services.local_today(session),
        history=timeline(services.OBJECT, current.id, limit=50),
        kind_labels=forms.KIND_LABELS,
        state_labels=forms.STATE_LABELS,
        copy_labels=forms.COPY_LABELS,
        centimetres=forms.centimetres,
        size_names=forms.size_names,
        local=_local,
    )


def _blank_forms(current: SasageRequest, latest, measurement) -> dict:
    shown: dict = {}
    by_kind = {t.kind: t for t in current.tasks}
    if has_permission("sasage.work"):
        operators = services.operators_of(db_session())
        for kind, task in by_kind.items():
            version = {"version": task.version}
            assign = forms.AssignForm(
                formdata=None, data={**version, "assignee": str(task.assignee_id or "")}
            )
            shown[f"assign-{kind}"] = _with_operators(assign, operators)
            shown[f"submit-{kind}"] = forms.VersionedForm(formdata=None, data=version)
        shown["photo"] = forms.PhotoMoveForm(
            formdata=None, data={"version": by_kind["photo"].version}
        )
        shown["upload"] = forms.UploadForm(formdata=None)
        measure = forms.MeasurementForm(formdata=None)
        if measurement is not None:
            measure.fill(measurement)
        shown["measure"] = measure
        copy_data = {**copywriting.values_of(latest), "based_on": latest.number if latest else 0}
        shown["copy"] = forms.CopyForm(formdata=None, data=copy_data)
    if has_permission("sasage.approve"):
        for kind, task in by_kind.items():
            shown[f"review-{kind}"] = forms.ReviewForm(
                formdata=None, data={"version": task.version}
            )
    return shown


def _with_operators(form: forms.AssignForm, operators=None) -> forms.AssignForm:
    if operators is None:
        operators = services.operators_of(db_session())
    form.assignee.choices = [SelectChoice("", _("Nobody yet"))] + [
        SelectChoice(str(u.id), u.display_name) for u in operators
    ]
    return form


def _render_state(current: SasageRequest, task) -> dict:
    state = task_state(task)
    state["result_url"] = url_for("shop.sasage_request", request_id=current.id, _anchor="photos")
    return state


def _act(request_id: int, name: str, form, action, done_message):
    """Load, call the service, answer alike for every action (303, 409 or 422)."""
    current = _request_or_404(request_id)
    try:
        action(current)
    except SasageInvalid as exc:
        db_session().rollback()
        current = _request_or_404(request_id)
        if isinstance(exc, photos.PhotosRefused):
            unplaced = [f"{file}: {translate_message(m)}" for file, m in exc.files]
            form.images.errors = [*form.images.errors, *unplaced]
            unplaced = []
        elif isinstance(form, forms.MeasurementForm):
            unplaced = form.attach(exc.errors, form.rows_sent)
        else:
            unplaced = forms.attach_errors(form, exc.errors)
        return _request_page(current, forms_given={name: form}, unplaced=unplaced), 422
    except StaleSasage:
        return _conflict(request_id)
    except IllegalMove as exc:
        db_session().rollback()
        page = _request_page(_request_or_404(request_id), problem=translate_message(exc.message))
        return page, 409
    flash(done_message, "success")
    section = SECTIONS.get(name) or name.rpartition("-")[2]  # the task's part of the page
    return redirect(url_for("shop.sasage_request", request_id=request_id, _anchor=section), 303)


def _conflict(request_id: int):
    session = db_session()
    session.rollback()  # a flush refused by the version check leaves nothing to keep
    current = _request_or_404(request_id)
    return render_template("sasage/conflict.html", shop=g.shop, req=current), 409


# --- photos ---------------------------------------------------------------------------


@bp.post("/sasage/<int:request_id>/images")
def upload_sasage_images(request_id: int):
    require_permission("sasage.work")
    form = forms.UploadForm()
    if not form.validate():
        abort(400)
    files = [f for f in request.files.getlist("images") if f and f.filename]
    uploads = [photos.Upload(f.filename, f.stream.read()) for f in files]

    def action(current):
        photos.add_photos(db_session(), actor=current_actor(), request_id=current.id,
                          uploads=uploads, store=_store())  # fmt: skip

    message = _("%(count)s photos were uploaded; they are being prepared.", count=len(uploads))
    return _act(request_id, "upload", form, action, message)


def _photo_action(request_id: int, image_id: int, service, message: str, *, moves=False):
    require_permission("sasage.work")
    form = forms.PhotoMoveForm()
    version = _version(form)
    extra = {"direction": form.direction.data or ""} if moves else {}

    def action(current):
        service(db_session(), actor=current_actor(), request_id=current.id,
                image_id=image_id, version=version, **extra)  # fmt: skip

    try:
        return _act(request_id, "photos", form, action, message)
    except NotFound:
        abort(404)


@bp.post("/sasage/<int:request_id>/images/<int:image_id>/move")
def move_sasage_image(request_id: int, image_id: int):
    message = _("The order was saved.")
    return _photo_action(request_id, image_id, photos.move_photo, message, moves=True)


@bp.post("/sasage/<int:request_id>/images/<int:image_id>/main")
def main_sasage_image(request_id: int, image_id: int):
    return _photo_action(request_id, image_id, photos.choose_main, _("The main photo was chosen."))


@bp.post("/sasage/<int:request_id>/images/<int:image_id>/remove")
def remove_sasage_image(request_id: int, image_id: int):
    return _photo_action(request_id, image_id, photos.remove_photo, _("The photo was removed."))


@bp.get("/sasage/<int:request_id>/images/<int:image_id>/<rendition>")
def sasage_image(request_id: int, image_id: int, rendition: str):
    """A rendition, to the shop's people and its operators only (the shop in the URL
    was checked; the photo must belong to this request of this shop)."""
    require_permission("sasage.view")
    if rendition not in RENDITIONS:
        abort(404)
    try:
        image = photos.get_photo(db_session(), request_id, image_id)
        path = _store().existing(g.shop.id, image.id, f"{rendition}.jpg")
    except (NotFound, FileMissing):
        abort(404)
    if image.status != "ready":
        abort(404)
    response = send_file(path, mimetype="image/jpeg", conditional=True, etag=True)
    response.headers["Cache-Control"] = "private, max-age=3600"
    response.headers["Content-Disposition"] = f'inline; filename="{image.id}-{rendition}.jpg"'
    return response


@bp.get("/sasage/<int:request_id>/render/<uuid:task_id>/progress.json")
def sasage_render_progress(request_id: int, task_id: uuid.UUID):
    require_permission("sasage.view")
    current = _request_or_404(request_id)
    session = db_session()
    try:
        task = tasks.get_task(session, task_id)
    except NotFound:
        abort(404)
    if task.kind != photos.RENDER_KIND or not photos.renders_for(session, current.id, task.id):
        abort(404)
    response = jsonify(_render_state(current, task))
    response.headers["Cache-Control"] = "no-store"
    return response


# --- measurement and copy ------------------------------------------------------------------


@bp.post("/sasage/<int:request_id>/measurement")
def save_sasage_measurement(request_id: int):
    require_permission("sasage.work")
    form = forms.MeasurementForm()
    if not form.validate():
        abort(400)
    data, form.rows_sent = form.measurement_data()

    def action(current):
        measuring.save_measurement(db_session(), actor=current_actor(), request_id=current.id,
                                   data=data)  # fmt: skip

    return _act(request_id, "measure", form, action, _("The measurements were saved."))


@bp.post("/sasage/<int:request_id>/copy")
def save_sasage_copy(request_id: int):
    require_permission("sasage.work")
    form = forms.CopyForm()
    if not form.validate():
        abort(400)

    def action(current):
        copywriting.save_copy(db_session(), actor=current_actor(), request_id=current.id,
                              data=form.copy_data())  # fmt: skip

    return _act(request_id, "copy", form, action, _("The copy was saved."))


# --- tasks: assign, submit, review ---------------------------------------------------------


@bp.post("/sasage/<int:request_id>/tasks/<kind>/assign")
def assign_sasage_task(request_id: int, kind: str):
    require_permission("sasage.work")
    kind = _kind_or_404(kind)
    form = _with_operators(forms.AssignForm())
    version = _version(form)
    assignee = _assignee(form.assignee.data or "")

    def action(current):
        services.assign_task(db_session(), actor=current_actor(), request_id=current.id,
                             kind=kind, version=version, assignee=assignee)  # fmt: skip

    return _act(request_id, f"assign-{kind}", form, action, _("The task was assigned."))


def _assignee(value: str) -> UserAccount | None:
    if value == "me":
        return db_session().get(UserAccount, current_user.id)
    if not value:
        return None
    try:
        user = db_session().get(UserAccount, uuid.UUID(value))
    except ValueError:
        abort(400)
    if user is None:
        abort(400)
    return user


@bp.post("/sasage/<int:request_id>/tasks/<kind>/submit")
def submit_sasage_task(request_id: int, kind: str):
    require_permission("sasage.work")
    kind = _kind_or_404(kind)
    form = forms.VersionedForm()
    version = _version(form)

    def action(current):
        services.submit_task(db_session(), actor=current_actor(), request_id=current.id,
                             kind=kind, version=version)  # fmt: skip

    message = _("Sent to the shop for approval; its admins get a mail.")
    return _act(request_id, f"submit-{kind}", form, action, message)


@bp.post("/sasage/<int:request_id>/tasks/<kind>/review")
def review_sasage_task(request_id: int, kind: str):
    require_permission("sasage.approve")
    kind = _kind_or_404(kind)
    form = forms.ReviewForm()
    version = _version(form)
    decision = request.form.get("decision", "")
    data = {"decision": decision, "comment": form.comment.data or "", "version": version}

    def action(current):
        services.review_task(db_session(), actor=current_actor(), request_id=current.id,
                             kind=kind, data=data)  # fmt: skip

    if decision == "approve":
        message = _("Approved. Thank you.")
    else:
        message = _("Returned to the agency with your comment.")
    return _act(request_id, f"review-{kind}", form, action, message)
