"""The operator's order queue: the open orders of the shops they serve, soonest ship-by
first, with filters; another shop's orders never appear."""

from __future__ import annotations

import re
from datetime import timedelta

from tests.portal.orders.helpers import GOOD, load, take
from urakata.platform.db import utcnow


def rows(html: str) -> list[tuple[str, str]]:
    return re.findall(
        r'data-testid="queue-row" data-shop="([^"]+)" data-external-id="([^"]+)"', html
    )


def _set_ship_by(db, shop, order_id, days):
    from urakata.tenants.orders.models import Order

    with db.tenant_session(shop.id) as s:
        order = s.get(Order, (shop.id, order_id))
        order.ship_by_at = utcnow() + timedelta(days=days)
        order.ship_by_date = (utcnow() + timedelta(days=days)).date()


def test_the_operator_sees_the_orders_of_assigned_shops_only_soonest_first(db, world, portal):
    late = take(db, world, world.shop_a, "A-LATE")
    soon = take(db, world, world.shop_a, "A-SOON")
    held = take(db, world, world.shop_a, "A-HELD", ship_to={**GOOD["ship_to"], "phone": "12"})
    take(db, world, world.shop_b, "B-1")
    _set_ship_by(db, world.shop_a, late, 5)
    _set_ship_by(db, world.shop_a, soon, 1)
    assert load(db, world.shop_a, held).status == "on_hold"
    portal.login(world.operator_a)
    home = portal.get("/agency/home").get_data(as_text=True)
    assert 'href="/agency/orders"' in home and "受注処理キュー" in home
    html = portal.get("/agency/orders").get_data(as_text=True)
    assert "受注処理キュー" in html
    assert rows(html) == [("shop-a", "A-HELD"), ("shop-a", "A-SOON"), ("shop-a", "A-LATE")]
    assert f'href="/s/shop-a/orders/{soon}"' in html
    assert "B-1" not in html and world.shop_b.name not in html
    assert portal.get("/agency/orders?shop=shop-b").status_code == 404
    filtered = {
        "status=on_hold": ["A-HELD"],
        "hold=phone": ["A-HELD"],
        "payment=paid": [],
        "until=" + (utcnow() + timedelta(days=2)).date().isoformat(): ["A-SOON"],
        "shop=shop-a&status=released": ["A-SOON", "A-LATE"],
    }
    for query, expected in filtered.items():
        got = [
            external
            for _shop, external in rows(
                portal.get(f"/agency/orders?{query}").get_data(as_text=True)
            )
        ]
        assert got == expected, query


def test_the_agency_admin_sees_every_shop_and_filters_by_shop(db, world, portal):
    take(db, world, world.shop_a, "A-1")
    take(db, world, world.shop_b, "B-1")
    portal.login(world.agency_admin)
    assert sorted(rows(portal.get("/agency/orders").get_data(as_text=True))) == [
        ("shop-a", "A-1"),
        ("shop-b", "B-1"),
    ]
    assert rows(portal.get("/agency/orders?shop=shop-b").get_data(as_text=True)) == [
        ("shop-b", "B-1")
    ]


def test_shop_users_have_no_queue(world, portal):
    portal.login(world.shop_admin_a)
    assert portal.get("/agency/orders").status_code == 403
