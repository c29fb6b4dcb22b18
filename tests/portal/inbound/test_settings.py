"""The shop's setting "request sasage on a SKU's first receipt", edited by an agency admin
on the settings page and shown to the shop."""

from __future__ import annotations

import re

from tests.portal.stock.helpers import hidden
from urakata.tenants.shop.services import get_settings


def test_an_agency_admin_turns_on_sasage_on_first_receipt(db, world, portal):
    portal.login(world.agency_admin)
    page = portal.get("/s/shop-a/settings").get_data(as_text=True)
    assert 'name="sasage_on_first_receipt"' in page
    answer = portal.post_form(
        "/s/shop-a/settings",
        {"version": hidden(page, "version"), "sasage_on_first_receipt": "1"},
        form_url="/s/shop-a/settings",
    )
    assert answer.status_code == 302
    with db.tenant_session(world.shop_a.id) as s:
        assert get_settings(s).sasage_on_first_receipt is True
    with db.tenant_session(world.shop_b.id) as s:
        assert get_settings(s).sasage_on_first_receipt is False
    portal.logout()
    portal.login(world.shop_admin_a)
    page = portal.get("/s/shop-a/settings").get_data(as_text=True)
    shown = re.search(r'data-testid="setting-sasage_on_first_receipt">([^<]+)<', page).group(1)
    assert shown in ("はい", "Yes")
