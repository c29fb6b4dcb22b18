"""The demo's stock: bins for every shop and some free, lots with dates, the released
orders allocated except those of the SKUs received short, and a clean daily check."""

from __future__ import annotations

from sqlalchemy import select

from tests.tenants.sasage.test_demo import _demo_shops
from urakata.platform.audit import Actor
from urakata.platform.locations import Location
from urakata.tenants.orders import services as orders
from urakata.tenants.orders.models import Order
from urakata.tenants.stock.demo import SHORT, seed_stock
from urakata.tenants.stock.models import StockLevel, StockReconciliation

SHIP_TO = {
    "name": "山田 花子",
    "postal_code": "100-0001",
    "prefecture": "東京都",
    "city": "千代田区",
    "street": "千代田1-1",
    "phone": "03-1234-5678",
}


def _orders(db, tenant, skus: list[str], count: int) -> None:
    with db.tenant_session(tenant.id) as s:
        for n in range(count):
            sku = skus[n % len(skus)]
            orders.intake(
                s,
                actor=Actor.system("test"),
                channel="api",
                data={
                    "external_id": f"D-{n}",
                    "customer": {"name": "山田 花子", "email": f"d{n}@example.jp"},
                    "ship_to": SHIP_TO,
                    "payment_method": "cod",
                    "lines": [{"sku": sku, "quantity": 1 + n % 3, "unit_price_yen": 1000}],
                },
            )


def test_the_demo_stock_allocates_what_it_can_and_holds_the_short_skus(db):
    tenants = _demo_shops(db)
    _orders(db, tenants["hanabi-tea"], ["HT-SEN-100", "HT-GYO-50", "HT-YUN-ARI"], 12)
    _orders(db, tenants["kumo-apparel"], ["KA-TEE-WHT-M", "KA-DNM-W30"], 6)
    seed_stock(db, tenants)
    with db.platform_session() as s:
        bins = s.scalars(select(Location)).all()
    assert {b.shop_id for b in bins} == {None} | {t.id for t in tenants.values()}
    with db.tenant_session(tenants["hanabi-tea"].id) as s:
        statuses = {(o.lines[0].sku, o.status) for o in s.scalars(select(Order))}
        assert statuses == {
            ("HT-SEN-100", "allocated"),
            ("HT-YUN-ARI", "allocated"),
            ("HT-GYO-50", "allocated"),
            ("HT-GYO-50", "on_hold"),
        }
        assert "HT-GYO-50" in SHORT["hanabi-tea"]
        outlet = s.scalars(select(StockLevel).where(StockLevel.lot_no == "L-OUTLET")).one()
        assert (outlet.on_hand, outlet.allocated) == (12, 0)  # within the 30 days: never
        lots = {lv.lot_no for lv in s.scalars(select(StockLevel)) if lv.best_before}
        assert len(lots) > 10
    for tenant in tenants.values():
        with db.tenant_session(tenant.id) as s:
            assert [r.ok for r in s.scalars(select(StockReconciliation))] == [True]
