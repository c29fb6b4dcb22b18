"""Requesting sasage, moving its tasks, the shop's reviews, the lists. Services never
commit; every step is recorded on the shop's ledger chain, about the request.

A task's states (``TRANSITIONS``): *todo* until work is saved, then *in progress*; the
operator submits it and it *waits for the shop*, who approves it (*approved*, final) or
returns it with a comment (*returned*, back to work). Saving work on a task that waits
takes it back to *in progress* (the shop must not approve what changed under it); work
on an approved task is refused. The request is complete when all three are approved.

Every change bumps the task's version; the shop's decision names the version it saw,
so it never approves work it has not seen (409 otherwise).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import exists, or_, select
from sqlalchemy.orm.exc import StaleDataError

from urakata.platform import audit
from urakata.platform.audit import Actor
from urakata.platform.closed_days import shop_calendar
from urakata.platform.db import UrakataSession, utcnow
from urakata.platform.fields import N_, Message
from urakata.platform.identity import Role, UserAccount, members_of_shop
from urakata.platform.mail import queue_mail
from urakata.platform.mailrender import register_kind
from urakata.platform.tenancy import NotFound, Tenant, get_scoped
from urakata.tenants.catalog.models import Product
from urakata.tenants.sasage.models import (
    TASK_KINDS,
    SasageCopy,
    SasageImage,
    SasageMeasurement,
    SasageRequest,
    SasageReview,
    SasageTask,
)
from urakata.tenants.sasage.schemas import RequestIn, ReviewIn, flatten
from urakata.tenants.shop.services import get_settings

TRANSITIONS: dict[str, frozenset[str]] = {
    "todo": frozenset({"in_progress"}),
    "in_progress": frozenset({"waiting"}),
    "waiting": frozenset({"in_progress", "approved", "returned"}),
    "returned": frozenset({"in_progress"}),
    "approved": frozenset(),
}
OBJECT = "sasage_request"  # every event of a request's history is about the request
MAIL_KIND = "sasage_waiting"
APPROVED_SHOWN_FOR = timedelta(days=14)  # the board's approved column looks back this far


class SasageInvalid(ValueError):
    """Input the sender must fix; ``errors`` maps each field to its messages (422)."""

    def __init__(self, errors: dict[str, list[Any]]):
        super().__init__("; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in errors.items()))
        self.errors = errors


class StaleSasage(RuntimeError):
    """Someone changed the task or its work since the version given (409)."""


class IllegalMove(RuntimeError):
    """The task's state does not allow this (409); ``message`` says why."""

    def __init__(self, message: Message):
        super().__init__(str(message))
        self.message = message


def load(schema, data: Any) -> dict:
    """Validate with ``schema``; :class:`SasageInvalid` keyed by field (``sizes[0].size``)."""
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise SasageInvalid(flatten(exc.messages)) from exc


def local_today(session: UrakataSession) -> date:
    tenant = session.get(Tenant, session.tenant_id)
    return utcnow().astimezone(tenant.zone).date()


def _flush(session: UrakataSession) -> None:
    try:
        session.flush()
    except StaleDataError as exc:
        raise StaleSasage("the sasage task was changed meanwhile") from exc


# --- requesting ----------------------------------------------------------------------------


def request_sasage(
    session: UrakataSession, *, actor: Actor, data: dict, requested_at: datetime | None = None
) -> list[SasageRequest]:
    """Open a request with its three tasks for each SKU; all or nothing.

    The due date is the shop's turnaround (``sasage_turnaround_days``) in business days
    on its calendar (public holidays, the shop's and the agency's closed days), the
    request's own day not counted. ``requested_at`` (now by default) lets history be
    loaded with the day it happened.
    """
    values = load(RequestIn(), data)
    products = dict(
        session.execute(select(Product.sku, Product).where(Product.sku.in_(values["skus"]))).all()
    )
    taken = dict(
        session.execute(
            select(Product.sku, SasageRequest.requested_at)
            .join(SasageRequest, SasageRequest.product_id == Product.id)
            .where(Product.sku.in_(values["skus"]))
        ).all()
    )
    errors, seen = {}, set()
    for n, sku in enumerate(values["skus"]):
        if sku in seen:
            errors[f"skus[{n}]"] = [N_("The SKU %(sku)s is given twice.", sku=sku)]
        elif sku not in products:
            errors[f"skus[{n}]"] = [N_("No product of the shop has the SKU %(sku)s.", sku=sku)]
        elif sku in taken:
            errors[f"skus[{n}]"] = [N_("Sasage of %(sku)s is requested already.", sku=sku)]
        seen.add(sku)
    if errors:
        raise SasageInvalid(errors)
    settings = get_settings(session)
    calendar = shop_calendar(session, settings.closed_days)
    requested_at = requested_at or utcnow()
    tenant = session.get(Tenant, session.tenant_id)
    requested_on = requested_at.astimezone(tenant.zone).date()
    due = calendar.add_business_days(requested_on, settings.sasage_turnaround_days)
    created = []
    for sku in values["skus"]:
        request = SasageRequest(
            product_id=products[sku].id,
            note=values.get("note", ""),
            due_date=due,
            requested_by=actor.user_id,
            requested_by_name=actor.label,
            requested_at=requested_at,
        )
        request.tasks = [SasageTask(kind=kind, due_date=due) for kind in TASK_KINDS]
        session.add(request)
        created.append(request)
    session.flush()
    audit.record_many(
        session,
        actor,
        [
            audit.PendingEvent(
                "sasage.requested",
                OBJECT,
                r.id,
                data={
                    "sku": sku,
                    "due_date": due.isoformat(),
                    "turnaround_days": settings.sasage_turnaround_days,
                    "note": r.note,
                },
            )
            for r, sku in zip(created, values["skus"], strict=True)
        ],
    )
    return created


