"""The demo's fulfilment: allocated orders instructed, waves by rules, a few shipments of
each shop's first wave inspected with one refused scan on the way."""

from __future__ import annotations

from sqlalchemy import select

from tests.tenants.sasage.test_demo import _demo_shops
from tests.tenants.stock.test_demo import _orders
from urakata.tenants.fulfilment.demo import seed_fulfilment
from urakata.tenants.fulfilment.models import ScanEvent, Shipment, Wave
from urakata.tenants.orders.models import Order
from urakata.tenants.stock.demo import seed_stock


def test_the_demo_instructs_waves_and_inspects_some_shipments(db):
    tenants = _demo_shops(db)
    _orders(db, tenants["hanabi-tea"], ["HT-SEN-100", "HT-YUN-ARI"], 8)
    seed_stock(db, tenants)
    seed_fulfilment(db, tenants)
    with db.tenant_session(tenants["hanabi-tea"].id) as s:
        assert not s.scalars(select(Order).where(Order.status == "allocated")).all()
        assert s.scalars(select(Wave)).all()
        statuses = [x.status for x in s.scalars(select(Shipment))]
        assert statuses.count("inspected") >= 1
        outcomes = set(s.scalars(select(ScanEvent.outcome)))
        assert "ok" in outcomes and outcomes & {"wrong_item", "unknown_code"}
