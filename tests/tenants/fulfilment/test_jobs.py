"""Fulfilment jobs run by RQ: the sweep asks for instructions, waves by rules as a task,
the pick list PDF rendered once per wave (a second run renders nothing); the PDF is
real (Japanese text, pick-path order, lots) and opens in poppler."""

from __future__ import annotations

import subprocess

import pytest
from sqlalchemy import func, select

from tests.tenants.fulfilment.conftest import (
    OPERATOR,
    allocated,
    instructed,
    line,
    order_status,
    put_away,
    soon,
    waved,
)
from tests.tenants.stock.conftest import PICK_1, PICK_2, RESERVE_1
from urakata.platform import tasks
from urakata.platform.audit import AuditEvent
from urakata.tenants.fulfilment import jobs as names
from urakata.tenants.fulfilment import picklist
from urakata.tenants.fulfilment.models import PickList, Wave
from urakata.tenants.fulfilment.waves import WaveRules
from urakata.worker.runtime import run


def _stock(db, shop):
    put_away(
        db,
        shop,
        line("CUP-1", 50, PICK_2),
        line("POT-1", 20, PICK_1),
        line("TEA-100", 20, RESERVE_1, "L-2026", soon(120)),
    )


def test_the_sweep_asks_for_instructions_and_the_run_instructs(db, shop_a, shop_b, spine):
    _stock(db, shop_a)
    spine.run()
    order_id = allocated(db, shop_a, ("CUP-1", 1))
    assert run(names.SWEEP_JOB, None, None, None, {}) == 1
    assert run(names.SWEEP_JOB, None, None, None, {}) == 0  # one run is waiting
    spine.run()
    assert order_status(db, shop_a, order_id) == "instructed"


def test_waves_by_rules_run_as_a_task_once(db, shop_a, spine):
    _stock(db, shop_a)
    for _ in range(3):
        instructed(db, shop_a, ("CUP-1", 1))
    spine.run()
    with db.tenant_session(shop_a.id) as s:
        task = names.start_build_waves(s, actor=OPERATOR, rules=WaveRules(max_shipments=2))
        task_id = task.id
    spine.run()
    with db.tenant_session(shop_a.id) as s:
        done = tasks.get_task(s, task_id)
        assert done.status == "done" and done.result["shipments"] == 3
        assert s.scalar(select(func.count()).select_from(Wave)) == 2
    # the same job delivered again: the waves of its key, nothing new
    with db.tenant_session(shop_a.id) as s:
        again = run(
            names.BUILD_WAVES_JOB,
            str(shop_a.id),
            None,
            None,
            {"task_id": str(task_id), **WaveRules(max_shipments=2).as_json()},
        )
        assert again["shipments"] == 3
        assert s.scalar(select(func.count()).select_from(Wave)) == 2


def test_the_pick_list_is_rendered_once_in_pick_path_order(db, shop_a, spine, tmp_path):
    _stock(db, shop_a)
    ids = [instructed(db, shop_a, ("CUP-1", 2), ("POT-1", 1))[0] for _ in range(2)]
    ids += instructed(db, shop_a, ("TEA-100", 1))
    wave_id = waved(db, shop_a, ids)
    spine.run()
    with db.tenant_session(shop_a.id) as s:
        task = names.start_pick_list(s, actor=OPERATOR, wave_id=wave_id)
        twice = names.start_pick_list(s, actor=OPERATOR, wave_id=wave_id)  # a double click
        assert twice.id == task.id
        task_id = task.id
    spine.run()
    with db.tenant_session(shop_a.id) as s:
        done = tasks.get_task(s, task_id)
        assert (done.status, done.percent) == ("done", 100)
        made = picklist.get_pick_list(s, wave_id)
        assert made.pdf.startswith(b"%PDF") and made.pages >= 2
        first = (made.id, made.sha256)
    path = tmp_path / "pick.pdf"
    path.write_bytes(made.pdf)
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "ピッキングリスト" in text and "仕分けリスト" in text
    assert text.index(PICK_1) < text.index(PICK_2) < text.index(RESERVE_1)  # the pick path
    assert "L-2026" in text and soon(120) in text
    # the job delivered again renders nothing and stores no second pick list
    run(
        names.PICK_LIST_JOB,
        str(shop_a.id),
        None,
        None,
        {"task_id": str(task_id), "wave_id": wave_id},
    )
    with db.tenant_session(shop_a.id) as s:
        assert s.scalar(select(func.count()).select_from(PickList)) == 1
        again = picklist.get_pick_list(s, wave_id)
        assert (again.id, again.sha256) == first
        rendered = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "wave.pick_list_rendered")
        ).all()
        assert len(rendered) == 1


def test_another_shop_cannot_start_a_pick_list_of_this_wave(db, shop_a, shop_b):
    _stock(db, shop_a)
    wave_id = waved(db, shop_a, instructed(db, shop_a, ("CUP-1", 1)))
    from urakata.platform.tenancy import NotFound

    with db.tenant_session(shop_b.id) as s:
        with pytest.raises(NotFound):
            names.start_pick_list(s, actor=OPERATOR, wave_id=wave_id)
        assert picklist.get_pick_list(s, wave_id) is None


def test_a_shop_name_cannot_break_out_of_the_page_header():
    assert str(picklist.css_string('a"b</style>')) == "a\\22 b\\3c /style\\3e "


def test_the_run_withdraws_cancelled_orders_from_their_waves(db, shop_a, spine):
    from urakata.tenants.fulfilment.models import Shipment
    from urakata.tenants.orders import services as orders

    _stock(db, shop_a)
    (sid,) = instructed(db, shop_a, ("CUP-1", 1))
    waved(db, shop_a, [sid])
    spine.run()
    with db.tenant_session(shop_a.id) as s:
        order_id = s.get(Shipment, (shop_a.id, sid)).order_id
        orders.cancel(s, actor=OPERATOR, order_id=order_id, version=None, reason="取消")
    assert run(names.SWEEP_JOB, None, None, None, {}) == 1
    spine.run()
    with db.tenant_session(shop_a.id) as s:
        assert s.get(Shipment, (shop_a.id, sid)).status == "cancelled"
    assert run(names.SWEEP_JOB, None, None, None, {}) == 0
