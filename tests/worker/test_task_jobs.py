"""Shop tasks run by the worker: verifying a shop's audit chain, with progress on the way."""

from __future__ import annotations

import uuid

import pytest
from rq.job import Job
from sqlalchemy import select, text

from urakata.platform import audit, tasks
from urakata.platform.audit import Actor, AuditEvent, PendingEvent
from urakata.platform.jobs import JobExecution
from urakata.platform.tasks import ShopTask
from urakata.platform.tenancy import NotFound
from urakata.worker import runtime, task_jobs
from urakata.worker.runtime import enqueue_spec

CLERK = Actor(type="user", id=str(uuid.uuid4()), label="検品 太郎")


def _start_verification(db, shop) -> ShopTask:
    with db.tenant_session(shop.id) as s:
        return tasks.start_task(
            s,
            kind=tasks.VERIFY_CHAIN,
            actor=CLERK,
            job=tasks.VERIFY_CHAIN_JOB,
            queue=tasks.VERIFY_CHAIN_QUEUE,
        )


def _task(db, shop, task_id) -> ShopTask:
    with db.tenant_session(shop.id) as s:
        return tasks.get_task(s, task_id)


def _head_seq(db, shop) -> int:
    with db.tenant_session(shop.id) as s:
        return s.execute(
            text("SELECT seq FROM chain_head WHERE tenant_id = :c"), {"c": shop.id}
        ).scalar_one()


def _last_event(db, shop) -> AuditEvent:
    with db.tenant_session(shop.id) as s:
        return s.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()


@pytest.fixture
def quiet_spine(spine):
    """The spine with the world's own jobs (welcome mails) already done."""
    spine.run()
    return spine


def _shipments(db, shop, count: int) -> None:
    with db.tenant_session(shop.id) as s:
        audit.record_many(
            s,
            CLERK,
            [
                PendingEvent("order.shipped", "order", f"o-{n}", data={"parcels": n % 3 + 1})
                for n in range(count)
            ],
        )


def test_a_sound_chain_is_verified_and_the_verdict_recorded_on_it(db, world, quiet_spine):
    task = _start_verification(db, world.shop_a)
    expected = _head_seq(db, world.shop_a)  # the start itself is on the chain already
    assert _task(db, world.shop_a, task.id).status == "queued"

    quiet_spine.run()

    done = _task(db, world.shop_a, task.id)
    assert done.status == "done" and done.finished_at and done.started_at
    assert done.result == {
        "ok": True,
        "count": expected,
        "last_seq": expected,
        "bad_seq": None,
        "reason": "",
    }
    assert (done.progress_done, done.progress_total) == (expected, expected)
    event = _last_event(db, world.shop_a)
    assert (event.action, event.object_id, event.actor_type) == (
        "audit.verified",
        str(task.id),
        "job",
    )
    assert event.payload["data"]["ok"] is True and event.payload["data"]["count"] == expected
    assert _last_event(db, world.shop_b).action != "audit.verified"


def test_progress_is_reported_every_thousand_events(db, world, quiet_spine, monkeypatch):
    _shipments(db, world.shop_a, 2_500)
    task = _start_verification(db, world.shop_a)
    total = _head_seq(db, world.shop_a)
    reports = []
    real = tasks.report_progress

    def spy(session, task_id, *, done, total=None, message=None):
        reports.append((done, total))
        # Each report is committed on its own, before the job's main transaction ends.
        assert session is not None and session.tenant_id == world.shop_a.id
        real(session, task_id, done=done, total=total, message=message)

    monkeypatch.setattr(task_jobs.tasks, "report_progress", spy)
    quiet_spine.run()

    assert reports[0] == (0, total)
    assert [done for done, _ in reports[1:]] == [1_000, 2_000, total]
    finished = _task(db, world.shop_a, task.id)
    assert finished.status == "done" and finished.result["count"] == total > 2_500
    assert (finished.progress_done, finished.progress_total) == (total, total)
    meta = Job.fetch(str(finished.outbox_id), connection=quiet_spine.ctx.redis).get_meta()
    assert meta["progress"] == {
        "task_id": str(task.id),
        "status": "done",
        "done": total,
        "total": total,
    }


def _forge(db, shop, *, move_head: bool) -> int:
    """Append an event whose hash is wrong, as a forger with the app role's rights could."""
    with db.tenant_session(shop.id) as s:
        head = s.execute(
            text("SELECT seq, hash FROM chain_head WHERE tenant_id = :c"), {"c": shop.id}
        ).one()
        seq = head.seq + 1
        s.execute(
            text(
                "INSERT INTO audit_event (tenant_id, seq, occurred_at, actor_type, actor_id,"
                " action, object_type, object_id, body, prev_hash, hash) VALUES (:c, :seq,"
                " now(), 'user', 'x', 'order.cancelled', 'order', 'o-1', '{}', :prev, :bad)"
            ),
            {"c": shop.id, "seq": seq, "prev": bytes(head.hash), "bad": bytes(32)},
        )
        if move_head:
            s.execute(
                text("UPDATE chain_head SET seq = :seq, hash = :bad WHERE tenant_id = :c"),
                {"c": shop.id, "seq": seq, "bad": bytes(32)},
            )
    return seq


