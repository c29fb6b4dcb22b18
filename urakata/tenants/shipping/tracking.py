"""Tracking numbers on shipments: from the carrier's issued-label export, or typed.

An export is checked whole before anything is written: every row's reference must be one
of the shop's shipments of that carrier, labelled and not yet gone; its number must be 12
digits with a valid check digit, not twice in the file, not another shipment's; and a
shipment that has a number keeps it (a different one is a mismatch). Any problem refuses
the whole file (nothing half-applied) and the upload is kept with its problems, each
naming its row; a clean file sets every number in one transaction. A row whose shipment
already has that number changes nothing, so the same file imported twice is harmless.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from urakata.platform import audit
from urakata.platform.audit import Actor
from urakata.platform.db import UrakataSession, utcnow
from urakata.platform.fields import N_
from urakata.platform.tenancy import get_scoped
from urakata.tenants.fulfilment import services as fulfilment
from urakata.tenants.fulfilment.models import Shipment
from urakata.tenants.shipping import tracking_numbers
from urakata.tenants.shipping.carrier_files import FORMAT_OF_CARRIER, load_map
from urakata.tenants.shipping.errors import NotReady, ShippingInvalid, StaleShipping
from urakata.tenants.shipping.models import ShipmentTracking, TrackingImport
from urakata.tenants.shipping.tracking_numbers import ExportProblem, ExportUnreadable

TRACKABLE = ("inspected", "packed")  # labels are printed before the parcel leaves
PROBLEMS_KEPT = 200
FILE_MAX = 10 * 1024 * 1024


def tracking_of(session: UrakataSession, shipment_ids) -> dict[int, ShipmentTracking]:
    ids = list(shipment_ids)
    if not ids:
        return {}
    rows = session.scalars(select(ShipmentTracking).where(ShipmentTracking.shipment_id.in_(ids)))
    return {r.shipment_id: r for r in rows}


def _shipment_id(reference: str) -> int | None:
    code = reference.strip().upper()
    if code.startswith("SH") and code[2:].isdigit():
        return int(code[2:])
    return None


@dataclass(frozen=True)
class ImportResult:
    record: TrackingImport
    problems: list[ExportProblem]

    @property
    def applied(self) -> bool:
        return self.record.status == "applied"


def _problem(row, reference, number, code, message) -> ExportProblem:
    return ExportProblem(row, reference, number, code, message)


def _number_problem(r) -> ExportProblem | None:
    number = r.number
    if not (number.isascii() and number.isdigit() and len(number) == tracking_numbers.DIGITS):
        return _problem(r.row, r.reference, number, "malformed",
                        N_("Row %(row)d: the tracking number %(number)s is not 12 digits.",
                           row=r.row, number=number or "—"))  # fmt: skip
    expected = tracking_numbers.check_digit(number[:11])
    if expected != int(number[11]):
        return _problem(r.row, r.reference, number, "check_digit",
                        N_("Row %(row)d: the tracking number %(number)s has a wrong check digit"
                           " (expected %(expected)d at the end): a digit was misread or"
                           " mistyped.", row=r.row, number=number,
                           expected=expected))  # fmt: skip
    return None


def _check_rows(session: UrakataSession, carrier: str, rows) -> tuple[list, list]:
    """(plan, problems): the (shipment, number) pairs to set, and what is wrong."""
    problems: list[ExportProblem] = []
    ids = {i for r in rows if (i := _shipment_id(r.reference)) is not None}
    shipments = (
        {s.id: s for s in session.scalars(select(Shipment).where(Shipment.id.in_(ids)))}
        if ids
        else {}
    )
    existing = tracking_of(session, shipments)
    numbers = {r.number for r in rows}
    used = {
        t.tracking_no: t.shipment_id
        for t in session.scalars(
            select(ShipmentTracking).where(
                ShipmentTracking.carrier == carrier, ShipmentTracking.tracking_no.in_(numbers)
            )
        )
    }
    seen_numbers: dict[str, int] = {}
    seen_refs: dict[str, int] = {}
    plan = []
    for r in rows:
        bad = _number_problem(r)
        if bad is not None:
            problems.append(bad)
            continue
        if r.number in seen_numbers:
            problems.append(_problem(r.row, r.reference, r.number, "duplicate",
                                     N_("Row %(row)d: the number %(number)s is also on row"
                                        " %(other)d.", row=r.row, number=r.number,
                                        other=seen_numbers[r.number])))  # fmt: skip
            continue
        seen_numbers[r.number] = r.row
        if r.reference in seen_refs:
            problems.append(_problem(r.row, r.reference, r.number, "duplicate",
                                     N_("Row %(row)d: shipment %(reference)s is also on row"
                                        " %(other)d.", row=r.row, reference=r.reference,
                                        other=seen_refs[r.reference])))  # fmt: skip
            continue
        seen_refs[r.reference] = r.row
        shipment = shipments.get(_shipment_id(r.reference) or -1)
        if shipment is None:
            problems.append(_problem(r.row, r.reference, r.number, "unknown",
                                     N_("Row %(row)d: %(reference)s is not one of this shop's"
                                        " shipments.", row=r.row,
                                        reference=r.reference)))  # fmt: skip
            continue
        if shipment.carrier != carrier:
            problems.append(_problem(r.row, r.reference, r.number, "mismatch",
                                     N_("Row %(row)d: shipment %(reference)s goes by"
                                        " %(carrier)s, not by this carrier.", row=r.row,
                                        reference=r.reference,
                                        carrier=shipment.carrier)))  # fmt: skip
            continue
        current = existing.get(shipment.id)
        owner = used.get(r.number)
        if owner is not None and owner != shipment.id:
            problems.append(_problem(r.row, r.reference, r.number, "used",
                                     N_("Row %(row)d: the number %(number)s is already used by"
                                        " shipment SH%(owner)010d.", row=r.row,
                                        number=r.number, owner=owner)))  # fmt: skip
            continue
        if current is not None and current.tracking_no != r.number:
            problems.append(_problem(r.row, r.reference, r.number, "mismatch",
                                     N_("Row %(row)d: shipment %(reference)s already has the"
                                        " number %(current)s, not %(number)s.", row=r.row,
                                        reference=r.reference, current=current.tracking_no,
                                        number=r.number)))  # fmt: skip
            continue
        if current is None and shipment.status not in TRACKABLE:
            problems.append(_problem(r.row, r.reference, r.number, "state",
                                     N_("Row %(row)d: shipment %(reference)s is %(state)s; a"
                                        " number is set on an inspected or packed shipment.",
                                        row=r.row, reference=r.reference,
                                        state=shipment.status)))  # fmt: skip
            continue
        plan.append((shipment, r.number, current is not None))
    return plan, problems


def _insert_numbers(session: UrakataSession, rows: list[dict]) -> None:
    """One INSERT in a savepoint: a number another upload set meanwhile (the unique key
    refuses it) undoes this one whole, and the caller's transaction stays usable."""
    if not rows:
        return
    try:
        with session.begin_nested():
            session.execute(insert(ShipmentTracking.__table__), rows)
    except IntegrityError:
        raise StaleShipping("a number was set meanwhile") from None


