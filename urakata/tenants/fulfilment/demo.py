"""The demo's shipping instructions, waves and picking: every allocated order of each
shop instructed, waves built by the rules, and in each shop's first wave a few shipments
scanned to inspection (one wrong item refused on the way) — so the wave board, the wave
page with its progress and the shop's shipment states all have something to show.

Everything goes through the services, as the portal and the jobs would do it.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select

from urakata.platform.audit import Actor
from urakata.platform.db import Database
from urakata.platform.tenancy import Tenant
from urakata.tenants.catalog.models import Product
from urakata.tenants.fulfilment import services as fulfilment
from urakata.tenants.fulfilment.models import Shipment

PICKER = Actor.system("demo seed: 出荷担当")
SCANNED_SHIPMENTS = 3


def seed_fulfilment(db: Database, tenants: dict[str, Tenant]) -> None:
    for tenant in tenants.values():
        _seed_shop(db, tenant)


def _seed_shop(db: Database, tenant: Tenant) -> None:
    with db.tenant_session(tenant.id) as session:
        for order_id in fulfilment.orders_to_instruct(session, limit=1_000):
            fulfilment.instruct_order(session, actor=PICKER, order_id=order_id)
        rules = fulfilment.WaveRules(max_shipments=30, max_units=120)
        waves = fulfilment.build_waves(session, actor=PICKER, rules=rules, key="demo")
        if not waves:
            return
        first = waves[0].id
    with db.tenant_session(tenant.id) as session:
        shipments = fulfilment.shipments_of_wave(session, first)[:SCANNED_SHIPMENTS]
        codes = _codes(session, {x.product_id for s in shipments for x in s.lines})
        for n, shipment in enumerate(shipments):
            if n == 0:
                _wrong_item(session, shipment, codes)
            _scan_all(session, shipment, codes)


def _codes(session, product_ids: set[int]) -> dict[int, str]:
    rows = session.execute(
        select(Product.id, Product.jan, Product.sku).where(Product.id.in_(product_ids))
    )
    return {r.id: r.jan or r.sku for r in rows}


def _scan(session, shipment: Shipment, code: str, lot_no: str = "") -> None:
    fulfilment.scan(
        session,
        actor=PICKER,
        shipment_id=shipment.id,
        code=code,
        lot_no=lot_no,
        scan_key=uuid.uuid4().hex,
    )


def _wrong_item(session, shipment: Shipment, codes: dict[int, str]) -> None:
    mine = {x.product_id for x in shipment.lines}
    other = next((c for p, c in codes.items() if p not in mine), None)
    _scan(session, shipment, other or "4999999999999")


def _scan_all(session, shipment: Shipment, codes: dict[int, str]) -> None:
    for line in list(shipment.lines):
        for _ in range(line.quantity - line.scanned):
            _scan(session, shipment, codes[line.product_id], line.lot_no)
