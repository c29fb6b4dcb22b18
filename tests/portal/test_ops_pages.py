"""The agency admin's operations pages: queues, outbox, failed jobs, requeue, demo mails,
and the readiness probe's outbox check."""

from __future__ import annotations

import re
import uuid
from dataclasses import replace
from datetime import timedelta

import pytest
from rq import Queue
from rq.job import Job
from rq.registry import FailedJobRegistry
from sqlalchemy import select

from tests.factories import make_user
from tests.portal_client import PortalClient
from urakata.platform import outbox
from urakata.platform.audit import AGENCY_CHAIN_ID, AuditEvent
from urakata.platform.db import utcnow
from urakata.platform.devservers import free_port
from urakata.platform.identity import Role, UserAccount
from urakata.platform.mail import MailSettings, build_message, queue_mail, write_mail_file
from urakata.platform.outbox import OutboxMessage
from urakata.portal import create_app
from urakata.worker import runtime
from urakata.worker.queues import QUEUES
from urakata.worker.relay import relay_once
from urakata.worker.runtime import Context


def _queue_mail(db, shop, to: str) -> OutboxMessage:
    with db.tenant_session(shop.id) as s:
        user = s.scalar(
            select(UserAccount).where(UserAccount.email == f"admin@{shop.slug}.example")
        )
        message = queue_mail(
            s,
            kind="password_reset",
            to=to,
            locale="ja",
            params={"user_id": str(user.id), "token_id": str(uuid.uuid4()), "shop_name": ""},
        )
        return s.scalar(
            select(OutboxMessage).where(OutboxMessage.args["mail_id"].astext == str(message.id))
        )


def _release_retries(redis) -> None:
    """Move jobs waiting for a retry back to their queues now (the scheduler would, later)."""
    for name in QUEUES:
        queue = Queue(name, connection=redis)
        registry = queue.scheduled_job_registry
        for job_id in registry.get_jobs_to_schedule(timestamp=2**40):
            registry.remove(job_id)
            queue.enqueue_job(Job.fetch(job_id, connection=redis))


def _fail_for_good(spine, row_id) -> None:
    """Run the spine until the job has used all its retries and sits in the failed registry."""
    failed = FailedJobRegistry("mail", connection=spine.ctx.redis)
    for _attempt in range(8):
        spine.run()
        if str(row_id) in failed.get_job_ids():
            return
        _release_retries(spine.ctx.redis)
    pytest.fail("the job never ended in the failed registry")


@pytest.fixture
def dead_smtp(spine, settings, db):
    """Mail jobs from now on talk to a port where no SMTP server listens."""
    spine.run()  # the world's welcome mails go out first, to the working server
    runtime.use_context(
        Context(settings=replace(settings, mail_port=free_port()), db=db, redis=spine.ctx.redis)
    )
    return spine


def test_a_mail_that_cannot_be_sent_is_a_failed_job_an_admin_requeues(
    db, world, portal, dead_smtp, settings, mailbox
):
    row = _queue_mail(db, world.shop_a, "buyer@shops.example")
    _fail_for_good(dead_smtp, row.id)

    portal.login(world.agency_admin)
    page = portal.get("/agency/ops")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    failed_row = re.search(rf'data-testid="failed-job-{row.id}">(.*?)</tr>', html, re.S).group(1)
    assert "mail.send" in failed_row and world.shop_a.name in failed_row
    assert "MailError" in failed_row and "…@shops.example" in failed_row
    assert "buyer@shops.example" not in html  # the recipient's address is masked
    assert f'data-testid="outbox-row-{row.id}"' in html  # the outbox row gave up too
    with db.platform_session() as s:
        assert s.get(OutboxMessage, row.id).failed_at is not None

    # The SMTP server is back; the admin requeues the job.
    runtime.use_context(Context(settings=settings, db=db, redis=dead_smtp.ctx.redis))
    response = portal.post_form(
        "/agency/ops/requeue", {"job_id": str(row.id)}, form_url="/agency/ops"
    )
    assert response.status_code == 302
    with db.platform_session() as s:
        assert s.get(OutboxMessage, row.id).failed_at is None
    assert str(row.id) in Queue("mail", connection=dead_smtp.ctx.redis).get_job_ids()
    # An agency action about shop A's job goes into shop A's chain.
    with db.tenant_session(world.shop_a.id) as s:
        event = s.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert (event.action, event.object_id, event.actor_id) == (
        "job.requeued",
        str(row.id),
        str(world.agency_admin.id),
    )
    assert event.payload["data"] == {
        "job": "mail.send",
        "queue": "mail",
        "shop_id": str(world.shop_a.id),
    }

    dead_smtp.run()
    assert [m["To"] for m in mailbox].count("buyer@shops.example") == 1
    with db.platform_session() as s:
        assert s.get(OutboxMessage, row.id).done_at is not None
    after = portal.get("/agency/ops").get_data(as_text=True)
    assert f"failed-job-{row.id}" not in after