def import_export(
    session: UrakataSession, *, actor: Actor, carrier: str, filename: str, data: bytes
) -> ImportResult:
    """Check an issued-label export whole and apply it, or refuse it whole (the upload
    and its problems are kept either way)."""
    if carrier not in FORMAT_OF_CARRIER:
        raise ShippingInvalid({"carrier": [N_("Choose a carrier.")]})
    if len(data) > FILE_MAX:
        raise ShippingInvalid({"file": [N_("The file is larger than 10 MB.")]})
    try:
        rows, problems = tracking_numbers.read_export(data, carrier)
    except ExportUnreadable as exc:
        raise ShippingInvalid({"file": [exc.message]}) from None
    plan, more = _check_rows(session, carrier, rows)
    problems = sorted([*problems, *more], key=lambda p: p.row)
    now = utcnow()
    record = TrackingImport(
        carrier=carrier, filename=(filename or "export.csv")[:200],
        sha256=hashlib.sha256(data).hexdigest(), uploaded_at=now,
        uploaded_by=actor.label[:200], status="refused" if problems else "applied",
        row_count=len(rows) + sum(1 for p in problems if p.code == "malformed" and not p.number),
        applied_count=0, unchanged_count=0,
        problems=[{"row": p.row, "reference": p.reference, "number": p.number, "code": p.code,
                   "msgid": p.message.msgid, "params": p.message.params}
                  for p in problems[:PROBLEMS_KEPT]],
        problem_count=len(problems),
    )  # fmt: skip
    session.add(record)
    session.flush()
    if not problems:
        rows = []
        for shipment, number, unchanged in plan:
            if unchanged:
                record.unchanged_count += 1
                continue
            rows.append({"tenant_id": session.tenant_id, "shipment_id": shipment.id,
                         "carrier": carrier, "tracking_no": number, "source": "import",
                         "import_id": record.id, "set_at": now,
                         "set_by": actor.label[:200]})  # fmt: skip
        _insert_numbers(session, rows)
        record.applied_count = len(rows)
        session.flush()
    audit.record(session, actor, f"shipping.tracking_import_{record.status}",
                 object_type="tracking_import", object_id=record.id,
                 data={"carrier": carrier, "filename": record.filename, "sha256": record.sha256,
                       "rows": record.row_count, "applied": record.applied_count,
                       "unchanged": record.unchanged_count, "problems": len(problems),
                       "set": [{"shipment": s.id, "number": n} for s, n, u in plan
                               if not u and not problems][:500]})  # fmt: skip
    return ImportResult(record, problems)


