"""Scan-checked picking and inspection (ピッキング・検品), short picks, put-backs.

Every code scanned at the station is checked against the shipment's lines: a code that
is no product of this shop (unknown, or another shop's item — the two look alike, as
another shop's data must), a product not on the shipment, a lot other than the one the
line was allocated (FEFO SKUs), or one piece more than the line needs is refused with a
message and recorded as a mis-pick (a :class:`ScanEvent` and a ledger event). A good scan
counts one piece on its line by a conditional UPDATE, so two stations cannot overfill it.
The station names each scan (``scan_key``): a resent scan is answered as before and
counts once.

When every piece is scanned the shipment is *inspected*: its stock is taken out of the
bins (one ``pick`` movement per line, under the key ``shipment:<id>:pick``, written once)
and the order is *inspected* when all its shipments are. A short pick (the bin is empty)
records a :class:`PickShortage`, books the missing pieces off the level (an
``adjustment``: the stock discrepancy), sends the shipment back (*returned*) and its
order back to allocation. Pieces already picked for a shipment that no longer ships
become a :class:`PutBackTask`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from urakata.platform import audit
from urakata.platform.audit import Actor
from urakata.platform.db import UrakataSession, utcnow
from urakata.platform.fields import N_, Message, normalise_code
from urakata.platform.tenancy import get_scoped
from urakata.tenants.catalog.models import Product, ProductBarcode
from urakata.tenants.fulfilment.errors import FulfilmentInvalid, IllegalShipmentMove
from urakata.tenants.fulfilment.models import (
    ENDED,
    MISPICK_OUTCOMES,
    UNPICKED,
    PickShortage,
    PutBackTask,
    ScanEvent,
    Shipment,
    ShipmentLine,
)
from urakata.tenants.fulfilment.waves import refresh_wave
from urakata.tenants.orders import services as orders
from urakata.tenants.orders.models import Order
from urakata.tenants.stock.ledger import (
    ALLOCATE_JOB,
    Movement,
    deallocate_level,
    key_used,
    lock_key,
    put_in,
    request_job,
    take_out,
    write_movements,
)

CODE_MAX = 64
SCAN_KEY_MAX = 64
PICKED = ("inspected", "packed")  # the pick is posted; the pieces left their bins


@dataclass(frozen=True)
class ScanResult:
    outcome: str  # ok, lot_needed or one of MISPICK_OUTCOMES
    message: Message
    shipment: Shipment
    line: ShipmentLine | None = None
    inspected: bool = False
    repeated: bool = False  # the same scan came again: answered as before

    @property
    def refused(self) -> bool:
        return self.outcome in MISPICK_OUTCOMES or self.outcome == "order_cancelled"

    @property
    def sound(self) -> str:
        if self.refused:
            return "error"
        return "done" if self.inspected else ("ok" if self.outcome == "ok" else "attention")


def get_shipment(session: UrakataSession, shipment_id: int) -> Shipment:
    return get_scoped(session, Shipment, shipment_id)


def find_shipment_by_label(session: UrakataSession, label: str) -> Shipment | None:
    """The shipment a scanned label (SH0000000123) names, in this shop only."""
    code = normalise_code(label).upper()
    if not code.startswith("SH") or not code[2:].isdigit():
        return None
    return session.scalar(select(Shipment).where(Shipment.id == int(code[2:])))


def _product_of(session: UrakataSession, code: str) -> Product | None:
    product = session.scalar(
        select(Product).join(ProductBarcode).where(ProductBarcode.code == code)
    )
    if product is None:
        product = session.scalar(
            select(Product).where((Product.jan == code) | (Product.sku == code))
        )
    return product


def _checked(shipment: Shipment, product: Product | None, code: str, lot_no: str):
    """(outcome, line, message) of one scan against the shipment's lines."""
    if product is None:
        return (
            "unknown_code",
            None,
            N_(
                "%(code)s is not an item of this shop. Put it aside and scan the right item.",
                code=code,
            ),
        )
    mine = [line for line in shipment.lines if line.product_id == product.id]
    if not mine:
        return (
            "wrong_item",
            None,
            N_(
                "Wrong item: %(sku)s (%(name)s) is not on this shipment.",
                sku=product.sku,
                name=product.name,
            ),
        )
    if product.lot_tracked:
        if not lot_no:
            return (
                "lot_needed",
                None,
                N_("%(sku)s is lot-tracked: now scan its lot.", sku=product.sku),
            )
        wanted = sorted({line.lot_no for line in mine})
        mine = [line for line in mine if line.lot_no == lot_no]
        if not mine:
            return (
                "wrong_lot",
                None,
                N_(
                    "Wrong lot: %(lot)s. Take lot %(wanted)s of %(sku)s (earliest best-before).",
                    lot=lot_no,
                    wanted=", ".join(wanted),
                    sku=product.sku,
                ),
            )
    open_lines = [line for line in mine if line.scanned + line.short < line.quantity]
    if not open_lines:
        return (
            "too_many",
            None,
            N_(
                "Too many: %(sku)s needs %(quantity)s and all are scanned.",
                sku=product.sku,
                quantity=sum(line.quantity for line in mine),
            ),
        )
    return "ok", open_lines[0], N_("%(sku)s OK", sku=product.sku)