def test_requeue_refuses_what_is_not_a_failed_job(db, world, portal, spine):
    portal.login(world.agency_admin)
    unknown = portal.post_form(
        "/agency/ops/requeue", {"job_id": str(uuid.uuid4())}, form_url="/agency/ops"
    )
    assert unknown.status_code == 404
    bad = portal.post_form("/agency/ops/requeue", {"job_id": "../x"}, form_url="/agency/ops")
    assert bad.status_code == 400
    # A job that is waiting, not failed, is left alone.
    with db.tenant_session(AGENCY_CHAIN_ID) as s:
        row = outbox.enqueue(s, "maintenance.selftest", queue="default")
    relay_once(spine.ctx)
    waiting = portal.post_form(
        "/agency/ops/requeue",
        {"job_id": str(row.id)},
        form_url="/agency/ops",
        follow_redirects=True,
    )
    assert "もう失敗状態ではありません" in waiting.get_data(as_text=True)
    with db.tenant_session(AGENCY_CHAIN_ID) as s:
        assert s.scalars(select(AuditEvent).where(AuditEvent.action == "job.requeued")).all() == []


def test_queue_figures_and_outbox_lag_are_shown(db, world, portal, spine):
    spine.run()
    with db.tenant_session(AGENCY_CHAIN_ID) as s:
        outbox.enqueue(s, "maintenance.selftest", queue="default")
    relay_once(spine.ctx)  # queued in Redis, no worker runs it yet
    with db.tenant_session(AGENCY_CHAIN_ID) as s:
        waiting = outbox.enqueue(s, "maintenance.selftest", queue="default")
    with db.platform_session() as s:  # the relay could not send this one, 10 minutes ago
        row = s.get(OutboxMessage, waiting.id)
        row.created_at = utcnow() - timedelta(minutes=10)
        row.relay_attempts, row.last_error = 3, "ConnectionError: Redis went away"
    portal.login(world.agency_admin)
    html = portal.get("/agency/ops").get_data(as_text=True)
    default = re.search(r'data-testid="queue-default">(.*?)</tr>', html, re.S).group(1)
    cells = re.findall(r"<td>(.*?)</td>", default)
    assert cells[1] == "1" and cells[2].endswith("秒")  # one waiting, for seconds
    assert re.search(r'data-testid="outbox-unsent">1<', html)
    assert re.search(r'data-testid="outbox-lag">10 分<', html)
    assert re.search(r'data-testid="outbox-relay-errors">1<', html)
    assert "Redis went away" in html


def test_the_operations_page_renders_without_redis(db, world, settings):
    app = create_app(replace(settings, redis_url=f"redis://127.0.0.1:{free_port()}/0"), db=db)
    portal = PortalClient(app, db)
    portal.login(world.agency_admin)
    page = portal.get("/agency/ops")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'data-testid="redis-down"' in html and 'data-testid="outbox-unsent"' in html


@pytest.mark.parametrize("who", ["operator_a", "shop_admin_a", "auditor", "shop_staff"])
def test_only_agency_admins_reach_the_operations_pages(db, world, portal, who):
    user = make_user(db, Role.shop_staff, world.shop_a) if who == "shop_staff" else None
    portal.login(user or getattr(world, who))
    for url in ("/agency/ops", "/agency/mails", "/agency/mails/20260101T000000000000-x.eml"):
        assert portal.get(url).status_code == 403, url
    requeue = portal.post_form(
        "/agency/ops/requeue", {"job_id": str(uuid.uuid4())}, form_url="/account"
    )
    assert requeue.status_code == 403


# -- the demo mailbox -------------------------------------------------------------------


