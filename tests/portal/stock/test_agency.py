"""The agency's stock pages: the operator's overview (their shops only, the alert of a
failed daily check at the top), one shop's stock; the bins of the warehouse for agency
admins — made by range, assigned to a shop, changed on the version seen, released empty."""

from __future__ import annotations

import re

from sqlalchemy import text

from tests.portal.stock.helpers import hidden, rows
from tests.tenants.stock.conftest import OPERATOR, PICK_1, RESERVE_1, line, order, put_away
from urakata.platform.locations import find_location
from urakata.tenants.stock.reconciliation import reconcile


def test_the_operator_sees_the_stock_of_the_shops_they_serve(db, world, portal, shop_a, shop_b):
    put_away(db, shop_a, line("CUP-1", 2, PICK_1), line("CUP-1", 20, RESERVE_1))
    order(db, shop_a, ("POT-1", 1))
    portal.login(world.operator_a)
    assert 'data-testid="nav-stock"' in portal.get("/agency/stock").get_data(as_text=True)
    html = portal.get("/agency/stock").get_data(as_text=True)
    assert rows(html, "stock-overview-row", "shop") == [("shop-a",)]
    assert world.shop_b.name not in html
    one = portal.get("/agency/stock?shop=shop-a").get_data(as_text=True)
    assert rows(one, "stock-shop-row", "sku") == [("CUP-1",)]
    assert "/s/shop-a/stock/transfer?sku=CUP-1" in one  # the pick face wants replenishing
    assert portal.get("/agency/stock?shop=shop-b").status_code == 404
    assert portal.get("/agency/locations").status_code == 403


def test_a_failed_daily_check_is_at_the_top_of_the_agency_admins_page(
    db, world, portal, shop_a, shop_b
):
    put_away(db, shop_a, line("CUP-1", 2, PICK_1))
    with db.tenant_session(shop_a.id) as s:
        s.execute(text("UPDATE stock_level SET on_hand = 5"))
        reconcile(s, actor=OPERATOR)
    with db.tenant_session(shop_b.id) as s:
        reconcile(s, actor=OPERATOR)
    portal.login(world.agency_admin)
    html = portal.get("/agency/stock").get_data(as_text=True)
    assert rows(html, "stock-alert", "shop") == [("shop-a",)]
    assert "CUP-1" in html.split('data-testid="stock-alerts"')[1].split("</div>")[0]


def test_an_agency_admin_makes_assigns_changes_and_releases_bins(db, world, portal, shops):
    portal.login(world.agency_admin)
    made = portal.post_form(
        "/agency/locations",
        {
            "zone": "Ｋ",
            "aisle": "01-02",
            "shelf": "1",
            "bin": "1-2",
            "kind": "reserve",
            "first_sequence": "",
        },
    )
    assert made.status_code == 303
    listed = portal.get("/agency/locations?zone=K").get_data(as_text=True)
    assert rows(listed, "location-row", "code") == [
        ("K-01-1-1",),
        ("K-01-1-2",),
        ("K-02-1-1",),
        ("K-02-1-2",),
    ]
    bad = portal.post_form(
        "/agency/locations",
        {"zone": "K", "aisle": "9-1", "shelf": "1", "bin": "1", "kind": "reserve"},
    )
    assert bad.status_code == 422
    assigned = portal.post_form(
        "/agency/locations/assign",
        {"shop": "shop-b", "codes": "K-01-1-1 k-01-1-2"},
        form_url="/agency/locations",
    )
    assert assigned.status_code == 303
    taken = portal.post_form(
        "/agency/locations/assign",
        {"shop": "shop-a", "codes": "K-01-1-1"},
        form_url="/agency/locations",
    )
    assert taken.status_code == 422
    assert "K-01-1-1" in taken.get_data(as_text=True)
    with db.platform_session() as s:
        bin_ = find_location(s, "K-01-1-1")
        assert bin_.shop_id == world.shop_b.id
    page = portal.get(f"/agency/locations/{bin_.id}").get_data(as_text=True)
    version = hidden(page, "version")
    saved = portal.post_form(
        f"/agency/locations/{bin_.id}",
        {"version": version, "kind": "pick_face", "pick_sequence": "5"},
    )
    assert saved.status_code == 303
    stale = portal.post_form(
        f"/agency/locations/{bin_.id}",
        {"version": version, "kind": "reserve", "pick_sequence": "5"},
    )
    assert stale.status_code == 409
    fresh = hidden(portal.get(f"/agency/locations/{bin_.id}").get_data(as_text=True), "version")
    released = portal.post_form(
        f"/agency/locations/{bin_.id}/release",
        {"version": fresh},
        form_url=f"/agency/locations/{bin_.id}",
    )
    assert released.status_code == 303
    with db.platform_session() as s:
        assert find_location(s, "K-01-1-1").shop_id is None


def test_a_bin_with_stock_is_not_released(db, world, portal, shop_a):
    put_away(db, shop_a, line("CUP-1", 2, PICK_1))
    with db.platform_session() as s:
        bin_ = find_location(s, PICK_1)
    portal.login(world.agency_admin)
    page = portal.get(f"/agency/locations/{bin_.id}").get_data(as_text=True)
    refused = portal.post_form(
        f"/agency/locations/{bin_.id}/release",
        {"version": hidden(page, "version")},
        form_url=f"/agency/locations/{bin_.id}",
    )
    assert refused.status_code == 409
    assert re.search(r"A-01-01-1.*2", refused.get_data(as_text=True))
    with db.platform_session() as s:
        assert find_location(s, PICK_1).shop_id == shop_a.id