def _earlier(session: UrakataSession, scan_key: str) -> ScanEvent | None:
    return session.scalar(select(ScanEvent).where(ScanEvent.scan_key == scan_key))


def scan(
    session: UrakataSession,
    *,
    actor: Actor,
    shipment_id: int,
    code: str,
    lot_no: str = "",
    scan_key: str,
) -> ScanResult:
    """Check one scanned code against the shipment; count it, or refuse and record it."""
    shipment = get_shipment(session, shipment_id)
    code = normalise_code(code or "")[:CODE_MAX]
    lot_no = normalise_code(lot_no or "")[:40]
    scan_key = (scan_key or "").strip()[:SCAN_KEY_MAX]
    if not code:
        raise FulfilmentInvalid({"code": [N_("Scan or type a code.")]})
    if not scan_key:
        raise FulfilmentInvalid({"scan_key": [N_("The station lost its place: reload the page.")]})
    earlier = _earlier(session, scan_key)
    if earlier is not None:
        return _replay(session, shipment, earlier)
    if withdraw_if_cancelled(session, actor=actor, shipment=shipment):
        return ScanResult("order_cancelled", _not_pickable(shipment), shipment)
    if shipment.status not in UNPICKED:
        raise IllegalShipmentMove(_not_pickable(shipment))
    product = _product_of(session, code)
    outcome, line, message = _checked(shipment, product, code, lot_no)
    if outcome == "ok" and not _count(session, line):
        outcome, line, message = _checked(shipment, product, code, lot_no)  # raced: again
        if outcome == "ok":
            outcome, line = "too_many", None
            message = N_("Too many: %(sku)s needs no more pieces.", sku=product.sku)
    event = ScanEvent(
        tenant_id=session.tenant_id,
        scan_key=scan_key,
        shipment_id=shipment.id,
        wave_id=shipment.wave_id,
        code=code,
        lot_no=lot_no,
        outcome=outcome,
        product_id=product.id if product else None,
        shipment_line_id=line.id if line else None,
        actor=actor.label[:200],
        user_id=actor.user_id,
        occurred_at=utcnow(),
    )
    session.add(event)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:  # the same scan, sent twice at once: the first one counts
        raise IllegalShipmentMove(N_("This scan was recorded already.")) from None
    if outcome in MISPICK_OUTCOMES:
        audit.record(
            session,
            actor,
            "shipment.mispick",
            object_type="shipment",
            object_id=shipment.id,
            data={"outcome": outcome, "code": code, "lot_no": lot_no, "message": str(message)},
        )
        return ScanResult(outcome, message, shipment)
    if outcome != "ok":
        return ScanResult(outcome, message, shipment)
    inspected = _after_good_scan(session, actor, shipment, line)
    return ScanResult("ok", message, shipment, line, inspected)


def _count(session: UrakataSession, line: ShipmentLine) -> bool:
    row = session.execute(
        update(ShipmentLine)
        .where(
            ShipmentLine.id == line.id,
            ShipmentLine.scanned + ShipmentLine.short < ShipmentLine.quantity,
        )
        .values(scanned=ShipmentLine.scanned + 1)
        .returning(ShipmentLine.scanned)
        .execution_options(synchronize_session=False)
    ).first()
    session.expire(line, ["scanned"])
    return row is not None


def _after_good_scan(session, actor: Actor, shipment: Shipment, line: ShipmentLine) -> bool:
    now = utcnow()
    first = shipment.status != "picking"
    shipment.scanned_count = sum(x.scanned for x in shipment.lines)
    if first:
        shipment.status, shipment.picking_at = "picking", shipment.picking_at or now
    shipment.updated_at = now
    session.flush()
    audit.record(
        session,
        actor,
        "shipment.scanned",
        object_type="shipment",
        object_id=shipment.id,
        data={
            "sku": line.sku,
            "lot_no": line.lot_no,
            "bin": line.bin_code,
            "scanned": shipment.scanned_count,
            "units": shipment.unit_count,
        },
    )
    if shipment.scanned_count < shipment.unit_count:
        if first:
            refresh_wave(session, actor, shipment.wave_id)
        return False
    inspect(session, actor=actor, shipment=shipment)
    return True


