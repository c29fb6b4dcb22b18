"""The fulfilment services other parts call (packing and handover, the portal, the API).

The work lives in :mod:`.instructions` (出荷指示), :mod:`.waves`, :mod:`.picking`
(scan-checked picking, 検品, short picks, put-backs) and :mod:`.picklist` (the PDF);
this module adds the reads and the moves after inspection (packed, shipped), and names
the whole surface in one place (``var/fulfilment_interface.md`` describes it).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from urakata.platform import audit
from urakata.platform.audit import Actor
from urakata.platform.db import UrakataSession, utcnow
from urakata.platform.fields import N_
from urakata.tenants.fulfilment.errors import (  # noqa: F401 - the interface
    FulfilmentInvalid,
    IllegalShipmentMove,
    StaleShipment,
)
from urakata.tenants.fulfilment.instructions import (  # noqa: F401
    instruct_order,
    orders_to_instruct,
    set_shipping_choice,
)
from urakata.tenants.fulfilment.models import Shipment
from urakata.tenants.fulfilment.picking import (  # noqa: F401
    advance_order,
    cancel_order,
    complete_put_back,
    end_shipment,
    find_shipment_by_label,
    get_shipment,
    list_put_backs,
    mispicks,
    report_short,
    scan,
    withdraw_cancelled,
    withdraw_if_cancelled,
)
from urakata.tenants.fulfilment.waves import (  # noqa: F401
    ShipmentFilter,
    WaveFilter,
    WaveRules,
    build_waves,
    count_open,
    create_wave,
    get_wave,
    list_waves,
    open_shipments,
    refresh_wave,
    wave_progress,
)
from urakata.tenants.orders.models import Order

# Moves after inspection (packing and handover call advance_shipment).
SHIPMENT_TRANSITIONS: dict[str, frozenset[str]] = {
    "inspected": frozenset({"packed", "cancelled"}),
    "packed": frozenset({"shipped", "cancelled"}),
    "shipped": frozenset(),
}
STAMPS = {"packed": "packed_at", "shipped": "shipped_at", "cancelled": "ended_at"}


def shipments_of_wave(
    session: UrakataSession, wave_id: int, *, statuses: tuple[str, ...] | None = None
) -> list[Shipment]:
    """The wave's shipments (of the session's shop), by id."""
    get_wave(session, wave_id)
    stmt = select(Shipment).where(Shipment.wave_id == wave_id).order_by(Shipment.id)
    if statuses:
        stmt = stmt.where(Shipment.status.in_(statuses))
    return list(session.scalars(stmt))


def shipments_of_order(session: UrakataSession, order_id: int) -> list[Shipment]:
    return list(
        session.scalars(
            select(Shipment).where(Shipment.order_id == order_id).order_by(Shipment.part)
        )
    )


def order_numbers(session: UrakataSession, shipments: list[Shipment]) -> dict[int, str]:
    """The order numbers (external ids) of the shipments' orders, by order id."""
    ids = {s.order_id for s in shipments}
    if not ids:
        return {}
    rows = session.execute(select(Order.id, Order.external_id).where(Order.id.in_(ids)))
    return dict(rows.all())


def list_shipments(
    session: UrakataSession,
    *,
    statuses: tuple[str, ...] | None = None,
    carrier: str | None = None,
    wave_id: int | None = None,
    after_id: int | None = None,
    limit: int = 50,
) -> list[Shipment]:
    """The shop's shipments by id, filtered; keyset pages after ``after_id``."""
    stmt = select(Shipment).order_by(Shipment.id).limit(limit)
    if statuses:
        stmt = stmt.where(Shipment.status.in_(statuses))
    if carrier:
        stmt = stmt.where(Shipment.carrier == carrier)
    if wave_id is not None:
        stmt = stmt.where(Shipment.wave_id == wave_id)
    if after_id is not None:
        stmt = stmt.where(Shipment.id > after_id)
    return list(session.scalars(stmt))


def advance_shipment(
    session: UrakataSession,
    *,
    actor: Actor,
    shipment_id: int,
    status: str,
    version: int | None = None,
    data: dict[str, Any] | None = None,
) -> Shipment:
    """Move an inspected shipment on: packed, then shipped (or cancelled before it
    ships). The order follows when all its live shipments got there."""
    shipment = get_shipment(session, shipment_id)
    if version is not None and shipment.version != version:
        raise StaleShipment(f"shipment {shipment.id} is at version {shipment.version}")
    allowed = SHIPMENT_TRANSITIONS.get(shipment.status, frozenset())
    if status not in allowed:
        raise IllegalShipmentMove(
            N_(
                "A shipment in state %(state)s cannot become %(target)s.",
                state=shipment.status,
                target=status,
            )
        )
    if status == "cancelled":  # picked pieces go back to their bins
        end_shipment(
            session,
            actor,
            shipment,
            "cancelled",
            "cancelled",
            (data or {}).get("reason", "cancelled before handover"),
        )
        return shipment
    before = shipment.status
    now = utcnow()
    shipment.status = status
    setattr(shipment, STAMPS[status], now)
    shipment.updated_at = now
    session.flush()
    audit.record(
        session,
        actor,
        f"shipment.{status}",
        object_type="shipment",
        object_id=shipment.id,
        changes={"status": (before, status)},
        data={"version": shipment.version, **(data or {})},
    )
    advance_order(session, actor, shipment.order_id)
    return shipment
