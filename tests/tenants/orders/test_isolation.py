"""One shop's orders are invisible and untouchable to another; lists, the queue and daily
sales count the bound shop only, by its own local day."""

from __future__ import annotations

from datetime import date

import pytest

from tests.tenants.orders.conftest import OPERATOR, order_body, reload, take, tokyo
from urakata.platform.tenancy import NotFound, Tenant
from urakata.tenants.catalog.services import create_product
from urakata.tenants.orders import services
from urakata.tenants.orders.services import DailySales, OrderFilter


def test_another_shop_cannot_see_or_touch_the_order(db, shop, world, clock):
    order = take(db, shop, order_body(total_yen=1))
    with db.tenant_session(world.shop_b.id) as s:
        with pytest.raises(NotFound):
            services.get_order(s, order.id)
        assert services.list_orders(s).items == []
        assert services.queue(s, OrderFilter()) == []
        assert services.queue(s, OrderFilter(hold="totals")) == []
        assert services.count_by_status(s) == {}
        assert services.daily_sales(s, since=date(2026, 6, 1), until=date(2026, 6, 2)) == []
    attempts = (
        (services.release, {"version": order.version, "overrides": ["totals"]}),
        (services.put_on_hold, {"version": order.version, "note": "x"}),
        (services.cancel, {"version": order.version, "reason": "x"}),
        (services.record_payment, {"version": order.version, "status": "refunded"}),
        (services.edit_address, {"data": {"version": order.version, "street": "x"}}),
    )
    for fn, kwargs in attempts:
        with pytest.raises(NotFound), db.tenant_session(world.shop_b.id) as s:
            fn(s, actor=OPERATOR, order_id=order.id, **kwargs)
    after = reload(db, shop, order.id)
    assert (after.status, after.version) == ("on_hold", order.version)


def test_the_same_order_number_in_two_shops_is_two_orders(db, shop, world, clock):
    a = take(db, shop)
    b = take(db, world.shop_b)  # same customer and items: no duplicate across shops
    assert (a.external_id, a.status) == (b.external_id, b.status) == ("#1001", "released")
    assert a.tenant_id != b.tenant_id


def test_another_shops_catalog_does_not_count(db, shop, world, clock):
    with db.tenant_session(world.shop_b.id) as s:
        data = {"sku": "B-ONLY", "name": "x", "price_yen": 1, "status": "active"}
        create_product(s, actor=OPERATOR, data=data)
    body = order_body(lines=[{"sku": "B-ONLY", "quantity": 1, "unit_price_yen": 1}])
    assert take(db, shop, body).hold_codes == ["sku_unknown"]


def _order(db, shop, n, ordered_at, lines, customer=None, **changes):
    body = order_body(
        external_id=f"#{n}",
        ordered_at=ordered_at,
        customer={"email": f"c{n}@example.jp", **(customer or {})},
        lines=[{"sku": sku, "quantity": q, "unit_price_yen": p} for sku, q, p in lines],
        **changes,
    )
    return take(db, shop, body)


def test_daily_sales_by_the_shops_local_day_without_cancelled_orders(db, shop, world, clock):
    _order(db, shop, 1, "2026-06-01T00:10+09:00", [("TEA-001", 2, 1080)])
    _order(db, shop, 2, "2026-06-01T23:50+09:00", [("TEA-001", 1, 1080), ("CUP-001", 1, 1100)])
    _order(db, shop, 3, "2026-06-02T00:10+09:00", [("TEA-001", 5, 1000)])
    held = _order(db, shop, 4, "2026-06-02T12:00+09:00", [("TEA-001", 1, 1080)], total_yen=1)
    gone = _order(db, shop, 5, "2026-06-02T13:00+09:00", [("TEA-001", 9, 1080)])
    _order(db, shop, 6, "2026-06-03T00:00+09:00", [("TEA-001", 1, 1080)])  # outside
    _order(db, world.shop_b, 7, "2026-06-01T12:00+09:00", [("TEA-001", 50, 1080)])
    with db.tenant_session(shop.id) as s:
        services.cancel(s, actor=OPERATOR, order_id=gone.id, version=None, reason="x")
        sales = services.daily_sales(s, since=date(2026, 6, 1), until=date(2026, 6, 3))
        tea = services.daily_sales(s, since=date(2026, 6, 1), until=date(2026, 6, 3),
                                   sku="TEA-001")  # fmt: skip
    assert held.status == "on_hold"  # held orders still count as demand
    assert sales == [
        DailySales(date(2026, 6, 1), "CUP-001", 1, 1100),
        DailySales(date(2026, 6, 1), "TEA-001", 3, 3240),
        DailySales(date(2026, 6, 2), "TEA-001", 6, 6080),
    ]
    assert tea == [s for s in sales if s.sku == "TEA-001"]


def test_daily_sales_follow_the_shops_time_zone(db, shop, clock):
    with db.platform_session() as s:
        s.get(Tenant, shop.id).timezone = "America/Los_Angeles"
    # 10:00 JST on 6/2 is 18:00 PDT on 6/1.
    _order(db, shop, 1, "2026-06-02T10:00+09:00", [("TEA-001", 1, 1080)])
    with db.tenant_session(shop.id) as s:
        sales = services.daily_sales(s, since=date(2026, 6, 1), until=date(2026, 6, 2))
    assert [(r.day, r.quantity) for r in sales] == [(date(2026, 6, 1), 1)]


def test_lists_filter_and_page(db, shop, world, clock):
    first = _order(db, shop, 1, "2026-06-01T09:00+09:00", [("TEA-001", 1, 1080)])
    held = _order(db, shop, 2, "2026-06-01T09:10+09:00", [("TEA-001", 1, 1080)], total_yen=1)
    waiting = _order(db, shop, 3, "2026-06-01T09:20+09:00", [("TEA-001", 1, 1080)],
                     payment_method="bank_transfer", payment_status="unpaid")  # fmt: skip
    clock.set(tokyo(2026, 6, 1, 15, 0))  # after the cutoff: ships tomorrow
    late = _order(db, shop, 4, "2026-06-01T09:30+09:00", [("TEA-001", 1, 1080)],
                  customer={"name": "鈴木 一郎"})  # fmt: skip
    with db.tenant_session(shop.id) as s:
        page = services.list_orders(s, limit=3)
        rest = services.list_orders(s, limit=3, after_id=page.next_after)
        assert [o.id for o in page.items + rest.items] == [late.id, waiting.id, held.id, first.id]
        assert rest.next_after is None
        by = {
            "status": services.list_orders(s, OrderFilter(status="on_hold")),
            "payment": services.list_orders(s, OrderFilter(payment_status="unpaid")),
            "query": services.list_orders(s, OrderFilter(query="鈴木")),
            "ship_by": services.list_orders(s, OrderFilter(ship_by_until=date(2026, 6, 1))),
            "wildcard": services.list_orders(s, OrderFilter(query="%")),
        }
        assert {k: [o.id for o in v.items] for k, v in by.items()} == {
            "status": [held.id],
            "payment": [waiting.id],
            "query": [late.id],
            "ship_by": [first.id],
            "wildcard": [],
        }
        queued = services.queue(s, OrderFilter())
        # Orders without a clock (held, awaiting payment) first, then soonest ship-by.
        assert [o.id for o in queued] == [held.id, waiting.id, first.id, late.id]
        assert services.count_by_status(s) == {"released": 2, "on_hold": 1, "confirmed": 1}