def _replay(session: UrakataSession, shipment: Shipment, event: ScanEvent) -> ScanResult:
    if event.shipment_id != shipment.id:
        raise FulfilmentInvalid({"scan_key": [N_("The station lost its place: reload the page.")]})
    line = (
        session.get(ShipmentLine, (session.tenant_id, event.shipment_line_id))
        if (event.shipment_line_id)
        else None
    )
    message = N_("This scan was counted already (%(code)s).", code=event.code)
    return ScanResult(
        event.outcome, message, shipment, line, inspected=shipment.status in PICKED, repeated=True
    )


def _not_pickable(shipment: Shipment) -> Message:
    if shipment.status == "cancelled":
        return N_(
            "The order of %(label)s was cancelled: put its items back (see the put-back list).",
            label=shipment.label,
        )
    if shipment.status in PICKED or shipment.status == "shipped":
        return N_("%(label)s is inspected already.", label=shipment.label)
    return N_(
        "%(label)s is not being picked (it is %(state)s).",
        label=shipment.label,
        state=shipment.status,
    )


def inspect(session: UrakataSession, *, actor: Actor, shipment: Shipment) -> None:
    """Every piece scanned: take the pieces out of their bins (once) and mark it inspected."""
    if shipment.status in PICKED or shipment.status == "shipped":
        return
    if any(line.scanned < line.quantity for line in shipment.lines):
        raise IllegalShipmentMove(
            N_("Not every piece of %(label)s is scanned yet.", label=shipment.label)
        )
    key = f"shipment:{shipment.id}:pick"
    now = utcnow()
    if not key_used(session, key):
        lines = sorted(
            shipment.lines, key=lambda x: lock_key(x.product_id, x.location_id, x.lot_no)
        )
        for line in lines:
            taken = deallocate_level(
                session,
                product_id=line.product_id,
                location_id=line.location_id,
                lot_no=line.lot_no,
                quantity=line.quantity,
                now=now,
            ) and take_out(
                session,
                product_id=line.product_id,
                location_id=line.location_id,
                lot_no=line.lot_no,
                quantity=line.quantity,
                now=now,
            )
            if not taken:
                raise RuntimeError(f"stock ledger and level disagree for shipment {shipment.id}")
        write_movements(
            session,
            actor,
            key=key,
            reference_type="order",
            reference_id=str(shipment.order_id),
            movements=[
                Movement(
                    "pick",
                    x.product_id,
                    x.location_id,
                    x.lot_no,
                    on_hand_delta=-x.quantity,
                    allocated_delta=-x.quantity,
                    reference_line=x.order_line_id,
                )
                for x in lines
            ],
            reason=f"picked for {shipment.label}",
            now=now,
        )
    before = shipment.status
    shipment.status, shipment.inspected_at, shipment.updated_at = "inspected", now, now
    shipment.scanned_count = shipment.unit_count
    session.flush()
    audit.record(
        session,
        actor,
        "shipment.inspected",
        object_type="shipment",
        object_id=shipment.id,
        changes={"status": (before, "inspected")},
        data={
            "key": key,
            "units": shipment.unit_count,
            "lines": [
                {"sku": x.sku, "bin": x.bin_code, "lot_no": x.lot_no, "quantity": x.quantity}
                for x in shipment.lines
            ],
        },
    )
    advance_order(session, actor, shipment.order_id)
    refresh_wave(session, actor, shipment.wave_id)


ORDER_STEPS = {"inspected": "instructed", "packed": "inspected", "shipped": "packed"}
REACHED = {
    "inspected": ("inspected", "packed", "shipped"),
    "packed": ("packed", "shipped"),
    "shipped": ("shipped",),
}


def advance_order(session: UrakataSession, actor: Actor, order_id: int) -> None:
    """Move the order as far as all its live shipments have come (inspected, packed,
    shipped), one step at a time."""
    order = orders.get_order(session, order_id)
    query = select(Shipment.status).where(Shipment.order_id == order_id)
    statuses = [s for s in session.scalars(query) if s not in ENDED]
    if not statuses:
        return
    for target in ("inspected", "packed", "shipped"):
        if order.status == ORDER_STEPS[target] and all(s in REACHED[target] for s in statuses):
            orders.record_fulfilment(session, actor=actor, order=order, status=target)


