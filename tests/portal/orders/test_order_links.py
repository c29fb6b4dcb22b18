"""Each row of the queue and of a shop's order list links to that order's page under its
own shop (the lists build the link from one prefix a shop, not once a row)."""

from __future__ import annotations

import re

from tests.portal.orders.helpers import take


def links(html: str, external_ids: list[str]) -> dict[str, str]:
    found = dict(
        (external, href)
        for href, external in re.findall(r'<a href="([^"]+)"><code>([^<]+)</code></a>', html)
    )
    return {e: found[e] for e in external_ids}


def test_queue_rows_link_to_their_own_shops_order_page(db, world, portal):
    a = take(db, world, world.shop_a, "A-1")
    b = take(db, world, world.shop_b, "B-1")
    portal.login(world.agency_admin)
    html = portal.get("/agency/orders").get_data(as_text=True)
    assert links(html, ["A-1", "B-1"]) == {
        "A-1": f"/s/shop-a/orders/{a}",
        "B-1": f"/s/shop-b/orders/{b}",
    }
    for href in (f"/s/shop-a/orders/{a}", f"/s/shop-b/orders/{b}"):
        assert portal.get(href).status_code == 200


def test_list_rows_link_to_the_order_page(db, world, portal):
    first = take(db, world, world.shop_b, "B-1")
    second = take(db, world, world.shop_b, "B-2")
    portal.login(world.operator_b)
    html = portal.get("/s/shop-b/orders").get_data(as_text=True)
    assert links(html, ["B-1", "B-2"]) == {
        "B-1": f"/s/shop-b/orders/{first}",
        "B-2": f"/s/shop-b/orders/{second}",
    }
