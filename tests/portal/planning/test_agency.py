"""The agency's planning overview: each served shop's low stock and waiting proposals;
an operator sees only the shops they serve, shop users get 403."""

from __future__ import annotations

from tests.portal.stock.helpers import rows
from tests.tenants.planning.conftest import ADMIN
from urakata.tenants.planning import services


def test_operators_see_their_shops_low_stock(db, world, portal, shop_a, shop_b):
    with db.tenant_session(shop_a.id) as s:  # nothing in stock: low at once
        services.set_reorder_point(
            s, actor=ADMIN, product_id=shop_a.products["CUP-1"], data={"reorder_point": 2}
        )
    portal.login(world.agency_admin)
    html = portal.get("/agency/planning").get_data(as_text=True)
    assert rows(html, "agency-planning-row", "shop", "low") == [("shop-a", "1"), ("shop-b", "0")]
    portal.logout()
    portal.login(world.operator_b)
    html = portal.get("/agency/planning").get_data(as_text=True)
    assert rows(html, "agency-planning-row", "shop", "low") == [("shop-b", "0")]
    portal.logout()
    portal.login(world.shop_admin_a)
    assert portal.get("/agency/planning").status_code == 403