# -- short picks --------------------------------------------------------------------------------


def report_short(
    session: UrakataSession, *, actor: Actor, shipment_id: int, line_id: int
) -> PickShortage:
    """The bin holds fewer pieces than the line needs: the pieces not yet scanned are
    missing. Records the discrepancy, books them off the level, and sends the shipment
    back to allocation (its picked pieces go back to the bin by a put-back task)."""
    shipment = get_shipment(session, shipment_id)
    if shipment.status not in UNPICKED:
        raise IllegalShipmentMove(_not_pickable(shipment))
    line = next((x for x in shipment.lines if x.id == line_id), None)
    if line is None:
        raise FulfilmentInvalid(
            {"line": [N_("This line is not on %(label)s.", label=shipment.label)]}
        )
    missing = line.quantity - line.scanned - line.short
    if missing <= 0:
        raise FulfilmentInvalid(
            {"line": [N_("Every piece of %(sku)s is scanned already.", sku=line.sku)]}
        )
    now = utcnow()
    key = f"shipment:{shipment.id}:short:{line.id}"
    booked_off = deallocate_level(
        session,
        product_id=line.product_id,
        location_id=line.location_id,
        lot_no=line.lot_no,
        quantity=missing,
        now=now,
    )
    if not booked_off:
        raise RuntimeError(f"stock ledger and level disagree for shipment {shipment.id}")
    counted_off = take_out(
        session,
        product_id=line.product_id,
        location_id=line.location_id,
        lot_no=line.lot_no,
        quantity=missing,
        now=now,
    )
    write_movements(
        session,
        actor,
        key=key,
        reference_type="order",
        reference_id=str(shipment.order_id),
        movements=[
            Movement(
                "adjustment",
                line.product_id,
                line.location_id,
                line.lot_no,
                on_hand_delta=-missing if counted_off else 0,
                allocated_delta=-missing,
                reference_line=line.order_line_id,
            )
        ],
        reason=f"short pick for {shipment.label}: bin empty",
        now=now,
    )
    shortage = PickShortage(
        tenant_id=session.tenant_id,
        shipment_id=shipment.id,
        shipment_line_id=line.id,
        product_id=line.product_id,
        location_id=line.location_id,
        bin_code=line.bin_code,
        lot_no=line.lot_no,
        expected=line.quantity,
        missing=missing,
        status="open",
        reported_by=actor.label[:200],
        created_at=now,
    )
    session.add(shortage)
    line.short = missing
    session.flush()
    audit.record(
        session,
        actor,
        "stock.discrepancy",
        object_type="shipment",
        object_id=shipment.id,
        data={
            "sku": line.sku,
            "bin": line.bin_code,
            "lot_no": line.lot_no,
            "expected": line.quantity,
            "missing": missing,
            "on_hand_booked_off": counted_off,
            "key": key,
        },
    )
    end_shipment(
        session, actor, shipment, "returned", "short_pick", "short pick: back to allocation"
    )
    order = orders.get_order(session, shipment.order_id)
    if order.status in ("instructed", "inspected"):
        orders.record_fulfilment(
            session,
            actor=actor,
            order=order,
            status="released",
            data={"reason": "short_pick", "shipment": shipment.id},
        )
        request_job(session, ALLOCATE_JOB, session.tenant_id)
    return shortage


def end_shipment(
    session, actor: Actor, shipment: Shipment, status: str, reason: str, text: str
) -> list:
    """End a shipment (returned or cancelled); pieces already picked get put-back tasks."""
    restock = shipment.status in PICKED
    tasks = []
    for line in shipment.lines:
        quantity = line.quantity if restock else line.scanned
        if quantity <= 0:
            continue
        task = PutBackTask(
            tenant_id=session.tenant_id,
            shipment_id=shipment.id,
            shipment_line_id=line.id,
            order_id=shipment.order_id,
            order_line_id=line.order_line_id,
            product_id=line.product_id,
            sku=line.sku,
            location_id=line.location_id,
            bin_code=line.bin_code,
            lot_no=line.lot_no,
            best_before=line.best_before,
            quantity=quantity,
            reason=reason,
            restock=restock,
            status="open",
            created_at=utcnow(),
            done_by="",
        )
        session.add(task)
        tasks.append(task)
    before = shipment.status
    shipment.status, shipment.ended_at, shipment.end_reason = status, utcnow(), text
    shipment.updated_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor,
        f"shipment.{status}",
        object_type="shipment",
        object_id=shipment.id,
        changes={"status": (before, status)},
        data={
            "reason": text,
            "put_back": [
                {
                    "sku": t.sku,
                    "bin": t.bin_code,
                    "lot_no": t.lot_no,
                    "quantity": t.quantity,
                    "restock": t.restock,
                }
                for t in tasks
            ],
        },
    )
    refresh_wave(session, actor, shipment.wave_id)
    return tasks


