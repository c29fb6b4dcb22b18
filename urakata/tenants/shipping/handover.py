"""Handover (引き渡し): a carrier's pickup takes the shop's packed, labelled parcels.

:func:`hand_over` takes the packed shipments of one carrier that have tracking numbers
(all of them, or those chosen), marks them shipped at the handover time and records the
:class:`Handover` with its counts; its manifest (:func:`manifest_html`) is the page the
driver signs. The stock left the bins when the shipments were picked (fulfilment's
``pick`` movements, key ``shipment:<id>:pick``): each is checked to be on the ledger of
movements before a parcel is let go, so no parcel leaves without its stock having left.
Each shipment's mail to the customer and, for a Shopify order of a shop that asked for
it, its fulfilment in Shopify are asked of the worker through the outbox. The form's
one-time key makes a double submission find the first handover; the packages are taken
by a conditional update, so two handovers racing for a parcel cannot both get it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import func, select, update

from urakata.platform import audit, outbox
from urakata.platform.audit import Actor
from urakata.platform.db import UrakataSession, utcnow
from urakata.platform.fields import N_
from urakata.platform.tenancy import Tenant, get_scoped
from urakata.tenants.fulfilment import services as fulfilment
from urakata.tenants.fulfilment.models import Shipment
from urakata.tenants.orders.models import Order
from urakata.tenants.shipping.carrier_files import FORMAT_OF_CARRIER, load_map, tracking_url
from urakata.tenants.shipping.errors import DuplicateSubmission, NotReady, ShippingInvalid
from urakata.tenants.shipping.models import (
    Handover,
    ShipmentPackage,
    ShipmentTracking,
    ShippedMail,
    ShopifyFulfilment,
)
from urakata.tenants.shipping.settings import get_options
from urakata.tenants.stock.ledger import key_used

MAIL_JOB = "shipping.send_shipped_mail"
SHOPIFY_JOB = "shipping.post_shopify_fulfilment"
MAIL_QUEUE = "mail"
SHOPIFY_QUEUE = "default"
HANDOVER_MAX = 5_000


@dataclass(frozen=True)
class ReadyParcel:
    shipment: Shipment
    package: ShipmentPackage
    tracking: ShipmentTracking | None


def ready_parcels(session: UrakataSession, carrier: str) -> list[ReadyParcel]:
    """The carrier's packed parcels still here, by shipment id (with their numbers)."""
    rows = session.execute(
        select(Shipment, ShipmentPackage, ShipmentTracking)
        .join(ShipmentPackage, ShipmentPackage.shipment_id == Shipment.id)
        .outerjoin(ShipmentTracking, ShipmentTracking.shipment_id == Shipment.id)
        .where(
            Shipment.carrier == carrier,
            Shipment.status == "packed",
            ShipmentPackage.status == "packed",
        )
        .order_by(Shipment.id)
        .limit(HANDOVER_MAX)
    ).all()
    return [ReadyParcel(s, p, t) for s, p, t in rows]


def _next_number(session: UrakataSession) -> int:
    return (session.scalar(select(func.max(Handover.number))) or 0) + 1


def hand_over(
    session: UrakataSession,
    *,
    actor: Actor,
    carrier: str,
    key: str,
    shipment_ids: list[int] | None = None,
    expected: int | None = None,
) -> Handover:
    """Hand the carrier's ready parcels over (those of ``shipment_ids`` when given).
    ``expected`` is the count the operator saw: a different count now refuses it."""
    if carrier not in FORMAT_OF_CARRIER:
        raise ShippingInvalid({"carrier": [N_("Choose a carrier.")]})
    if not key or len(key) > 100:
        raise ShippingInvalid({"key": [N_("The form has expired; open it again.")]})
    found = session.scalar(select(Handover).where(Handover.request_key == key))
    if found is not None:
        raise DuplicateSubmission(found)
    ready = ready_parcels(session, carrier)
    if shipment_ids is not None:
        wanted = set(shipment_ids)
        ready = [p for p in ready if p.shipment.id in wanted]
        missing = wanted - {p.shipment.id for p in ready}
        if missing:
            raise ShippingInvalid({"shipments": [
                N_("Not packed for this carrier, or gone already: %(labels)s.",
                   labels=", ".join(f"SH{i:010d}" for i in sorted(missing)))]})  # fmt: skip
    if not ready:
        raise NotReady(N_("No packed parcels are waiting for this carrier."))
    if expected is not None and expected != len(ready):
        raise NotReady(N_("%(count)d parcels are waiting now, not %(expected)d as the page"
                          " showed: check them and hand over again.", count=len(ready),
                          expected=expected))  # fmt: skip
    unlabelled = [p.shipment.label for p in ready if p.tracking is None]
    if unlabelled:
        raise ShippingInvalid({"shipments": [
            N_("These parcels have no tracking number yet: %(labels)s. Import the carrier's"
               " export or enter the numbers first.", labels=", ".join(unlabelled))]})  # fmt: skip
    unpicked = [p.shipment.label for p in ready
                if not key_used(session, f"shipment:{p.shipment.id}:pick")]  # fmt: skip
    if unpicked:
        raise NotReady(N_("The pick of %(labels)s is not on the stock ledger; it cannot leave.",
                          labels=", ".join(unpicked)))  # fmt: skip
    now = utcnow()
    ids = [p.shipment.id for p in ready]
    handover = Handover(
        number=_next_number(session), carrier=carrier, request_key=key, handed_over_at=now,
        parcel_count=len(ready),
        cool_counts=dict(Counter(p.shipment.cool_type for p in ready)),
        size_counts={str(k): v for k, v in sorted(Counter(p.package.box_size
                                                          for p in ready).items())},
        cod_count=sum(1 for p in ready if p.shipment.cod_yen),
        cod_total_yen=sum(p.shipment.cod_yen for p in ready),
        handed_over_by=actor.label[:200],
    )  # fmt: skip
    session.add(handover)
    session.flush()
    taken = session.execute(
        update(ShipmentPackage)
        .where(ShipmentPackage.shipment_id.in_(ids), ShipmentPackage.status == "packed")
        .values(status="shipped", handover_id=handover.id, shipped_at=now,
                version=ShipmentPackage.version + 1)
        .returning(ShipmentPackage.shipment_id)
        .execution_options(synchronize_session=False)
    ).scalars().all()  # fmt: skip
    if len(taken) != len(ids):
        raise NotReady(N_("Some of these parcels were handed over meanwhile; open the page"
                          " again."))  # fmt: skip
    for p in ready:
        session.refresh(p.package)
        fulfilment.advance_shipment(
            session, actor=actor, shipment_id=p.shipment.id, status="shipped",
            data={"tracking_no": p.tracking.tracking_no, "carrier": carrier,
                  "handover": handover.label},
        )  # fmt: skip
    _after_shipping(session, ready)
    audit.record(session, actor, "shipping.handed_over", object_type="handover",
                 object_id=handover.id,
                 data={"label": handover.label, "carrier": carrier,
                       "parcels": handover.parcel_count, "cod_count": handover.cod_count,
                       "cod_total_yen": handover.cod_total_yen,
                       "shipments": [{"id": p.shipment.id, "tracking_no": p.tracking.tracking_no}
                                     for p in ready]})  # fmt: skip
    return handover


