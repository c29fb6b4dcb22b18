"""A corrected ship-to reaches the order's parcels still in the warehouse.

The order holds the address the customer asked for; each shipment keeps its own copy,
which the pick list, the slips and the carrier files print. When an operator corrects the
address of an order whose shipping instructions are made, its parcels not yet handed over
take the new address, each with a ``shipment.address_changed`` event on the ledger. A
parcel whose label is issued (the carrier gave it a tracking number) cannot: that label
carries the old address, so the change is refused, naming the parcel and its number.
"""

from __future__ import annotations

from sqlalchemy import select

from urakata.platform import audit
from urakata.platform.audit import Actor
from urakata.platform.db import UrakataSession, utcnow
from urakata.platform.fields import N_
from urakata.tenants.fulfilment.models import ENDED, Shipment
from urakata.tenants.orders.services import IllegalTransition
from urakata.tenants.shipping.tracking import tracking_of

FIELDS = ("name", "postal_code", "prefecture", "city", "street", "building", "phone")


def readdress_parcels(
    session: UrakataSession, *, actor: Actor, order_id: int, ship_to: dict[str, str]
) -> list[int]:
    """Copy ``ship_to`` onto the order's parcels not yet shipped; their ids. Raises
    :class:`IllegalTransition` (nothing changed) when one of them has its label already."""
    parcels = session.scalars(
        select(Shipment)
        .where(Shipment.order_id == order_id, Shipment.status.not_in((*ENDED, "shipped")))
        .order_by(Shipment.id)
        .with_for_update()
    ).all()
    labelled = tracking_of(session, [p.id for p in parcels])
    if labelled:
        first = next(p for p in parcels if p.id in labelled)
        raise IllegalTransition(
            N_(
                "Parcel %(label)s already has its label (tracking number %(number)s), which"
                " carries the old address: the address can no longer be changed here. Ask"
                " the carrier to redirect the parcel.",
                label=first.label,
                number=labelled[first.id].tracking_no,
            )
        )
    now = utcnow()
    for parcel in parcels:
        before = {name: getattr(parcel, f"ship_{name}") for name in FIELDS}
        after = {name: ship_to.get(name, "") or "" for name in FIELDS}
        changes = audit.diff(before, after)
        if not changes:
            continue
        for name, value in after.items():
            setattr(parcel, f"ship_{name}", value)
        parcel.updated_at = now
        session.flush()
        audit.record(
            session,
            actor,
            "shipment.address_changed",
            object_type="shipment",
            object_id=parcel.id,
            changes=changes,
            data={"order": order_id, "version": parcel.version},
        )
    return [p.id for p in parcels]
