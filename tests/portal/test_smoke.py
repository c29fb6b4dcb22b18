"""Each role logs in and lands on its home page."""

from __future__ import annotations


def test_shop_admin_lands_on_their_dashboard(portal, world):
    response = portal.login(world.shop_admin_a)
    assert response.headers["Location"] == "/"
    page = portal.get("/", follow_redirects=True)
    assert page.status_code == 200
    assert "あかり雑貨" in page.get_data(as_text=True)


def test_agency_admin_sets_up_totp_then_sees_shops(portal, world):
    portal.login(world.agency_admin)
    page = portal.get("/agency/shops")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "あかり雑貨" in html and "みどり食品" in html