def _after_shipping(session: UrakataSession, ready: list[ReadyParcel]) -> None:
    """Ask for each parcel's mail, and its Shopify fulfilment where the shop wants it."""
    options = get_options(session)
    channels = dict(
        session.execute(
            select(Order.id, Order.channel).where(
                Order.id.in_({p.shipment.order_id for p in ready})
            )
        ).all()
    )
    for p in ready:
        sid = p.shipment.id
        if session.get(ShippedMail, (session.tenant_id, sid)) is None:
            session.add(ShippedMail(shipment_id=sid, status="queued", updated_at=utcnow()))
        outbox.enqueue(session, MAIL_JOB, queue=MAIL_QUEUE, shop_id=session.tenant_id,
                       shipment_id=sid)  # fmt: skip
        if options.shopify_ready and channels.get(p.shipment.order_id) == "shopify":
            if session.get(ShopifyFulfilment, (session.tenant_id, sid)) is None:
                session.add(ShopifyFulfilment(shipment_id=sid, status="queued",
                                              updated_at=utcnow()))  # fmt: skip
            outbox.enqueue(session, SHOPIFY_JOB, queue=SHOPIFY_QUEUE,
                           shop_id=session.tenant_id, shipment_id=sid)  # fmt: skip
    session.flush()


# -- reading ---------------------------------------------------------------------------------------


def get_handover(session: UrakataSession, handover_id: int) -> Handover:
    return get_scoped(session, Handover, handover_id)


def list_handovers(
    session: UrakataSession,
    *,
    carrier: str | None = None,
    before_id: int | None = None,
    limit: int = 30,
) -> list[Handover]:
    stmt = select(Handover).order_by(Handover.id.desc()).limit(limit)
    if carrier:
        stmt = stmt.where(Handover.carrier == carrier)
    if before_id is not None:
        stmt = stmt.where(Handover.id < before_id)
    return list(session.scalars(stmt))


@dataclass(frozen=True)
class ManifestLine:
    label: str
    tracking_no: str
    order_number: str
    ship_name: str
    prefecture: str
    box_size: int
    weight_g: int
    cool_type: str
    cod_yen: int


def manifest_lines(session: UrakataSession, handover_id: int) -> list[ManifestLine]:
    rows = session.execute(
        select(Shipment, ShipmentPackage, ShipmentTracking, Order.external_id)
        .join(ShipmentPackage, ShipmentPackage.shipment_id == Shipment.id)
        .join(ShipmentTracking, ShipmentTracking.shipment_id == Shipment.id)
        .join(Order, Order.id == Shipment.order_id)
        .where(ShipmentPackage.handover_id == handover_id)
        .order_by(Shipment.id)
    ).all()
    from urakata.platform import jpaddress

    return [
        ManifestLine(s.label, t.tracking_no, number, s.ship_name,
                     jpaddress.PREFECTURES.get(jpaddress.prefecture_code(s.ship_prefecture) or "",
                                               s.ship_prefecture),
                     p.box_size, p.weight_g, s.cool_type, s.cod_yen)
        for s, p, t, number in rows
    ]  # fmt: skip


def manifest_context(session: UrakataSession, handover_id: int) -> dict:
    handover = get_handover(session, handover_id)
    tenant = session.get(Tenant, session.tenant_id)
    lines = manifest_lines(session, handover_id)
    return {
        "shop": tenant.name,
        "handover": handover,
        "carrier": load_map(FORMAT_OF_CARRIER[handover.carrier]).name,
        "handed_over_at": handover.handed_over_at.astimezone(tenant.zone),
        "lines": lines,
        "weight_total_g": sum(line.weight_g for line in lines),
    }


def tracking_link(carrier: str, number: str) -> str:
    return tracking_url(carrier, number)
