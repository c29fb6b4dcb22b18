"""Packing (梱包): the box, the materials (billed per parcel) and the weight of a shipment;
and undoing it when a packed shipment is cancelled.

:func:`pack_shipment` takes an inspected shipment: the box is the suggestion from the
items' measures (:mod:`.boxes`) unless the operator chose another, the weight is the
items' and the box's unless entered, the materials are recorded as used. The shipment
moves to *packed* through fulfilment's ``advance_shipment`` (on the ledger, with the
box, weight and materials). The form's one-time key makes a second submit harmless.

A packed shipment that is cancelled before handover (:func:`cancel_packed`, or an order
cancelled meanwhile, found by :func:`sweep_cancelled`) leaves an :class:`UnpackTask`:
open the parcel and put the pieces back. Completing it completes the shipment's put-back
tasks, which book the pieces in again at their bins (once: fulfilment keys them).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from urakata.platform import audit
from urakata.platform.audit import Actor
from urakata.platform.db import UrakataSession, utcnow
from urakata.platform.fields import N_
from urakata.platform.tenancy import get_scoped
from urakata.tenants.catalog.models import Product
from urakata.tenants.fulfilment import services as fulfilment
from urakata.tenants.fulfilment.models import PutBackTask, Shipment
from urakata.tenants.shipping import boxes
from urakata.tenants.shipping.errors import (
    DuplicateSubmission,
    NotReady,
    ShippingInvalid,
    StaleShipping,
)
from urakata.tenants.shipping.models import BOX_SIZES, ShipmentPackage, UnpackTask

# Materials an operator may record (the box itself is recorded from its size).
MATERIALS = {
    "cushioning": N_("Cushioning (paper)"),
    "bubble_wrap": N_("Bubble wrap"),
    "ice_pack": N_("Ice pack"),
    "gift_wrap": N_("Gift wrapping"),
    "noshi": N_("Noshi paper"),
    "flyer": N_("Flyer (insert)"),
    "tape": N_("Tape"),
}
QUANTITY_MAX = 99
WEIGHT_MAX = 30_000


@dataclass(frozen=True)
class PackingView:
    """What the packing screen shows of a shipment."""

    shipment: Shipment
    suggestion: boxes.Suggestion
    package: ShipmentPackage | None


def package_of(session: UrakataSession, shipment_id: int) -> ShipmentPackage | None:
    return session.scalar(select(ShipmentPackage).where(ShipmentPackage.shipment_id == shipment_id))


def items_of(session: UrakataSession, shipment: Shipment) -> list[boxes.Item]:
    ids = {line.product_id for line in shipment.lines}
    products = {p.id: p for p in session.scalars(select(Product).where(Product.id.in_(ids)))}
    items = []
    for line in shipment.lines:
        p = products[line.product_id]
        items.append(
            boxes.Item(
                line.sku,
                line.quantity,
                p.length_mm,
                p.width_mm,
                p.height_mm,
                p.weight_g,
                p.size_class,
            )  # fmt: skip
        )
    return items


def suggest_box(session: UrakataSession, shipment_id: int) -> PackingView:
    shipment = fulfilment.get_shipment(session, shipment_id)
    suggestion = boxes.suggest(items_of(session, shipment))
    return PackingView(shipment, suggestion, package_of(session, shipment_id))


def _materials(given: dict, size: int) -> list[dict]:
    errors = []
    chosen = []
    for code, raw in sorted(given.items()):
        if code not in MATERIALS:
            errors.append(N_("Unknown material %(code)s.", code=code))
            continue
        try:
            quantity = int(str(raw).strip() or 0)
        except ValueError:
            errors.append(N_("Enter a whole number of %(code)s.", code=code))
            continue
        if not 0 <= quantity <= QUANTITY_MAX:
            errors.append(N_("Use between 0 and %(limit)d of each material.", limit=QUANTITY_MAX))
        elif quantity:
            chosen.append({"code": code, "quantity": quantity})
    if errors:
        raise ShippingInvalid({"materials": errors})
    return [{"code": f"box_{size}", "quantity": 1}, *chosen]


def _box(raw, suggestion: boxes.Suggestion) -> int:
    if raw in (None, ""):
        if suggestion.size is None:
            raise ShippingInvalid({"box_size": [
                N_("The items do not fit the largest box (160): choose a box, or ask for the"
                   " shipment to be split.")]})  # fmt: skip
        return suggestion.size
    try:
        size = int(raw)
    except (TypeError, ValueError):
        size = 0
    if size not in BOX_SIZES:
        raise ShippingInvalid({"box_size": [N_("Choose one of the box sizes %(sizes)s.",
                                               sizes=", ".join(map(str, BOX_SIZES)))]})  # fmt: skip
    return size


def _weight(raw, items: list[boxes.Item], size: int) -> tuple[int, str]:
    if raw not in (None, ""):
        try:
            grams = int(str(raw).strip())
        except ValueError:
            grams = 0
        if not 0 < grams <= WEIGHT_MAX:
            raise ShippingInvalid({"weight_g": [N_("Enter the weight in grams, 1 to %(limit)s.",
                                                   limit=f"{WEIGHT_MAX:,}")]})  # fmt: skip
        return grams, "entered"
    known = boxes.items_weight(items)
    if known is None:
        missing = ", ".join(i.sku for i in items if i.weight_g is None)
        raise ShippingInvalid({"weight_g": [
            N_("The catalog has no weight for %(skus)s: weigh the parcel and enter it.",
               skus=missing)]})  # fmt: skip
    return known + boxes.box_weight(size), "products"


def pack_shipment(
    session: UrakataSession,
    *,
    actor: Actor,
    shipment_id: int,
    key: str,
    box_size=None,
    weight_g=None,
    materials: dict | None = None,
    version: int | None = None,
) -> ShipmentPackage:
    """Record the packing of an inspected shipment and move it to *packed*."""
    if not key or len(key) > 100:
        raise ShippingInvalid({"key": [N_("The form has expired; open it again.")]})
    shipment = fulfilment.get_shipment(session, shipment_id)
    existing = package_of(session, shipment_id)
    if existing is not None and existing.request_key == key:
        raise DuplicateSubmission(existing)
    if shipment.status != "inspected" or existing is not None and existing.status != "unpacked":
        raise NotReady(N_("Shipment %(label)s is %(state)s: only an inspected shipment is"
                          " packed.", label=shipment.label, state=shipment.status))  # fmt: skip
    if version is not None and shipment.version != version:
        raise StaleShipping(f"shipment {shipment.id} is at version {shipment.version}")
    items = items_of(session, shipment)
    suggestion = boxes.suggest(items)
    size = _box(box_size, suggestion)
    used = _materials(materials or {}, size)
    grams, source = _weight(weight_g, items, size)
    now = utcnow()
    if existing is not None:
        session.delete(existing)
        session.flush()
    package = ShipmentPackage(
        shipment_id=shipment.id, status="packed", suggested_size=suggestion.size, box_size=size,
        weight_g=grams, weight_source=source, materials=used, packed_at=now,
        packed_by=actor.label[:200], request_key=key, version=1,
    )  # fmt: skip
    session.add(package)
    session.flush()
    data = {"box_size": size, "suggested_size": suggestion.size, "weight_g": grams,
            "weight_source": source, "materials": used}  # fmt: skip
    fulfilment.advance_shipment(session, actor=actor, shipment_id=shipment.id, status="packed",
                                version=version, data=data)  # fmt: skip
    return package


# -- cancelled after packing ---------------------------------------------------------------------


def _unpack_task(session: UrakataSession, actor: Actor, shipment: Shipment, package, reason):
    existing = session.scalar(select(UnpackTask).where(UnpackTask.shipment_id == shipment.id))
    if existing is not None:
        return existing
    lines = [{"sku": line.sku, "name": line.name, "quantity": line.quantity,
              "bin_code": line.bin_code, "lot_no": line.lot_no}
             for line in shipment.lines]  # fmt: skip
    task = UnpackTask(shipment_id=shipment.id, order_id=shipment.order_id,
                      box_size=package.box_size, lines=lines, reason=reason[:200],
                      status="open", created_at=utcnow(), done_by="")  # fmt: skip
    session.add(task)
    session.flush()
    audit.record(session, actor, "shipping.unpack_requested", object_type="shipment",
                 object_id=shipment.id, data={"task": task.id, "reason": reason,
                                              "lines": lines})  # fmt: skip
    return task


def cancel_packed(
    session: UrakataSession, *, actor: Actor, shipment_id: int, reason: str
) -> UnpackTask:
    """Cancel a packed shipment before it is handed over: an unpack task, and the picked
    pieces' put-back tasks (fulfilment's), which book them in again when done."""
    reason = " ".join((reason or "").split())[:200]
    if not reason:
        raise ShippingInvalid({"reason": [N_("Say why the shipment is cancelled.")]})
    shipment = fulfilment.get_shipment(session, shipment_id)
    package = package_of(session, shipment_id)
    if shipment.status != "packed" or package is None or package.status != "packed":
        raise NotReady(N_("Shipment %(label)s is %(state)s: only a packed shipment that has not"
                          " left is unpacked.", label=shipment.label,
                          state=shipment.status))  # fmt: skip
    fulfilment.advance_shipment(session, actor=actor, shipment_id=shipment.id,
                                status="cancelled", data={"reason": reason})  # fmt: skip
    return _unpack_task(session, actor, shipment, package, reason)


def sweep_cancelled(session: UrakataSession, *, actor: Actor) -> int:
    """Unpack tasks for packed parcels whose shipment was cancelled elsewhere (the order
    was cancelled); how many were made."""
    found = session.execute(
        select(Shipment, ShipmentPackage)
        .join(ShipmentPackage, ShipmentPackage.shipment_id == Shipment.id)
        .outerjoin(UnpackTask, UnpackTask.shipment_id == Shipment.id)
        .where(
            Shipment.status == "cancelled",
            ShipmentPackage.status == "packed",
            UnpackTask.id.is_(None),
        )
        .order_by(Shipment.id)
    ).all()
    for shipment, package in found:
        _unpack_task(session, actor, shipment, package, shipment.end_reason or "cancelled")
    return len(found)


def list_unpack_tasks(session: UrakataSession, *, status: str = "open", limit: int = 200):
    return list(
        session.scalars(
            select(UnpackTask).where(UnpackTask.status == status).order_by(UnpackTask.id)
            .limit(limit)
        )
    )  # fmt: skip


def complete_unpack(session: UrakataSession, *, actor: Actor, task_id: int) -> UnpackTask:
    """The parcel is open and its pieces are back in their bins."""
    task = get_scoped(session, UnpackTask, task_id)
    if task.status == "done":
        raise DuplicateSubmission(task)
    put_backs = session.scalars(
        select(PutBackTask.id)
        .where(PutBackTask.shipment_id == task.shipment_id, PutBackTask.status == "open")
        .order_by(PutBackTask.id)
    ).all()
    for put_back_id in put_backs:
        fulfilment.complete_put_back(session, actor=actor, task_id=put_back_id)
    package = package_of(session, task.shipment_id)
    if package is not None:
        package.status = "unpacked"
    task.status, task.done_at, task.done_by = "done", utcnow(), actor.label[:200]
    session.flush()
    audit.record(session, actor, "shipping.unpacked", object_type="shipment",
                 object_id=task.shipment_id,
                 data={"task": task.id, "put_backs": list(put_backs)})  # fmt: skip
    return task


def materials_used(session: UrakataSession, *, since, until) -> dict[str, int]:
    """Materials of the parcels packed in [since, until), per code (boxes as box_<size>):
    what month-end billing charges per parcel."""
    used: dict[str, int] = {}
    rows = session.scalars(
        select(ShipmentPackage.materials).where(
            ShipmentPackage.packed_at >= since,
            ShipmentPackage.packed_at < until,
            ShipmentPackage.status != "unpacked",
        )
    )
    for materials in rows:
        for item in materials:
            used[item["code"]] = used.get(item["code"], 0) + int(item["quantity"])
    return dict(sorted(used.items()))
