"""Waves: a shop's open shipments grouped for picking, by rules or by hand.

Rules group shipments of the same carrier, cool type and ship-by day, single-item
parcels apart from multi-item ones (single-item waves pick in bulk and need no sorting),
and cut each group into waves under the caps. A wave belongs to one shop. Making waves
takes the shop's wave lock (a transaction-level advisory lock), so two submissions of
the same form, or a job run twice, find the first one's wave by its request key instead
of making a second; a shipment joins a wave only by a conditional UPDATE (``WHERE
wave_id IS NULL``), so it can never be in two.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date

from sqlalchemy import func, select, text, update

from urakata.platform import audit
from urakata.platform.audit import Actor
from urakata.platform.db import UrakataSession, utcnow
from urakata.platform.fields import N_
from urakata.platform.tenancy import get_scoped
from urakata.tenants.fulfilment.errors import FulfilmentInvalid
from urakata.tenants.fulfilment.models import (
    CARRIERS,
    COOL_TYPES,
    Shipment,
    Wave,
)

MAX_SHIPMENTS_CAP = 2_000
MAX_UNITS_CAP = 20_000
HAND_PICK_MAX = 500  # shipments chosen by hand at once
KEY_MAX = 100


@dataclass(frozen=True)
class WaveRules:
    """Which open shipments to wave and how to cut them."""

    carrier: str | None = None
    cool_type: str | None = None
    ship_by_until: date | None = None  # only shipments due on or before this day
    separate_single: bool = True  # single-item parcels in waves of their own
    max_shipments: int = 100
    max_units: int = 400

    def problems(self) -> dict[str, list]:
        errors: dict[str, list] = {}
        if self.carrier is not None and self.carrier not in CARRIERS:
            errors["carrier"] = [N_("Choose one of: %(choices)s.", choices=", ".join(CARRIERS))]
        if self.cool_type is not None and self.cool_type not in COOL_TYPES:
            errors["cool_type"] = [N_("Choose one of: %(choices)s.", choices=", ".join(COOL_TYPES))]
        if not 1 <= self.max_shipments <= MAX_SHIPMENTS_CAP:
            errors["max_shipments"] = [
                N_("Enter a whole number from 1 to %(limit)s.", limit=MAX_SHIPMENTS_CAP)
            ]
        if not 1 <= self.max_units <= MAX_UNITS_CAP:
            errors["max_units"] = [
                N_("Enter a whole number from 1 to %(limit)s.", limit=MAX_UNITS_CAP)
            ]
        return errors

    def as_json(self) -> dict:
        data = asdict(self)
        data["ship_by_until"] = self.ship_by_until.isoformat() if self.ship_by_until else None
        return data


@dataclass(frozen=True)
class ShipmentFilter:
    carrier: str | None = None
    cool_type: str | None = None
    ship_by_until: date | None = None
    single: bool | None = None  # True single-item, False multi-item, None both


def _lock_waves(session: UrakataSession) -> None:
    session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended('urakata.wave:' || :shop, 0))"),
        {"shop": str(session.tenant_id)},
    )


def _open(stmt, f: ShipmentFilter):
    stmt = stmt.where(Shipment.status == "instructed", Shipment.wave_id.is_(None))
    if f.carrier:
        stmt = stmt.where(Shipment.carrier == f.carrier)
    if f.cool_type:
        stmt = stmt.where(Shipment.cool_type == f.cool_type)
    if f.ship_by_until:
        stmt = stmt.where(Shipment.ship_by_date <= f.ship_by_until)
    if f.single is not None:
        stmt = stmt.where((Shipment.unit_count == 1) if f.single else (Shipment.unit_count > 1))
    return stmt


def open_shipments(
    session: UrakataSession, f: ShipmentFilter, *, after_id: int | None = None, limit: int = 100
) -> list[Shipment]:
    """Shipments waiting for a wave, by id (keyset pages after ``after_id``)."""
    stmt = _open(select(Shipment), f).order_by(Shipment.id).limit(limit)
    if after_id is not None:
        stmt = stmt.where(Shipment.id > after_id)
    return list(session.scalars(stmt))


def count_open(session: UrakataSession, f: ShipmentFilter) -> int:
    return session.scalar(_open(select(func.count()).select_from(Shipment), f)) or 0


def _kind(shipments: list) -> str:
    singles = {s.unit_count == 1 for s in shipments}
    if singles == {True}:
        return "single"
    return "multi" if singles == {False} else "mixed"


def _same(values: set):
    return next(iter(values)) if len(values) == 1 else None


def _make_wave(
    session: UrakataSession,
    actor: Actor,
    shipments: list[Shipment],
    *,
    origin: str,
    key: str,
    rule: dict,
) -> Wave | None:
    """A wave of the shipments still open among ``shipments`` (None if none is)."""
    number = (session.scalar(select(func.max(Wave.number))) or 0) + 1
    now = utcnow()
    wave = Wave(
        tenant_id=session.tenant_id,
        number=number,
        status="open",
        kind=_kind(shipments),
        origin=origin,
        carrier=_same({s.carrier for s in shipments}),
        cool_type=_same({s.cool_type for s in shipments}),
        ship_by_date=min((s.ship_by_date for s in shipments if s.ship_by_date), default=None),
        rule=rule,
        request_key=key,
        created_by=actor.label[:200],
        created_at=now,
        updated_at=now,
    )
    session.add(wave)
    session.flush()
    rows = session.execute(
        update(Shipment)
        .where(
            Shipment.id.in_([s.id for s in shipments]),
            Shipment.status == "instructed",
            Shipment.wave_id.is_(None),
        )
        .values(wave_id=wave.id, status="waved", version=Shipment.version + 1, updated_at=now)
        .returning(Shipment.id, Shipment.unit_count)
        .execution_options(synchronize_session=False)
    ).all()
    if not rows:
        session.delete(wave)
        session.flush()
        return None
    for shipment in shipments:
        session.expire(shipment)
    wave.shipment_count = len(rows)
    wave.unit_count = sum(r.unit_count for r in rows)
    if len(rows) != len(shipments):
        joined = {r.id for r in rows}
        wave.kind = _kind([s for s in shipments if s.id in joined])
    session.flush()
    audit.record(
        session,
        actor,
        "wave.created",
        object_type="wave",
        object_id=wave.id,
        data={
            "wave": wave.label,
            "origin": origin,
            "kind": wave.kind,
            "rule": rule,
            "shipments": sorted(r.id for r in rows),
            "units": wave.unit_count,
        },
    )
    return wave


def _chunks(shipments: list[Shipment], rules: WaveRules) -> list[list[Shipment]]:
    chunks, current, units = [], [], 0
    for s in shipments:
        if current and (
            len(current) >= rules.max_shipments or units + s.unit_count > rules.max_units
        ):
            chunks.append(current)
            current, units = [], 0
        current.append(s)
        units += s.unit_count
    if current:
        chunks.append(current)
    return chunks


def build_waves(session: UrakataSession, *, actor: Actor, rules: WaveRules, key: str) -> list[Wave]:
    """Waves of the shop's open shipments by ``rules``. ``key`` names this run: run again
    with the same key, it returns the waves it made the first time."""
    errors = rules.problems()
    if errors:
        raise FulfilmentInvalid(errors)
    _lock_waves(session)
    earlier = list(
        session.scalars(select(Wave).where(Wave.request_key.like(f"{key}:%")).order_by(Wave.number))
    )
    if earlier:
        return earlier
    f = ShipmentFilter(rules.carrier, rules.cool_type, rules.ship_by_until)
    candidates = session.scalars(
        _open(select(Shipment), f).order_by(
            Shipment.ship_by_at.is_(None), Shipment.ship_by_at, Shipment.id
        )
    ).all()
    groups: dict[tuple, list[Shipment]] = {}
    for s in candidates:
        size = ("single" if s.unit_count == 1 else "multi") if rules.separate_single else "any"
        groups.setdefault((s.carrier, s.cool_type, s.ship_by_date, size), []).append(s)
    waves: list[Wave] = []
    for group in groups.values():
        for chunk in _chunks(group, rules):
            wave = _make_wave(
                session,
                actor,
                chunk,
                origin="rules",
                key=f"{key}:{len(waves)}",
                rule=rules.as_json(),
            )
            if wave is not None:
                waves.append(wave)
    return waves


def create_wave(
    session: UrakataSession, *, actor: Actor, shipment_ids: list[int], request_key: str
) -> tuple[Wave, bool]:
    """A wave of the shipments an operator chose; ``(wave, created)``. A second submit
    of the same form (same ``request_key``) returns the first one's wave, created False."""
    request_key = (request_key or "").strip()
    if not request_key or len(request_key) > KEY_MAX:
        raise FulfilmentInvalid({"key": [N_("The form has expired: load the page again.")]})
    _lock_waves(session)
    earlier = session.scalar(select(Wave).where(Wave.request_key == f"hand:{request_key}"))
    if earlier is not None:
        return earlier, False
    ids = sorted(set(shipment_ids))
    if not ids:
        raise FulfilmentInvalid({"shipments": [N_("Choose at least one shipment.")]})
    if len(ids) > HAND_PICK_MAX:
        raise FulfilmentInvalid(
            {"shipments": [N_("At most %(limit)s shipments in one wave.", limit=HAND_PICK_MAX)]}
        )
    found = {s.id: s for s in session.scalars(select(Shipment).where(Shipment.id.in_(ids)))}
    problems = []
    for shipment_id in ids:
        s = found.get(shipment_id)
        if s is None:
            problems.append(N_("Shipment %(id)s is not a shipment of this shop.", id=shipment_id))
        elif s.status != "instructed" or s.wave_id is not None:
            problems.append(
                N_(
                    "Shipment %(label)s is not waiting for a wave (it is %(state)s).",
                    label=s.label,
                    state=s.status,
                )
            )
    if problems:
        raise FulfilmentInvalid({"shipments": problems})
    wave = _make_wave(
        session,
        actor,
        [found[i] for i in ids],
        origin="hand",
        key=f"hand:{request_key}",
        rule={"shipment_ids": ids},
    )
    assert wave is not None  # every one was open under the lock
    return wave, True


