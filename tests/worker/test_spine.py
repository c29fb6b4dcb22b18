"""The outbox, the relay, tenant jobs and the mail job, run for real against RQ and SMTP."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest
from redis import Redis
from rq import Queue
from sqlalchemy import select

from urakata.platform import audit, outbox
from urakata.platform.audit import Actor, AuditEvent
from urakata.platform.devservers import free_port
from urakata.platform.identity import UserAccount
from urakata.platform.jobs import JobExecution
from urakata.platform.mail import MailError, MailMessage, queue_mail
from urakata.platform.outbox import OutboxArgumentError, OutboxMessage
from urakata.worker import runtime
from urakata.worker.relay import reconcile, relay_once
from urakata.worker.runtime import Context, enqueue_spec

SYSTEM = Actor.system("test")


def world_admin_email(shop) -> str:
    return f"admin@{shop.slug}.example"


def _queue_mail(db, shop, to="buyer@shops.example"):
    with db.tenant_session(shop.id) as s:
        user = s.scalar(select(UserAccount).where(UserAccount.email == world_admin_email(shop)))
        message = queue_mail(
            s,
            kind="password_reset",
            to=to,
            locale="ja",
            params={"user_id": str(user.id), "token_id": str(uuid.uuid4()), "shop_name": ""},
        )
        row = s.scalar(
            select(OutboxMessage).where(OutboxMessage.args["mail_id"].astext == str(message.id))
        )
    return message, row


def _mail(db, shop, mail_id):
    with db.tenant_session(shop.id) as s:
        return s.scalar(select(MailMessage).where(MailMessage.id == mail_id))


def test_nothing_is_requested_when_the_transaction_rolls_back(db, world):
    marker = str(uuid.uuid4())
    with pytest.raises(RuntimeError), db.tenant_session(world.shop_a.id) as s:
        outbox.enqueue(s, "mail.send", queue="mail", shop_id=world.shop_a.id, mail_id=marker)
        raise RuntimeError("the change failed")
    with db.platform_session() as s:
        rows = s.scalars(
            select(OutboxMessage).where(OutboxMessage.args["mail_id"].astext == marker)
        )
        assert rows.all() == []


def test_outbox_arguments_must_be_ids(db, world):
    with pytest.raises(OutboxArgumentError), db.tenant_session(world.shop_a.id) as s:
        outbox.enqueue(s, "mail.send", queue="mail", shop_id=world.shop_a.id, mail=object())


def test_a_queued_mail_is_sent_by_the_worker_and_recorded_on_the_shops_chain(
    db, world, spine, mailbox
):
    message, row = _queue_mail(db, world.shop_a)
    spine.run()
    sent = _mail(db, world.shop_a, message.id)
    assert sent.status == "sent" and sent.message_id
    assert [m["To"] for m in mailbox].count("buyer@shops.example") == 1
    with db.platform_session() as s:
        done = s.get(OutboxMessage, row.id)
        assert done.sent_at and done.done_at
    with db.tenant_session(world.shop_a.id) as s:
        event = s.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert (event.action, event.object_id, event.actor_type) == (
        "mail.sent",
        str(message.id),
        "job",
    )
    assert b"buyer@shops.example" not in event.body
    with db.tenant_session(world.shop_b.id) as s:
        assert s.scalar(select(MailMessage).where(MailMessage.id == message.id)) is None


def test_the_same_job_delivered_three_times_has_one_effect(db, world, spine, mailbox):
    message, row = _queue_mail(db, world.shop_a, to="thrice@shops.example")
    spec = runtime.REGISTRY["mail.send"]
    for n in range(3):
        enqueue_spec(
            spine.ctx.redis,
            spec,
            job_id=f"{row.id}-{n}",
            shop_id=world.shop_a.id,
            key=f"outbox:{row.id}",
            outbox_id=row.id,
            args=row.args,
        )
    spine.run()  # also relays the row itself: a fourth delivery
    assert [m["To"] for m in mailbox].count("thrice@shops.example") == 1
    with db.platform_session() as s:
        keys = s.scalars(select(JobExecution).where(JobExecution.key == f"outbox:{row.id}")).all()
    assert len(keys) == 1


def test_relaying_twice_enqueues_once(db, world, spine):
    _message, row = _queue_mail(db, world.shop_a)
    assert relay_once(spine.ctx) >= 1
    with db.platform_session() as s:
        s.get(OutboxMessage, row.id).sent_at = None  # as if the relay crashed before marking
    relay_once(spine.ctx)  # the duplicate job id is refused by RQ, the row is marked sent
    assert Queue("mail", connection=spine.ctx.redis).get_job_ids().count(str(row.id)) == 1
    with db.platform_session() as s:
        assert s.get(OutboxMessage, row.id).sent_at is not None


def test_an_unknown_job_waits_with_its_error(db, world, spine):
    with db.tenant_session(world.shop_a.id) as s:
        row = outbox.enqueue(s, "no.such.job", queue="default", shop_id=world.shop_a.id)
    relay_once(spine.ctx)
    with db.platform_session() as s:
        kept = s.get(OutboxMessage, row.id)
    assert kept.sent_at is None and "no job named" in kept.last_error


def test_redis_down_keeps_rows_waiting_and_they_go_out_later(db, world, spine, settings):
    _message, row = _queue_mail(db, world.shop_a)
    down = Context(
        settings=settings, db=db, redis=Redis.from_url(f"redis://127.0.0.1:{free_port()}/0")
    )
    assert relay_once(down) == 0
    with db.platform_session() as s:
        assert s.get(OutboxMessage, row.id).sent_at is None
        noted = s.scalars(select(OutboxMessage).where(OutboxMessage.relay_attempts > 0)).all()
        assert noted and all("ConnectionError" in r.last_error for r in noted)
    assert relay_once(spine.ctx) >= 1
    with db.platform_session() as s:
        assert s.get(OutboxMessage, row.id).sent_at is not None


def test_the_reconciler_re_enqueues_a_job_that_vanished(db, world, spine):
    from datetime import timedelta

    _message, row = _queue_mail(db, world.shop_a)
    relay_once(spine.ctx)
    spine.ctx.redis.flushdb()  # Redis lost the job
    assert reconcile(spine.ctx, older_than=timedelta(0)) >= 1
    assert str(row.id) in Queue("mail", connection=spine.ctx.redis).get_job_ids()


def test_a_refused_mail_is_retried_then_visible_as_failed(db, world, spine, settings):
    from tests.smtp import LocalSmtpServer

    refusing = LocalSmtpServer(refuse=True).start()
    try:
        message, row = _queue_mail(db, world.shop_a, to="refused@shops.example")
        ctx = Context(
            settings=replace(settings, mail_port=refusing.port), db=db, redis=spine.ctx.redis
        )
        runtime.use_context(ctx)
        with pytest.raises(MailError):
            # Outside RQ there is no retry left: this attempt is the last one.
            runtime.run(
                "mail.send", str(world.shop_a.id), f"outbox:{row.id}", str(row.id), row.args
            )
    finally:
        refusing.stop()
    failed = _mail(db, world.shop_a, message.id)
    assert (failed.status, failed.attempts) == ("failed", 1)
    assert "550" in failed.last_error
    with db.platform_session() as s:
        assert s.get(OutboxMessage, row.id).failed_at is not None
    with db.tenant_session(world.shop_a.id) as s:
        event = s.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert event.action == "mail.failed"


def test_demo_mode_writes_mails_to_a_directory(db, world, spine, settings, tmp_path):
    message, _row = _queue_mail(db, world.shop_a, to="demo@shops.example")
    runtime.use_context(
        Context(settings=replace(settings, mail_dir=str(tmp_path)), db=db, redis=spine.ctx.redis)
    )
    relay_once(spine.ctx)
    from rq import SimpleWorker

    SimpleWorker(["mail"], connection=spine.ctx.redis).work(burst=True, with_scheduler=False)
    files = list(tmp_path.glob("*.eml"))
    assert any(b"demo@shops.example" in f.read_bytes() for f in files)


def test_audit_actor_of_a_job_is_the_job(db, world):
    with db.tenant_session(world.shop_a.id) as s:
        rec = audit.record(s, Actor.job("mail.send", "j-1"), "x", object_type="y")
        event = s.scalar(select(AuditEvent).where(AuditEvent.seq == rec.seq))
    assert event.payload["actor"] == {"type": "job", "id": "j-1", "label": "mail.send"}


def test_the_selftest_probe_goes_through_the_whole_spine(db, spine):
    from urakata.platform.audit import AGENCY_CHAIN_ID

    with db.tenant_session(AGENCY_CHAIN_ID) as s:
        row = outbox.enqueue(s, "maintenance.selftest", queue="default")
    spine.run()
    with db.platform_session() as s:
        assert s.get(OutboxMessage, row.id).done_at is not None
    with db.tenant_session(AGENCY_CHAIN_ID) as s:
        event = s.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert event.action == "spine.selftest"
