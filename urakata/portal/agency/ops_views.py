"""Agency admin: operations (queues, outbox, failed jobs with requeue) and the demo mailbox.

Redis may be down: the operations page still renders from the database and says so.
Failed jobs are named by their Urakata job and shop, never by the personal data they
carried; e-mail addresses in error texts are masked.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job
from rq.registry import FailedJobRegistry
from sqlalchemy import func, select, update
from wtforms import HiddenField
from wtforms.validators import DataRequired, Length, Regexp

from urakata.platform import audit, outbox
from urakata.platform.audit import AGENCY_CHAIN_ID
from urakata.platform.identity import Role
from urakata.platform.outbox import OutboxMessage
from urakata.platform.queues import QUEUES
from urakata.platform.tenancy import Tenant
from urakata.portal.access import require_agency_role
from urakata.portal.actor import current_actor
from urakata.portal.agency.views import bp
from urakata.portal.requestdb import db_session

PER_PAGE = 20
OUTBOX_ROWS = 20  # the newest problem rows shown; the counts say how many there are
EMAIL_RE = re.compile(r"[^\s@<>\"'(),;:]+@([A-Za-z0-9.-]+)")
JOB_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
MAIL_STAMP_RE = re.compile(r"^(\d{8}T\d{12})-")


class RequeueForm(FlaskForm):
    job_id = HiddenField(validators=[DataRequired(), Length(max=128), Regexp(JOB_ID_RE)])


@dataclass(frozen=True)
class QueueFigures:
    name: str
    depth: int
    oldest_age: float | None  # seconds the oldest waiting job has waited
    started: int
    scheduled: int
    failed: int


@dataclass(frozen=True)
class FailedJob:
    id: str
    queue: str
    job: str
    shop_id: str | None
    enqueued_at: datetime | None
    ended_at: datetime | None
    error: str


def mask_emails(value: str) -> str:
    """``someone@shop.example`` → ``…@shop.example``: errors may carry addresses."""
    return EMAIL_RE.sub(lambda m: f"…@{m.group(1)}", value or "")


def _redis() -> Redis:
    return Redis.from_url(
        current_app.config["REDIS_URL"], socket_timeout=2, socket_connect_timeout=2
    )


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["URAKATA_SETTINGS"].default_timezone)


def _local(zone: ZoneInfo):
    def local(value: datetime | None) -> str:
        if value is None:
            return "—"
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")

    return local


def _page() -> int:
    return max(1, request.args.get("page", 1, type=int) or 1)


# -- Redis: queues and failed jobs -------------------------------------------------------


def queue_figures(redis: Redis, now: datetime) -> list[QueueFigures]:
    figures = []
    for name in QUEUES:
        queue = Queue(name, connection=redis)
        oldest_age = None
        first = queue.get_job_ids(0, 0)
        job = Job.fetch_many(first, connection=redis)[0] if first else None
        if job is not None and job.enqueued_at is not None:
            oldest_age = max(0.0, (now - job.enqueued_at).total_seconds())
        figures.append(
            QueueFigures(
                name=name,
                depth=queue.count,
                oldest_age=oldest_age,
                started=queue.started_job_registry.count,
                scheduled=queue.scheduled_job_registry.count,
                failed=queue.failed_job_registry.count,
            )
        )
    return figures


def _describe_failed(job: Job, queue: str) -> FailedJob:
    args = list(job.args or ())
    urakata_job = len(args) >= 2 and isinstance(args[0], str)
    result = job.latest_result()
    lines = (result.exc_string or "").strip().splitlines() if result else []
    return FailedJob(
        id=job.id,
        queue=queue,
        job=args[0] if urakata_job else (job.func_name or job.id),
        shop_id=args[1] if urakata_job and isinstance(args[1], str) else None,
        enqueued_at=job.enqueued_at,
        ended_at=job.ended_at,
        error=mask_emails(lines[-1] if lines else ""),
    )


def failed_jobs(redis: Redis, page: int) -> tuple[list[FailedJob], int]:
    """One page of failed jobs over every queue, most recently failed first."""
    entries = []
    for name in QUEUES:
        registry = FailedJobRegistry(name, connection=redis)
        # Scores are expiry times; Urakata jobs share one failure TTL, so this is failure order.
        for job_id, score in redis.zrange(registry.key, 0, -1, withscores=True):
            entries.append((score, job_id.decode(), name))
    entries.sort(reverse=True)
    chosen = entries[(page - 1) * PER_PAGE : page * PER_PAGE]
    jobs = Job.fetch_many([job_id for _score, job_id, _q in chosen], connection=redis)
    described = [
        _describe_failed(job, queue)
        for job, (_score, _id, queue) in zip(jobs, chosen, strict=True)
        if job is not None
    ]
    return described, len(entries)


# -- the database: outbox ---------------------------------------------------------------


def outbox_figures(session) -> dict:
    relay_errors = (OutboxMessage.sent_at.is_(None), OutboxMessage.relay_attempts > 0)
    failed = (OutboxMessage.failed_at.is_not(None),)
    count = func.count()
    return {
        "unsent": outbox.unsent_count(session),
        "lag": outbox.lag_seconds(session),
        "relay_error_count": session.scalar(select(count).where(*relay_errors)),
        "relay_errors": session.scalars(
            select(OutboxMessage)
            .where(*relay_errors)
            .order_by(OutboxMessage.created_at.desc())
            .limit(OUTBOX_ROWS)
        ).all(),
        "failed_count": session.scalar(select(count).where(*failed)),
        "failed": session.scalars(
            select(OutboxMessage)
            .where(*failed)
            .order_by(OutboxMessage.failed_at.desc())
            .limit(OUTBOX_ROWS)
        ).all(),
    }


def _shop_names(session, ids) -> dict[str, str]:
    wanted = set()
    for value in ids:
        try:
            wanted.add(uuid.UUID(str(value)))
        except ValueError:
            continue
    if not wanted:
        return {}
    rows = session.execute(select(Tenant.id, Tenant.name).where(Tenant.id.in_(wanted)))
    return {str(shop_id): name for shop_id, name in rows}


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 120:
        return _("%(n)s s", n=int(seconds))
    if seconds < 2 * 3600:
        return _("%(n)s min", n=int(seconds // 60))
    return _("%(n)s h", n=int(seconds // 3600))


@bp.get("/ops")
def ops():
    require_agency_role(Role.agency_admin)
    session = db_session()
    now = datetime.now(UTC)
    page = _page()
    queues, failed, failed_total, redis_error = [], [], 0, None
    try:
        redis = _redis()
        queues = queue_figures(redis, now)
        failed, failed_total = failed_jobs(redis, page)
    except RedisError as exc:
        redis_error = type(exc).__name__
    box = outbox_figures(session)
    shop_ids = [j.shop_id for j in failed] + [
        row.shop_id for row in (*box["failed"], *box["relay_errors"])
    ]
    return render_template(
        "agency/ops.html",
        queues=queues,
        failed=failed,
        failed_total=failed_total,
        page=page,
        has_next=page * PER_PAGE < failed_total,
        redis_error=redis_error,
        box=box,
        shop_names=_shop_names(session, [s for s in shop_ids if s]),
        local=_local(_zone()),
        age=_age,
        mask=mask_emails,
    )


@bp.post("/ops/requeue")
def requeue_job():
    """Put a failed job back on its queue; the outbox row is no longer failed. Recorded."""
    require_agency_role(Role.agency_admin)
    form = RequeueForm()
    if not form.validate_on_submit():
        abort(400)
    job_id = form.job_id.data
    try:
        redis = _redis()
        job = Job.fetch(job_id, connection=redis)
        registry = FailedJobRegistry(job.origin, connection=redis)
        still_failed = job.origin in QUEUES and job_id in registry
    except NoSuchJobError:
        abort(404)
    except RedisError:
        flash(_("Redis does not answer; nothing was requeued."), "error")
        return redirect(url_for("agency.ops"))
    if not still_failed:
        flash(_("That job is no longer failed; nothing was requeued."), "warning")
        return redirect(url_for("agency.ops"))
    described = _describe_failed(job, job.origin)
    session = db_session()
    _clear_outbox_failure(session, job_id)
    audit.record(
        session,
        current_actor(),
        "job.requeued",
        object_type="job",
        object_id=job_id,
        data={"job": described.job, "queue": job.origin, "shop_id": described.shop_id},
        # An agency action about a shop goes into that shop's chain (DESIGN §5).
        chain_id=uuid.UUID(described.shop_id) if described.shop_id else AGENCY_CHAIN_ID,
    )
    session.flush()
    try:
        registry.requeue(job_id)
    except (RedisError, InvalidJobOperation):
        session.rollback()  # nothing happened, so nothing is recorded
        flash(_("Redis refused to requeue the job; try again."), "error")
        return redirect(url_for("agency.ops"))
    flash(_("The job %(job)s is queued again.", job=described.job), "success")
    return redirect(url_for("agency.ops"))


def _clear_outbox_failure(session, job_id: str) -> None:
    """Outbox jobs have the outbox row's id as job id; the reconciler watches the row again."""
    try:
        outbox_id = uuid.UUID(job_id)
    except ValueError:
        return
    session.execute(
        update(OutboxMessage).where(OutboxMessage.id == outbox_id).values(failed_at=None)
    )