def get_wave(session: UrakataSession, wave_id: int) -> Wave:
    return get_scoped(session, Wave, wave_id)


@dataclass(frozen=True)
class WaveFilter:
    status: str | None = None
    carrier: str | None = None


def list_waves(
    session: UrakataSession, f: WaveFilter, *, before_id: int | None = None, limit: int = 50
) -> list[Wave]:
    """The shop's waves, newest first (keyset pages before ``before_id``)."""
    stmt = select(Wave).order_by(Wave.id.desc()).limit(limit)
    if f.status:
        stmt = stmt.where(Wave.status == f.status)
    if f.carrier:
        stmt = stmt.where(Wave.carrier == f.carrier)
    if before_id is not None:
        stmt = stmt.where(Wave.id < before_id)
    return list(session.scalars(stmt))


@dataclass(frozen=True)
class WaveProgress:
    shipments: int
    inspected: int
    ended: int
    units: int
    scanned: int

    @property
    def percent(self) -> int:
        live = self.units
        return 100 if not live else min(100, self.scanned * 100 // live)


def wave_progress(session: UrakataSession, wave_id: int) -> WaveProgress:
    rows = session.execute(
        select(
            Shipment.status,
            func.count(),
            func.sum(Shipment.unit_count),
            func.sum(Shipment.scanned_count),
        )
        .where(Shipment.wave_id == wave_id)
        .group_by(Shipment.status)
    ).all()
    shipments = inspected = ended = units = scanned = 0
    for status, n, u, sc in rows:
        shipments += n
        if status in ("returned", "cancelled"):
            ended += n
            continue
        units += int(u or 0)
        scanned += int(u or 0) if status in ("inspected", "packed", "shipped") else int(sc or 0)
        if status in ("inspected", "packed", "shipped"):
            inspected += n
    return WaveProgress(shipments, inspected, ended, units, scanned)


def refresh_wave(session: UrakataSession, actor: Actor, wave_id: int | None) -> None:
    """Count the wave again after a shipment left it or was inspected; a wave with nothing
    left to pick is done."""
    if wave_id is None:
        return
    wave = get_wave(session, wave_id)
    p = wave_progress(session, wave_id)
    live = p.shipments - p.ended
    before = wave.status
    wave.shipment_count = live
    wave.unit_count = p.units
    if wave.status in ("open", "picking") and live == p.inspected:
        wave.status = "done" if live else "cancelled"
        wave.finished_at = utcnow()
    elif wave.status == "open" and p.scanned:
        wave.status = "picking"
    wave.updated_at = utcnow()
    session.flush()
    if wave.status != before:
        audit.record(
            session,
            actor,
            f"wave.{wave.status}",
            object_type="wave",
            object_id=wave.id,
            changes={"status": (before, wave.status)},
            data={"wave": wave.label, "inspected": p.inspected, "removed": p.ended},
        )
