"""The demo's packing and handover: each shop has parcels packed in their boxes, most with
tracking numbers, yesterday's pickup handed over (shipped, mails queued), today's parcels
waiting for the driver, one parcel cancelled after packing waiting to be unpacked, and
its own slip message. Shipments come from fulfilment's seed when it made inspected ones;
otherwise a few allocated orders are instructed, waved and scanned here first.

Everything goes through the services, as the portal and the jobs would do it.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select

from urakata.platform.audit import Actor
from urakata.platform.db import Database
from urakata.platform.tenancy import Tenant
from urakata.tenants.fulfilment import services as fulfilment
from urakata.tenants.fulfilment.models import Shipment
from urakata.tenants.orders.models import Order
from urakata.tenants.shipping import handover, packing, settings, tracking
from urakata.tenants.shipping.errors import NotReady, ShippingInvalid

PACKER = Actor.system("demo seed: 梱包担当")
WANTED = 12  # inspected shipments per shop to work with
MESSAGES = {
    "hanabi-tea": "このたびは花火茶舗をご利用いただきありがとうございます。"
    "お茶は高温多湿を避けて保存してください。",
    "kumo-apparel": "ご購入ありがとうございます。サイズ交換は到着後7日以内に承ります。",
    "sora-cosme": "",
}
GIFT_SHOPS = ("sora-cosme",)  # prices left off the slip


def _tracking_number(n: int) -> str:
    first = f"{40000000000 + n * 7919:011d}"
    return first + str(int(first) % 7)


def _make_inspected(session, wanted: int) -> None:
    """Instruct, wave and scan allocated orders until ``wanted`` shipments are inspected."""
    have = len(fulfilment.list_shipments(session, statuses=("inspected",), limit=wanted))
    if have >= wanted:
        return
    orders = session.scalars(
        select(Order.id).where(Order.status == "allocated").order_by(Order.id).limit(wanted - have)
    ).all()
    made = []
    for order_id in orders:
        try:
            made += [s.id for s in fulfilment.instruct_order(session, actor=PACKER,
                                                             order_id=order_id)]  # fmt: skip
        except (fulfilment.IllegalShipmentMove, fulfilment.FulfilmentInvalid):
            continue
    if made:
        fulfilment.create_wave(session, actor=PACKER, shipment_ids=made,
                               request_key=f"demo-shipping-{uuid.uuid4()}")  # fmt: skip
    # Waved shipments not scanned yet (fulfilment's seed leaves some): scan them too.
    waiting = [s.id for s in fulfilment.list_shipments(session, statuses=("waved", "picking"),
                                                       limit=wanted - have)]  # fmt: skip
    for shipment_id in dict.fromkeys([*made, *waiting]):
        shipment = fulfilment.get_shipment(session, shipment_id)
        try:
            for line in shipment.lines:
                for _ in range(line.quantity):
                    fulfilment.scan(session, actor=PACKER, shipment_id=shipment_id,
                                    code=line.sku, lot_no=line.lot_no,
                                    scan_key=uuid.uuid4().hex)  # fmt: skip
        except (fulfilment.IllegalShipmentMove, fulfilment.FulfilmentInvalid):
            continue  # a shipment the station will not take stays for the operators


def _seed_shop(db: Database, tenant: Tenant, offset: int) -> None:
    with db.tenant_session(tenant.id) as session:
        options = settings.get_options(session)
        settings.update_options(session, actor=PACKER, version=options.version, data={
            "slip_message": MESSAGES.get(tenant.slug, ""),
            "slip_hide_prices": tenant.slug in GIFT_SHOPS})  # fmt: skip
    with db.tenant_session(tenant.id) as session:
        _make_inspected(session, WANTED)
    with db.tenant_session(tenant.id) as session:
        inspected = fulfilment.list_shipments(session, statuses=("inspected",), limit=WANTED)
        ids = [s.id for s in inspected]
    packed = []
    for n, shipment_id in enumerate(ids):
        with db.tenant_session(tenant.id) as session:
            try:
                packing.pack_shipment(session, actor=PACKER, shipment_id=shipment_id,
                                      key=f"demo-pack-{shipment_id}", weight_g=800 + 50 * n,
                                      materials={"cushioning": 1, "flyer": 1})  # fmt: skip
            except (ShippingInvalid, NotReady):
                continue
        packed.append(shipment_id)
    # Numbers for all but the last two (they wait for the carrier's export).
    for n, shipment_id in enumerate(packed[:-2]):
        with db.tenant_session(tenant.id) as session:
            tracking.set_tracking(session, actor=PACKER, shipment_id=shipment_id,
                                  number=_tracking_number(offset + n))  # fmt: skip
    half = packed[: max(len(packed) // 2, 0)]
    if half:
        with db.tenant_session(tenant.id) as session:
            carriers = {s.carrier for s in session.scalars(
                select(Shipment).where(Shipment.id.in_(half)))}  # fmt: skip
        for carrier in sorted(carriers):
            with db.tenant_session(tenant.id) as session:
                ready = [p.shipment.id for p in handover.ready_parcels(session, carrier)
                         if p.tracking is not None and p.shipment.id in half]  # fmt: skip
                if ready:
                    handover.hand_over(session, actor=PACKER, carrier=carrier,
                                       key=f"demo-handover-{tenant.slug}-{carrier}",
                                       shipment_ids=ready)  # fmt: skip
    rest = [s for s in packed if s not in half]
    if len(rest) > 3:
        with db.tenant_session(tenant.id) as session:
            packing.cancel_packed(session, actor=PACKER, shipment_id=rest[-1],
                                  reason="お客様のご都合によるキャンセル（梱包後）")  # fmt: skip


def seed_shipping(db: Database, tenants: dict[str, Tenant]) -> None:
    for offset, tenant in enumerate(tenants.values()):
        _seed_shop(db, tenant, offset * 100)