def get_request(session: UrakataSession, request_id: int) -> SasageRequest:
    return get_scoped(session, SasageRequest, request_id)


def get_task(session: UrakataSession, request_id: int, kind: str) -> SasageTask:
    """The request's task of ``kind``; :class:`NotFound` for another shop's or a bad kind."""
    if kind not in TASK_KINDS:
        raise NotFound(f"no sasage task kind {kind!r}")
    return get_request(session, request_id).task(kind)


def _checked(session: UrakataSession, request_id: int, kind: str, version: int) -> SasageTask:
    task = get_task(session, request_id, kind)
    if task.version != version:
        raise StaleSasage(f"task {task.id} is at version {task.version}, not {version}")
    return task


def _record(session, actor: Actor, task: SasageTask, action: str, changes=None, data=None):
    audit.record(
        session,
        actor,
        action,
        object_type=OBJECT,
        object_id=task.request_id,
        changes=changes,
        data={"task": task.kind, "version": task.version, **(data or {})},
    )


def _move(task: SasageTask, state: str) -> dict[str, tuple[str, str]]:
    if state not in TRANSITIONS[task.state]:
        raise IllegalMove(
            N_(
                "A task in state %(state)s cannot become %(target)s.",
                state=task.state,
                target=state,
            )
        )
    changes = {"state": (task.state, state)}
    task.state = state
    task.updated_at = utcnow()
    return changes


# --- work on a task (photos, measurement, copy call these) --------------------------------


def task_for_work(session: UrakataSession, request_id: int, kind: str) -> SasageTask:
    """The task whose work is about to change; refused once the shop approved it."""
    task = get_task(session, request_id, kind)
    if task.state == "approved":
        raise IllegalMove(N_("The shop approved this work; it no longer changes."))
    return task


def record_work(
    session: UrakataSession,
    actor: Actor,
    task: SasageTask,
    action: str,
    *,
    changes: dict | None = None,
    data: dict | None = None,
) -> None:
    """Work on ``task`` changed: it is in progress now (taking it back from the shop if it
    waited), its version moves on, and the change goes on the ledger."""
    moved = {}
    if task.state in ("todo", "returned", "waiting"):
        moved = _move(task, "in_progress")
    task.updated_at = utcnow()
    _flush(session)
    _record(session, actor, task, action, changes={**moved, **(changes or {})}, data=data)


# --- assignment, submission, review -------------------------------------------------------


def assign_task(
    session: UrakataSession,
    *,
    actor: Actor,
    request_id: int,
    kind: str,
    version: int,
    assignee: UserAccount | None,
) -> SasageTask:
    """Give the task to an operator serving the shop (or to nobody)."""
    task = _checked(session, request_id, kind, version)
    if task.state == "approved":
        raise IllegalMove(N_("The shop approved this work; it no longer changes."))
    if assignee is not None and not _serves(assignee, session.tenant_id):
        raise SasageInvalid({"assignee": [N_("Choose an operator who serves this shop.")]})
    new_id = assignee.id if assignee else None
    if new_id == task.assignee_id:
        return task
    before = task.assignee_name
    task.assignee_id, task.assignee_name = new_id, assignee.display_name if assignee else ""
    task.updated_at = utcnow()
    _flush(session)
    _record(
        session, actor, task, "sasage.assigned", changes={"assignee": (before, task.assignee_name)}
    )
    return task


def _serves(user: UserAccount, shop_id: uuid.UUID) -> bool:
    return user.is_active and any(
        (m.role == Role.operator.value and m.shop_id == shop_id)
        or m.role == Role.agency_admin.value
        for m in user.memberships
    )