# -- the demo mailbox -------------------------------------------------------------------


@dataclass(frozen=True)
class MailFile:
    name: str
    sent_at: datetime
    to: str
    subject: str


def _mail_dir() -> Path | None:
    configured = current_app.config["URAKATA_SETTINGS"].mail_dir
    return Path(configured) if configured else None


def mail_names(directory: Path) -> list[str]:
    """The .eml files in ``directory``, newest first (their names start with the UTC time)."""
    if not directory.is_dir():
        return []
    names = (p.name for p in directory.iterdir() if p.suffix == ".eml" and p.is_file())
    return sorted(names, reverse=True)


def _sent_at(path: Path) -> datetime:
    stamp = MAIL_STAMP_RE.match(path.name)
    if stamp:
        return datetime.strptime(stamp.group(1), "%Y%m%dT%H%M%S%f").replace(tzinfo=UTC)
    return datetime.fromtimestamp(path.stat().st_mtime, UTC)


def _read_mail(path: Path, *, headers_only: bool):
    with path.open("rb") as fh:
        return BytesParser(policy=policy.default).parse(fh, headersonly=headers_only)


def _mail_file(directory: Path, name: str) -> MailFile:
    path = directory / name
    message = _read_mail(path, headers_only=True)
    return MailFile(
        name=name,
        sent_at=_sent_at(path),
        to=str(message.get("To", "")),
        subject=str(message.get("Subject", "")),
    )


@bp.get("/mails")
def mails():
    require_agency_role(Role.agency_admin)
    directory = _mail_dir()
    settings = current_app.config["URAKATA_SETTINGS"]
    if directory is None:
        return render_template("agency/mails.html", directory=None, settings=settings)
    page = _page()
    names = mail_names(directory)
    shown = [_mail_file(directory, name) for name in names[(page - 1) * PER_PAGE : page * PER_PAGE]]
    return render_template(
        "agency/mails.html",
        directory=directory,
        settings=settings,
        mails=shown,
        total=len(names),
        page=page,
        has_next=page * PER_PAGE < len(names),
        local=_local(_zone()),
    )


@bp.get("/mails/<name>")
def mail(name: str):
    """One mail; ``name`` must be a file of the listing (nothing else is ever opened)."""
    require_agency_role(Role.agency_admin)
    directory = _mail_dir()
    if directory is None or name not in mail_names(directory):
        abort(404)
    path = directory / name
    message = _read_mail(path, headers_only=False)
    body = message.get_body(preferencelist=("plain",))
    return render_template(
        "agency/mail.html",
        mail=_mail_file(directory, name),
        sender=str(message.get("From", "")),
        text=body.get_content() if body is not None else "",
        local=_local(_zone()),
    )