@pytest.fixture
def demo_portal(db, settings, tmp_path):
    mail_dir = tmp_path / "mail"
    app = create_app(replace(settings, mail_dir=str(mail_dir)), db=db)
    return PortalClient(app, db), mail_dir


def test_demo_mails_are_listed_and_shown(db, world, spine, settings, demo_portal):
    portal, mail_dir = demo_portal
    spine.run()  # the world's welcome mails go to the SMTP server, not the directory
    runtime.use_context(
        Context(settings=replace(settings, mail_dir=str(mail_dir)), db=db, redis=spine.ctx.redis)
    )
    _queue_mail(db, world.shop_a, "demo@shops.example")
    spine.run()
    [written] = list(mail_dir.glob("*.eml"))

    portal.login(world.agency_admin)
    listing = portal.get("/agency/mails")
    html = listing.get_data(as_text=True)
    assert listing.status_code == 200
    assert html.count('data-testid="mail-row"') == 1
    assert "demo@shops.example" in html
    subject = re.search(r'href="/agency/mails/([^"]+)">([^<]+)</a>', html)
    assert subject.group(1) == written.name
    assert "=?utf-8?" not in subject.group(2)  # the subject is decoded

    shown = portal.get(f"/agency/mails/{written.name}")
    body = shown.get_data(as_text=True)
    assert shown.status_code == 200
    assert 'data-testid="mail-to">demo@shops.example<' in body
    assert subject.group(2) in body
    assert "/reset/" in body  # the text part, with its link


def test_the_mail_page_opens_only_files_it_lists(world, demo_portal):
    portal, mail_dir = demo_portal
    mail_dir.mkdir()
    secret = mail_dir.parent / "secret.eml"
    secret.write_bytes(b"Subject: not yours\r\n\r\nsecret")
    (mail_dir / "notes.txt").write_text("not a mail")
    portal.login(world.agency_admin)
    for name in ("../secret.eml", "..%2Fsecret.eml", "..", "notes.txt", "missing.eml"):
        response = portal.get(f"/agency/mails/{name}")
        assert response.status_code == 404, name
        assert "not yours" not in response.get_data(as_text=True)


def test_the_demo_mailbox_is_paginated_newest_first(world, demo_portal):
    portal, mail_dir = demo_portal
    settings = MailSettings()
    for n in range(23):
        write_mail_file(
            mail_dir, build_message(settings, f"m{n:02}@shops.example", f"No {n}", "x", None)
        )
    portal.login(world.agency_admin)
    first = portal.get("/agency/mails").get_data(as_text=True)
    second = portal.get("/agency/mails?page=2").get_data(as_text=True)
    assert first.count('data-testid="mail-row"') == 20
    assert second.count('data-testid="mail-row"') == 3
    assert "m22@shops.example" in first and "m00@shops.example" in second
    assert 'rel="next"' in first and 'rel="next"' not in second


def test_without_a_mail_directory_the_page_says_mails_go_by_smtp(world, portal, settings):
    portal.login(world.agency_admin)
    page = portal.get("/agency/mails")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'data-testid="mails-by-smtp"' in html and f":{settings.mail_port}" in html
    assert 'href="/agency/ops"' in html
    assert portal.get("/agency/mails/20260101T000000000000-x.eml").status_code == 404


# -- readiness --------------------------------------------------------------------------


def test_readyz_reports_the_outbox(db, world, client):
    body = client.get("/readyz").get_json()
    assert body["checks"]["outbox"] == "ok"
    assert set(body["outbox"]) == {"unsent", "lag_seconds"}


def test_readyz_reports_a_lagging_outbox_without_leaving_service(db, world, client):
    with db.tenant_session(world.shop_a.id) as s:
        row = outbox.enqueue(s, "maintenance.selftest", queue="default")
    with db.platform_session() as s:
        s.get(OutboxMessage, row.id).created_at = utcnow() - timedelta(minutes=6)
    response = client.get("/readyz")
    body = response.get_json()
    assert response.status_code == 200
    assert body["checks"]["outbox"].startswith("lagging:")
    assert body["checks"]["database"] == "ok" and body["checks"]["redis"] == "ok"
    assert body["outbox"]["unsent"] >= 1 and body["outbox"]["lag_seconds"] >= 360
