"""The names of fulfilment's jobs and tasks (shared by the worker and the portal), and the
requests for them (after commit, through the outbox)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from urakata.platform import tasks
from urakata.platform.audit import Actor
from urakata.platform.db import UrakataSession
from urakata.platform.tasks import ShopTask
from urakata.tenants.fulfilment.errors import FulfilmentInvalid
from urakata.tenants.fulfilment.models import Wave
from urakata.tenants.fulfilment.waves import WaveRules, get_wave
from urakata.tenants.stock.ledger import request_job

INSTRUCT_JOB = "fulfilment.instruct_allocated"
SWEEP_JOB = "fulfilment.sweep"
BUILD_WAVES_JOB = "fulfilment.build_waves"
PICK_LIST_JOB = "fulfilment.render_pick_list"
BUILD_WAVES_KIND = "fulfilment.build_waves"
PICK_LIST_KIND = "fulfilment.pick_list"
QUEUE = "fulfilment"
PDF_QUEUE = "pdf"


def request_instructions(session: UrakataSession) -> bool:
    """Ask for the bound shop's allocated orders to be instructed (and cancelled orders'
    shipments withdrawn)."""
    return request_job(session, INSTRUCT_JOB, session.tenant_id)


def rules_args(rules: WaveRules) -> dict:
    return rules.as_json()


def rules_from(args: dict) -> WaveRules:
    until = args.get("ship_by_until")
    return WaveRules(
        carrier=args.get("carrier"),
        cool_type=args.get("cool_type"),
        ship_by_until=date.fromisoformat(until) if until else None,
        separate_single=bool(args.get("separate_single", True)),
        max_shipments=int(args.get("max_shipments", 100)),
        max_units=int(args.get("max_units", 400)),
    )


def start_build_waves(session: UrakataSession, *, actor: Actor, rules: WaveRules) -> ShopTask:
    """A task that builds waves by ``rules`` (refused at once when the rules are bad)."""
    errors = rules.problems()
    if errors:
        raise FulfilmentInvalid(errors)
    return tasks.start_task(
        session,
        kind=BUILD_WAVES_KIND,
        actor=actor,
        job=BUILD_WAVES_JOB,
        queue=QUEUE,
        **rules_args(rules),
    )


def start_pick_list(session: UrakataSession, *, actor: Actor, wave_id: int) -> ShopTask:
    """The wave's pick-list task: the one already queued, running or done, else a new one
    (a double click, or a second operator, gets the same task)."""
    get_wave(session, wave_id)  # NotFound for another shop's wave
    wave = session.scalars(
        select(Wave)
        .where(Wave.id == wave_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    if wave.pick_list_task_id is not None:
        task = tasks.get_task(session, wave.pick_list_task_id)
        if task.status != tasks.TaskStatus.failed.value:
            return task
    task = tasks.start_task(
        session,
        kind=PICK_LIST_KIND,
        actor=actor,
        job=PICK_LIST_JOB,
        queue=PDF_QUEUE,
        wave_id=wave.id,
    )
    wave.pick_list_task_id = task.id
    session.flush()
    return task
