"""Ledger exports as a job with progress: one chain, a date range, ending at its own
checkpoint, accepted by the standalone verifier; never another shop's events."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

import urakata_verify
from urakata.platform import audit, exports, tasks
from urakata.platform.audit import AGENCY_CHAIN_ID, Actor, AuditEvent, PendingEvent
from urakata.platform.db import utcnow
from urakata.platform.tenancy import NotFound

AUDITOR = Actor(type="user", id=str(uuid.uuid4()), label="監査 一郎")


def _events(db, shop, count: int, prefix: str = "o") -> None:
    with db.tenant_session(shop.id) as s:
        audit.record_many(
            s,
            AUDITOR,
            [PendingEvent("order.shipped", "order", f"{prefix}-{n}") for n in range(count)],
        )


def _export(db, chain, start=None, end=None):
    with db.tenant_session(chain) as s:
        return exports.start_export(s, AUDITOR, start=start, end=end)


def _task(db, chain, task_id):
    with db.tenant_session(chain) as s:
        return tasks.get_task(s, task_id)


def _file(settings, chain, task_id) -> Path:
    return exports.export_path(settings.files_dir, chain, task_id)


@pytest.fixture
def quiet_spine(spine):
    spine.run()
    return spine


def test_a_shop_export_is_a_job_with_progress_and_the_verifier_accepts_it(
    db, world, quiet_spine, settings, signer
):
    _events(db, world.shop_a, 1_200)
    _events(db, world.shop_b, 30, prefix="b")
    task = _export(db, world.shop_a.id)
    quiet_spine.run()

    done = _task(db, world.shop_a.id, task.id)
    assert done.status == "done", done.message
    total = done.result["events"]
    assert total >= 1_200 and (done.progress_done, done.progress_total) == (total, total)
    path = _file(settings, world.shop_a.id, task.id)
    data = path.read_bytes()
    assert done.result["bytes"] == len(data)
    result = urakata_verify.verify_export(str(path), {signer.key_id: signer.public_raw})
    assert result.ok, str(result)
    assert (result.events, result.first_seq, result.last_seq) == (total, 1, total)
    assert str(world.shop_b.id).encode() not in data and b'"b-' not in data
    final = [line for line in data.splitlines() if line.startswith(b'{"type":"checkpoint"')][-1]
    assert json.loads(final)["purpose"] == "export" and json.loads(final)["seq"] == total

    with db.tenant_session(world.shop_a.id) as s:
        actions = list(s.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))
    assert "audit.export.requested" in actions and actions[-1] == "audit.exported"


def test_another_shops_export_task_is_not_found(db, world, quiet_spine):
    task = _export(db, world.shop_a.id)
    with pytest.raises(NotFound):
        _task(db, world.shop_b.id, task.id)


def test_a_date_range_exports_the_events_recorded_in_it(db, world, quiet_spine, settings, signer):
    _events(db, world.shop_a, 5)
    middle = utcnow()
    _events(db, world.shop_a, 7, prefix="late")
    with db.tenant_session(world.shop_a.id) as s:
        first_late = s.scalar(select(AuditEvent.seq).where(AuditEvent.object_id == "late-0"))
    task = _export(db, world.shop_a.id, start=middle, end=middle + timedelta(hours=1))
    quiet_spine.run()
    done = _task(db, world.shop_a.id, task.id)
    assert done.result["first_seq"] == first_late
    result = urakata_verify.verify_export(
        str(_file(settings, world.shop_a.id, task.id)), {signer.key_id: signer.public_raw}
    )
    assert result.ok and result.first_seq == first_late, str(result)
    # The range ends before the export's own request event.
    assert result.last_seq == done.result["last_seq"] >= first_late + 6


def test_an_empty_range_still_ends_at_a_signed_checkpoint(db, world, quiet_spine, settings):
    future = utcnow() + timedelta(days=1)
    task = _export(db, world.shop_a.id, start=future, end=future + timedelta(days=1))
    quiet_spine.run()
    done = _task(db, world.shop_a.id, task.id)
    assert done.result["events"] == 0
    result = urakata_verify.verify_export(str(_file(settings, world.shop_a.id, task.id)))
    assert result.ok and result.events == 0, str(result)


def test_the_agency_chain_is_exported_too(db, world, quiet_spine, settings, signer):
    with db.tenant_session(AGENCY_CHAIN_ID) as s:
        audit.record(s, AUDITOR, "agency.setting.changed", object_type="agency")
    task = _export(db, AGENCY_CHAIN_ID)
    quiet_spine.run()
    done = _task(db, AGENCY_CHAIN_ID, task.id)
    assert done.status == "done" and done.result["label"] == "agency"
    result = urakata_verify.verify_export(str(_file(settings, AGENCY_CHAIN_ID, task.id)))
    assert result.ok and result.chain == str(AGENCY_CHAIN_ID), str(result)
    data = _file(settings, AGENCY_CHAIN_ID, task.id).read_bytes()
    assert str(world.shop_a.id).encode() not in data.split(b"\n", 1)[0]


def test_an_export_without_a_signing_key_fails_the_task(db, world, spine, monkeypatch):
    import dataclasses

    from urakata.worker.runtime import Context, use_context

    bare = dataclasses.replace(spine.ctx.settings, ledger_signing_key=None)
    ctx = Context(settings=bare, db=spine.ctx.db, redis=spine.ctx.redis)
    use_context(ctx)
    spine.ctx = ctx
    task = _export(db, world.shop_a.id)
    spine.run()
    failed = _task(db, world.shop_a.id, task.id)
    assert failed.status in ("queued", "failed") and failed.message == "ConfigError"