def test_a_forged_event_is_named_by_its_seq(db, world, quiet_spine):
    _shipments(db, world.shop_a, 5)
    forged = _forge(db, world.shop_a, move_head=True)
    task = _start_verification(db, world.shop_a)
    quiet_spine.run()
    result = _task(db, world.shop_a, task.id).result
    assert (result["ok"], result["bad_seq"], result["count"]) == (False, forged, forged - 1)
    assert "hash does not match" in result["reason"]
    assert _last_event(db, world.shop_a).payload["data"]["bad_seq"] == forged


def test_events_beyond_the_chain_head_are_reported(db, world):
    _shipments(db, world.shop_a, 3)
    forged = _forge(db, world.shop_a, move_head=False)
    with db.tenant_session(world.shop_a.id) as s:
        verdict = task_jobs.verify_chain_with_progress(s, world.shop_a.id, lambda *a: None)
    assert (verdict.ok, verdict.bad_seq) == (False, forged)
    assert "chain head says" in verdict.reason


def test_the_same_verification_delivered_twice_has_one_effect(db, world, quiet_spine):
    task = _start_verification(db, world.shop_a)
    spec = runtime.REGISTRY[tasks.VERIFY_CHAIN_JOB]
    for n in range(2):
        enqueue_spec(
            quiet_spine.ctx.redis,
            spec,
            job_id=f"{task.outbox_id}-{n}",
            shop_id=world.shop_a.id,
            key=f"outbox:{task.outbox_id}",
            outbox_id=task.outbox_id,
            args={"task_id": str(task.id)},
        )
    quiet_spine.run()  # also relays the outbox row itself: a third delivery
    with db.tenant_session(world.shop_a.id) as s:
        verified = s.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "audit.verified", AuditEvent.object_id == str(task.id)
            )
        ).all()
    assert len(verified) == 1
    with db.platform_session() as s:
        keys = s.scalars(
            select(JobExecution).where(JobExecution.key == f"outbox:{task.outbox_id}")
        ).all()
    assert len(keys) == 1


def test_a_job_that_gives_up_marks_its_task_failed(db, world, spine, monkeypatch):
    task = _start_verification(db, world.shop_a)

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(task_jobs, "verify_chain_with_progress", broken)
    with pytest.raises(RuntimeError):
        # Outside RQ there is no retry left: this attempt is the last one.
        runtime.run(
            tasks.VERIFY_CHAIN_JOB,
            str(world.shop_a.id),
            f"outbox:{task.outbox_id}",
            str(task.outbox_id),
            {"task_id": str(task.id)},
        )
    failed = _task(db, world.shop_a, task.id)
    assert (failed.status, failed.message) == ("failed", "RuntimeError")
    assert failed.finished_at is not None and failed.result is None


def test_an_export_with_filters_that_gives_up_marks_its_task_failed(db, world, spine, monkeypatch):
    """Export jobs carry their filters as arguments; the failure handler takes them too."""
    from urakata.worker import order_jobs

    with db.tenant_session(world.shop_a.id) as s:
        task = tasks.start_task(
            s,
            kind="orders.export",
            actor=CLERK,
            job=order_jobs.EXPORT_JOB,
            queue=order_jobs.EXPORT_QUEUE,
            encoding="cp932",
            status="on_hold",
            query="",
        )

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(order_jobs, "list_orders", broken)
    with pytest.raises(RuntimeError):
        runtime.run(
            order_jobs.EXPORT_JOB,
            str(world.shop_a.id),
            f"outbox:{task.outbox_id}",
            str(task.outbox_id),
            {"task_id": str(task.id), "encoding": "cp932", "status": "on_hold", "query": ""},
        )
    failed = _task(db, world.shop_a, task.id)
    assert (failed.status, failed.message) == ("failed", "RuntimeError")


def test_a_failed_attempt_with_retries_left_puts_the_task_back_in_the_queue(db, world, spine):
    task = _start_verification(db, world.shop_a)
    with db.tenant_session(world.shop_a.id) as s:
        tasks.report_progress(s, task.id, done=500, total=900)
    with db.tenant_session(world.shop_a.id) as s:
        task_jobs.task_failed(s, spine.ctx, TimeoutError(), False, task_id=str(task.id))
    again = _task(db, world.shop_a, task.id)
    assert (again.status, again.progress_done, again.message) == ("queued", 0, "TimeoutError")


def test_another_shop_cannot_find_the_task(db, world):
    task = _start_verification(db, world.shop_a)
    with db.tenant_session(world.shop_b.id) as s:
        with pytest.raises(NotFound):
            tasks.get_task(s, task.id)
        with pytest.raises(NotFound):
            tasks.report_progress(s, task.id, done=1)
        assert tasks.list_tasks(s) == []
    with db.tenant_session(world.shop_a.id) as s:
        assert [t.id for t in tasks.list_tasks(s)] == [task.id]
        with pytest.raises(NotFound):
            tasks.get_task(s, "not-a-uuid")