# -- cancelled orders ----------------------------------------------------------------------------


def withdraw_if_cancelled(session: UrakataSession, *, actor: Actor, shipment: Shipment) -> bool:
    """A shipment whose order was cancelled leaves its wave (the order's cancellation gave
    its stock back); picked pieces get a put-back task. True when it was withdrawn."""
    if shipment.status in ENDED or shipment.status == "shipped":
        return False
    status = session.scalar(select(Order.status).where(Order.id == shipment.order_id))
    if status != "cancelled":
        return False
    end_shipment(session, actor, shipment, "cancelled", "cancelled", "order cancelled")
    return True


def withdraw_cancelled(session: UrakataSession, *, actor: Actor, limit: int = 500) -> int:
    """Withdraw every live shipment of the shop whose order was cancelled; how many."""
    shipments = session.scalars(
        select(Shipment)
        .join(Order, Order.id == Shipment.order_id)
        .where(Order.status == "cancelled", Shipment.status.not_in(ENDED + ("shipped",)))
        .order_by(Shipment.id)
        .limit(limit)
    ).all()
    return sum(withdraw_if_cancelled(session, actor=actor, shipment=s) for s in shipments)


def cancel_order(
    session: UrakataSession, *, actor: Actor, order_id: int, version: int | None, reason: str
) -> Order:
    """Cancel an order (its stock is released) and withdraw its shipments at once."""
    order = orders.cancel(session, actor=actor, order_id=order_id, version=version, reason=reason)
    for shipment in session.scalars(select(Shipment).where(Shipment.order_id == order.id)):
        withdraw_if_cancelled(session, actor=actor, shipment=shipment)
    return order


def list_put_backs(
    session: UrakataSession, *, status: str = "open", after: int | None = None, limit: int = 200
) -> list:
    """A page of the shop's put-backs: open ones oldest first (the work queue), done ones
    newest first; ``after``: the last id of the page before."""
    newest_first = status == "done"
    query = select(PutBackTask).where(PutBackTask.status == status)
    if after is not None:
        query = query.where(PutBackTask.id < after if newest_first else PutBackTask.id > after)
    order = PutBackTask.id.desc() if newest_first else PutBackTask.id
    return list(session.scalars(query.order_by(order).limit(limit)))


def complete_put_back(session: UrakataSession, *, actor: Actor, task_id: int) -> PutBackTask:
    """The pieces are back in their bin; picked stock is booked in again (once)."""
    task = get_scoped(session, PutBackTask, task_id)
    if task.status == "done":
        raise IllegalShipmentMove(N_("This put-back is done already."))
    key = f"putback:{task.id}"
    now = utcnow()
    if task.restock and not key_used(session, key):
        put_in(
            session,
            product_id=task.product_id,
            location_id=task.location_id,
            lot_no=task.lot_no,
            best_before=task.best_before,
            quantity=task.quantity,
            now=now,
        )
        write_movements(
            session,
            actor,
            key=key,
            reference_type="order",
            reference_id=str(task.order_id),
            movements=[
                Movement(
                    "return",
                    task.product_id,
                    task.location_id,
                    task.lot_no,
                    on_hand_delta=task.quantity,
                    reference_line=task.order_line_id,
                )
            ],
            reason="put back: picked for a shipment that does not ship",
            now=now,
        )
    task.status, task.done_at, task.done_by = "done", now, actor.label[:200]
    session.flush()
    audit.record(
        session,
        actor,
        "putback.done",
        object_type="put_back_task",
        object_id=task.id,
        changes={"status": ("open", "done")},
        data={
            "sku": task.sku,
            "bin": task.bin_code,
            "lot_no": task.lot_no,
            "quantity": task.quantity,
            "restock": task.restock,
        },
    )
    return task


def mispicks(session: UrakataSession, *, wave_id: int | None = None, limit: int = 100) -> list:
    """The latest refused scans (the accuracy figures count them)."""
    stmt = select(ScanEvent).where(ScanEvent.outcome.in_(MISPICK_OUTCOMES))
    if wave_id is not None:
        stmt = stmt.where(ScanEvent.wave_id == wave_id)
    return list(session.scalars(stmt.order_by(ScanEvent.id.desc()).limit(limit)))