def operators_of(session: UrakataSession) -> list[UserAccount]:
    """The operators assigned to the bound shop, by name (who a task may go to)."""
    ids = {
        m.user_id
        for m in members_of_shop(session, session.tenant_id)
        if m.role == Role.operator.value
    }
    if not ids:
        return []
    query = select(UserAccount).where(UserAccount.id.in_(ids), UserAccount.is_active)
    return list(session.scalars(query.order_by(UserAccount.display_name)))


def submit_task(
    session: UrakataSession, *, actor: Actor, request_id: int, kind: str, version: int
) -> SasageTask:
    """The work is ready: it waits for the shop, and the shop's admins get a mail."""
    task = _checked(session, request_id, kind, version)
    if task.state not in ("in_progress",):
        raise IllegalMove(
            N_("Only work in progress can be submitted (this task is %(state)s).", state=task.state)
        )
    problem = missing_work(session, task)
    if problem is not None:
        raise IllegalMove(problem)
    changes = _move(task, "waiting")
    task.submitted_at = utcnow()
    _flush(session)
    recipients = _mail_shop_admins(session, task)
    _record(session, actor, task, "sasage.submitted", changes=changes, data={"mails": recipients})
    return task


def missing_work(session: UrakataSession, task: SasageTask) -> Message | None:
    """Why the task's work cannot go to the shop yet, or None when it can."""
    request_id = task.request_id
    if task.kind == "photo":
        images = list(
            session.scalars(
                select(SasageImage).where(
                    SasageImage.request_id == request_id, SasageImage.removed_at.is_(None)
                )
            )
        )
        if not images:
            return N_("Upload the photos first.")
        if any(i.status == "pending" for i in images):
            return N_("Some photos are still being prepared; submit when they are ready.")
        if any(i.status == "failed" for i in images):
            return N_("Remove the photos that could not be prepared, then submit.")
        if not any(i.is_main for i in images):
            return N_("Choose the main photo first.")
        return None
    if task.kind == "measure":
        measured = select(SasageMeasurement.id).where(SasageMeasurement.request_id == request_id)
        return None if session.scalar(measured) else N_("Save the measurements first.")
    written = select(SasageCopy.id).where(SasageCopy.request_id == request_id).limit(1)
    return None if session.scalar(written) else N_("Write the copy first.")


def _mail_shop_admins(session: UrakataSession, task: SasageTask) -> int:
    admins = [
        m.user
        for m in members_of_shop(session, session.tenant_id)
        if m.role == Role.shop_admin.value and m.user.is_active
    ]
    for user in admins:
        queue_mail(
            session,
            kind=MAIL_KIND,
            to=user.email,
            locale=user.locale,
            params={"task_id": task.id, "user_id": str(user.id)},
        )
    return len(admins)


def review_task(
    session: UrakataSession, *, actor: Actor, request_id: int, kind: str, data: dict
) -> SasageTask:
    """The shop approves the work it saw at ``version``, or returns it with a comment."""
    values = load(ReviewIn(), data)
    task = _checked(session, request_id, kind, values["version"])
    if task.state != "waiting":
        raise IllegalMove(N_("Only work that waits for the shop can be approved or returned."))
    approve = values["decision"] == "approve"
    seen = task.version
    changes = _move(task, "approved" if approve else "returned")
    if approve:
        task.approved_at = utcnow()
    else:
        task.return_count += 1
    session.add(
        SasageReview(
            task_id=task.id,
            decision="approved" if approve else "returned",
            comment=values["comment"],
            task_version=seen,
            reviewer_id=actor.user_id,
            reviewer_name=actor.label,
        )
    )
    _flush(session)
    action = "sasage.approved" if approve else "sasage.returned"
    _record(session, actor, task, action, changes=changes, data={"comment": values["comment"]})
    if approve:
        _complete_if_done(session, actor, task.request)
    return task


def _complete_if_done(session: UrakataSession, actor: Actor, request: SasageRequest) -> None:
    if request.completed_at is None and all(t.state == "approved" for t in request.tasks):
        request.completed_at = utcnow()
        session.flush()
        audit.record(
            session,
            actor,
            "sasage.completed",
            object_type=OBJECT,
            object_id=request.id,
            data={"sku": request.product.sku},
        )


def reviews_of(session: UrakataSession, request: SasageRequest) -> dict[str, list[SasageReview]]:
    """The shop's decisions on each task of the request, newest first."""
    by_task = {t.id: t.kind for t in request.tasks}
    reviews: dict[str, list[SasageReview]] = {kind: [] for kind in TASK_KINDS}
    rows = session.scalars(
        select(SasageReview)
        .where(SasageReview.task_id.in_(by_task))
        .order_by(SasageReview.id.desc())
    )
    for review in rows:
        reviews[by_task[review.task_id]].append(review)
    return reviews