def set_tracking(
    session: UrakataSession, *, actor: Actor, shipment_id: int, number: str
) -> ShipmentTracking:
    """Type a shipment's number (a label written by hand, an export not at hand)."""
    shipment = fulfilment.get_shipment(session, shipment_id)
    bad = tracking_numbers.problem(number)
    if bad is not None:
        raise ShippingInvalid({"tracking_no": [bad]})
    number = tracking_numbers.normalise(number)
    current = tracking_of(session, [shipment.id]).get(shipment.id)
    if current is not None and current.tracking_no == number:
        return current
    if shipment.status not in TRACKABLE:
        raise NotReady(N_("Shipment %(label)s is %(state)s; a number is set on an inspected or"
                          " packed shipment.", label=shipment.label,
                          state=shipment.status))  # fmt: skip
    owner = session.scalar(
        select(ShipmentTracking.shipment_id).where(
            ShipmentTracking.carrier == shipment.carrier, ShipmentTracking.tracking_no == number
        )
    )
    if owner is not None:
        raise ShippingInvalid({"tracking_no": [
            N_("The number %(number)s is already used by shipment SH%(owner)010d.",
               number=number, owner=owner)]})  # fmt: skip
    before = current.tracking_no if current else None
    if current is None:
        _insert_numbers(session, [{"tenant_id": session.tenant_id, "shipment_id": shipment.id,
                                   "carrier": shipment.carrier, "tracking_no": number,
                                   "source": "manual", "import_id": None, "set_at": utcnow(),
                                   "set_by": actor.label[:200]}])  # fmt: skip
        current = tracking_of(session, [shipment.id])[shipment.id]
    else:
        current.tracking_no, current.source, current.import_id = number, "manual", None
        current.set_at, current.set_by = utcnow(), actor.label[:200]
        try:
            with session.begin_nested():
                session.flush()
        except IntegrityError:
            raise StaleShipping("a number was set meanwhile") from None
    audit.record(session, actor, "shipping.tracking_set", object_type="shipment",
                 object_id=shipment.id, changes={"tracking_no": (before, number)},
                 data={"carrier": shipment.carrier, "source": "manual"})  # fmt: skip
    return current


def list_imports(
    session: UrakataSession,
    *,
    carrier: str | None = None,
    status: str | None = None,
    before_id: int | None = None,
    limit: int = 20,
):
    """The shop's uploads, newest first (keyset pages before ``before_id``)."""
    stmt = select(TrackingImport).order_by(TrackingImport.id.desc()).limit(limit)
    if carrier:
        stmt = stmt.where(TrackingImport.carrier == carrier)
    if status:
        stmt = stmt.where(TrackingImport.status == status)
    if before_id is not None:
        stmt = stmt.where(TrackingImport.id < before_id)
    return list(session.scalars(stmt))


def get_import(session: UrakataSession, import_id: int) -> TrackingImport:
    return get_scoped(session, TrackingImport, import_id)


def carrier_name(carrier: str) -> str:
    return load_map(FORMAT_OF_CARRIER[carrier]).name
