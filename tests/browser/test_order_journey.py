"""An operator works a held order in Chromium: the postal code Japan Post does not know is
corrected on the order page, the order is released, and the shop's admin sees it released."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.harness import BrowserPortal, login, logout, screenshot, submit
from urakata.platform.audit import Actor
from urakata.platform.db import Database
from urakata.tenants.catalog.services import create_product
from urakata.tenants.orders.services import intake

pytestmark = pytest.mark.browser

SHOP_ACTOR = Actor(type="api_key", id="browser-journey", label="shop system", request_id="r-j")


def held_order(app_url: str, shop_id) -> int:
    """An order whose postal code has a typo (123-4567 does not exist), as a cart sends it."""
    db = Database.from_url(app_url)
    try:
        with db.tenant_session(shop_id) as session:
            data = {
                "sku": "JR-TSUTSUMI",
                "name": "風呂敷 小",
                "price_yen": 1_650,
                "status": "active",
            }
            create_product(session, actor=SHOP_ACTOR, data=data)
            order = intake(
                session,
                actor=SHOP_ACTOR,
                data={
                    "external_id": "JR-1001",
                    "customer": {"name": "山田 花子", "email": "hanako@example.jp"},
                    "ship_to": {
                        "name": "山田 花子",
                        "postal_code": "123-4567",
                        "prefecture": "東京都",
                        "city": "千代田区",
                        "street": "千代田1-1",
                        "phone": "090-1234-5678",
                    },
                    "lines": [{"sku": "JR-TSUTSUMI", "quantity": 2, "unit_price_yen": 1_650}],
                    "payment_method": "card",
                    "payment_status": "authorized",
                },
            )
            assert order.status == "on_hold" and order.hold_codes == ["postal_code"]
            return order.id
    finally:
        db.dispose()


def test_operator_fixes_the_address_and_releases_and_the_shop_sees_it(
    page: Page, portal_server: BrowserPortal, browser_database: str
):
    world = portal_server.world
    slug = world.shop_a.slug
    order_id = held_order(browser_database, world.shop_a.id)

    login(page, portal_server, world.operator_a.email)
    page.goto("/agency/orders")
    row = page.locator('[data-testid="queue-row"][data-external-id="JR-1001"]')
    expect(row).to_have_attribute("data-status", "on_hold")
    expect(row).to_have_attribute("data-shop", slug)
    screenshot(page, "order-queue")
    page.goto(f"/s/{slug}/orders/{order_id}")
    expect(page.get_by_test_id("order-status")).to_have_attribute("data-status", "on_hold")
    expect(page.get_by_test_id("order-hold")).to_have_attribute("data-code", "postal_code")
    screenshot(page, "order-held")

    page.get_by_test_id("address-field-ship_postal_code").locator("input").fill("100-0001")
    submit(page, "address-submit")
    expect(page.get_by_test_id("order-hold")).to_have_count(0)
    submit(page, "release-submit")
    expect(page).to_have_url(re.compile(rf"/s/{slug}/orders/{order_id}$"))
    expect(page.get_by_test_id("order-status")).to_have_attribute("data-status", "released")
    expect(page.get_by_test_id("order-ship-by")).to_be_visible()
    screenshot(page, "order-released")
    logout(page)

    login(page, portal_server, world.shop_admin_a.email)
    page.goto(f"/s/{slug}/orders")
    row = page.locator('[data-testid="order-row"][data-external-id="JR-1001"]')
    expect(row).to_have_attribute("data-status", "released")
    logout(page)

    login(page, portal_server, world.shop_admin_b.email)
    response = page.goto(f"/s/{slug}/orders/{order_id}")
    assert response is not None and response.status == 404
    response = page.goto(f"/s/{world.shop_b.slug}/orders/{order_id}")
    assert response is not None and response.status == 404