# --- lists ---------------------------------------------------------------------------------

LIST_STATES = ("open", "waiting", "returned", "complete")


@dataclass(frozen=True)
class RequestPage:
    items: list[SasageRequest]
    next_after: int | None


def list_requests(
    session: UrakataSession,
    *,
    state: str | None = None,
    query: str = "",
    after_id: int | None = None,
    limit: int = 50,
) -> RequestPage:
    """The shop's requests, newest first, keyset by id; ``query`` matches SKU or name."""
    stmt = (
        select(SasageRequest)
        .join(Product, Product.id == SasageRequest.product_id)
        .order_by(SasageRequest.id.desc())
        .limit(limit + 1)
    )
    if state == "open":
        stmt = stmt.where(SasageRequest.completed_at.is_(None))
    elif state == "complete":
        stmt = stmt.where(SasageRequest.completed_at.is_not(None))
    elif state in ("waiting", "returned"):
        stmt = stmt.where(
            exists().where(SasageTask.request_id == SasageRequest.id, SasageTask.state == state)
        )
    if query:
        like = f"%{query}%"
        stmt = stmt.where(or_(Product.sku.ilike(like), Product.name.ilike(like)))
    if after_id:
        stmt = stmt.where(SasageRequest.id < after_id)
    rows = list(session.scalars(stmt).unique())
    more = len(rows) > limit
    items = rows[:limit]
    return RequestPage(items, items[-1].id if more else None)


def complete_product_ids(session: UrakataSession, product_ids: Iterable[int]) -> set[int]:
    """Which of these products have sasage complete (all three tasks approved)."""
    ids = list(product_ids)
    if not ids:
        return set()
    return set(
        session.scalars(
            select(SasageRequest.product_id).where(
                SasageRequest.product_id.in_(ids), SasageRequest.completed_at.is_not(None)
            )
        )
    )


@dataclass(frozen=True)
class BoardFilter:
    kind: str | None = None
    state: str | None = None
    due_until: date | None = None
    assignee: str = ""  # "" anyone, "none" unassigned, else a user id
    query: str = ""


@dataclass(frozen=True)
class BoardTask:
    task: SasageTask
    sku: str
    product_name: str
    overdue: bool


def board_tasks(session: UrakataSession, filters: BoardFilter, limit: int = 500) -> list[BoardTask]:
    """The bound shop's tasks for the operators' board: open and waiting ones, and those
    approved in the last two weeks; soonest due first."""
    stmt = (
        select(SasageTask, Product.sku, Product.name)
        .join(SasageRequest, SasageRequest.id == SasageTask.request_id)
        .join(Product, Product.id == SasageRequest.product_id)
        .where(
            or_(
                SasageTask.state != "approved",
                SasageTask.approved_at >= utcnow() - APPROVED_SHOWN_FOR,
            )
        )
        .order_by(SasageTask.due_date, SasageTask.id)
        .limit(limit)
    )
    if filters.kind:
        stmt = stmt.where(SasageTask.kind == filters.kind)
    if filters.state:
        stmt = stmt.where(SasageTask.state == filters.state)
    if filters.due_until:
        stmt = stmt.where(SasageTask.due_date <= filters.due_until)
    if filters.assignee == "none":
        stmt = stmt.where(SasageTask.assignee_id.is_(None))
    elif filters.assignee:
        stmt = stmt.where(SasageTask.assignee_id == uuid.UUID(filters.assignee))
    if filters.query:
        like = f"%{filters.query}%"
        stmt = stmt.where(or_(Product.sku.ilike(like), Product.name.ilike(like)))
    today = local_today(session)
    return [
        BoardTask(task, sku, name, task.is_open and task.due_date < today)
        for task, sku, name in session.execute(stmt).all()
    ]


# --- the mail to the shop ------------------------------------------------------------------


def _waiting_mail_context(session: UrakataSession, params: dict, settings) -> dict:
    task = get_scoped(session, SasageTask, int(params["task_id"]))
    tenant = session.get(Tenant, session.tenant_id)
    user = session.get(UserAccount, uuid.UUID(params["user_id"]))
    request = task.request
    return {
        "user": user,
        "shop_name": tenant.name,
        "kind": task.kind,
        "sku": request.product.sku,
        "product": request.product.name,
        "due_date": task.due_date.isoformat(),
        # The portal serves this path (shop.sasage_request).
        "link": f"{settings.public_url}/s/{tenant.slug}/sasage/{request.id}",
    }


register_kind(
    MAIL_KIND,
    "sasage_waiting.txt",
    N_("Sasage work waits for your approval"),
    _waiting_mail_context,
)
