"""The shop's stock pages: the list per SKU, a SKU's bins, lots and movements, and who
may receive or allocate; every page answers every role of the shop."""

from __future__ import annotations

import pytest

from tests.factories import make_user
from tests.portal.stock.helpers import rows
from tests.tenants.stock.conftest import (
    OPERATOR,
    PICK_1,
    PICK_2,
    RESERVE_1,
    line,
    order,
    put_away,
    set_policy,
    soon,
)
from urakata.platform.identity import Role
from urakata.tenants.stock.allocation import allocate_order


def _stocked(db, shop):
    put_away(
        db,
        shop,
        line("CUP-1", 6, PICK_1),
        line("CUP-1", 10, RESERVE_1),
        line("TEA-100", 8, PICK_2, "L-SOON", soon(5)),
        line("TEA-100", 20, RESERVE_1, "L-LATER", soon(200)),
    )
    taken = order(db, shop, ("CUP-1", 4))
    with db.tenant_session(shop.id) as s:
        allocate_order(s, actor=OPERATOR, order_id=taken.id)
    return taken


def test_the_stock_list_shows_on_hand_allocated_and_available_per_sku(db, world, portal, shop_a):
    set_policy(db, shop_a, min_shelf_life_days=30)
    _stocked(db, shop_a)
    portal.login(world.shop_admin_a)
    assert 'href="/s/shop-a/stock"' in portal.get("/s/shop-a/").get_data(as_text=True)
    html = portal.get("/s/shop-a/stock").get_data(as_text=True)
    assert rows(html, "stock-row", "sku", "on-hand", "allocated", "available") == [
        ("CUP-1", "16", "4", "12"),
        ("POT-1", "0", "0", "0"),
        ("TEA-100", "28", "0", "20"),  # L-SOON is within the 30 days' minimum shelf life
    ]
    assert 'data-testid="stock-receive-link"' not in html  # receiving is the agency's
    only = portal.get("/s/shop-a/stock?in_stock=1&q=tea").get_data(as_text=True)
    assert rows(only, "stock-row", "sku") == [("TEA-100",)]


def test_the_list_pages_by_sku(db, world, portal, shop_a, monkeypatch):
    from urakata.portal.shop import stock_views

    monkeypatch.setattr(stock_views, "PER_PAGE", 2)
    portal.login(world.shop_admin_a)
    first = portal.get("/s/shop-a/stock").get_data(as_text=True)
    assert rows(first, "stock-row", "sku") == [("CUP-1",), ("POT-1",)]
    second = portal.get("/s/shop-a/stock?after=POT-1").get_data(as_text=True)
    assert rows(second, "stock-row", "sku") == [("TEA-100",)]
    assert 'data-testid="stock-next"' in first and 'data-testid="stock-next"' not in second


def test_a_skus_page_shows_its_bins_lots_and_movements(db, world, portal, shop_a):
    set_policy(db, shop_a, min_shelf_life_days=30)
    taken = _stocked(db, shop_a)
    portal.login(world.operator_a)
    tea = portal.get(f"/s/shop-a/stock/{shop_a.products['TEA-100']}").get_data(as_text=True)
    assert rows(tea, "stock-level", "bin", "lot", "state") == [
        (PICK_2, "L-SOON", "short_life"),
        (RESERVE_1, "L-LATER", "sellable"),
    ]
    assert rows(tea, "stock-lot", "lot") == [("L-SOON",), ("L-LATER",)]  # FEFO order
    cup = portal.get(f"/s/shop-a/stock/{shop_a.products['CUP-1']}").get_data(as_text=True)
    assert rows(cup, "stock-movement", "kind") == [("allocation",), ("receipt",), ("receipt",)]
    assert f'href="/s/shop-a/orders/{taken.id}"' in cup
    assert 'data-testid="stock-available"><strong>12<' in cup


def test_movement_history_pages_back_in_time(db, world, portal, shop_a, monkeypatch):
    from urakata.portal.shop import stock_views

    monkeypatch.setattr(stock_views, "HISTORY_PER_PAGE", 2)
    for n in range(3):
        put_away(db, shop_a, line("CUP-1", n + 1, PICK_1), reference=f"IN-{n}")
    portal.login(world.shop_admin_a)
    url = f"/s/shop-a/stock/{shop_a.products['CUP-1']}"
    newest = portal.get(url).get_data(as_text=True)
    assert "IN-2" in newest and "IN-1" in newest and "IN-0" not in newest
    older = portal.get(
        newest.split('data-testid="stock-movements-older"')[0]
        .rsplit('href="', 1)[1]
        .split('"')[0]
        .replace("&amp;", "&")
    )
    assert "IN-0" in older.get_data(as_text=True)


@pytest.mark.parametrize(
    "url",
    ["/s/shop-a/stock/receive", "/s/shop-a/stock/transfer"],
)
def test_receiving_and_moving_are_the_agencys_work(db, world, portal, shop_a, url):
    portal.login(world.shop_admin_a)
    assert portal.get(url).status_code == 403
    portal.logout()
    portal.login(make_user(db, Role.shop_staff, world.shop_a))
    assert portal.get(url).status_code == 403
    assert portal.post_form(url, {}, form_url="/account").status_code == 403
    portal.logout()
    portal.login(world.operator_a)
    assert portal.get(url).status_code == 200


@pytest.mark.parametrize("who", ["shop_admin_a", "operator_a", "agency_admin", "auditor"])
def test_every_stock_page_answers_every_role_of_the_shop(db, world, portal, shop_a, who):
    taken = _stocked(db, shop_a)
    portal.login(getattr(world, who))
    pages = [
        "/s/shop-a/stock",
        f"/s/shop-a/stock/{shop_a.products['CUP-1']}",
        "/s/shop-a/stock/waiting",
        "/s/shop-a/stock/receive",
        "/s/shop-a/stock/transfer",
    ]
    answers = {url: portal.get(url).status_code for url in pages}
    allowed = who in ("operator_a", "agency_admin")
    assert answers == {
        **dict.fromkeys(pages[:3], 200),
        **dict.fromkeys(pages[3:], 200 if allowed else 403),
    }
    assert taken.id
