"""A shorter day in English: a Shopify order with a postal code Japan Post does not know
is held; the operator switches the portal to English, corrects the address, releases the
order and has it allocated and instructed; the shop's admin, in English too, sees the
order and its shipment waiting for a wave. Both switch back to Japanese at the end (the
choice is kept per user, and other journeys expect Japanese).

Screenshots: var/e2e/day-en-NN-*.png.
"""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser import day_steps as day
from tests.browser.day_steps import People, Product
from tests.browser.harness import BrowserPortal, login, screenshot, submit
from urakata.platform.audit import Actor
from urakata.platform.db import Database
from urakata.platform.locations import create_locations
from urakata.tenants.catalog.services import create_product
from urakata.tenants.shop.services import get_settings, update_settings
from urakata.tenants.stock.bins import assign_bins
from urakata.tenants.stock.receipts import receive

pytestmark = pytest.mark.browser

SETUP = Actor(type="system", label="journey seed: a day in English")
SECRET = "shpss_midori_en_7c1d2e"
KOMBU = Product("EN-KOMBU", day.jan(201), "日高昆布 100g", 1_296, 8, 120)
ORDER = "#EN-5001"


def seed(app_url: str, shop_id) -> None:
    """Shop B, as an earlier day left it: a product in stock in its bin, and Shopify's
    webhook secret in its settings."""
    db = Database.from_url(app_url)
    try:
        with db.platform_session() as s:
            spec = {"zone": "EN", "aisle": "01", "shelf": "1", "bin": "1", "kind": "pick_face"}
            codes = [loc.code for loc in create_locations(s, actor=SETUP, data=spec)]
        with db.tenant_session(shop_id) as s:
            assign_bins(s, actor=SETUP, codes=codes)
            data = {"sku": KOMBU.sku, "jan": KOMBU.jan, "name": KOMBU.name,
                    "price_yen": KOMBU.price_yen, "tax_rate": KOMBU.tax_rate,
                    "status": "active"}  # fmt: skip
            create_product(s, actor=SETUP, data=data)
            current = get_settings(s)
            update_settings(s, actor=SETUP, expected_version=current.version,
                            changes={"shopify_webhook_secret": SECRET})  # fmt: skip
        with db.tenant_session(shop_id) as s:
            receive(s, actor=SETUP, data={"key": f"en-{uuid.uuid4()}", "reference": "EN-IN",
                                          "lines": [{"sku": KOMBU.sku, "quantity": 4,
                                                     "location": codes[0]}]})  # fmt: skip
    finally:
        db.dispose()


def to_english(page: Page) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name="English").click()
    expect(page.locator("html[lang=en]")).to_have_count(1)


def to_japanese(page: Page) -> None:
    if page.locator("html[lang=en]").count():
        with page.expect_navigation():
            page.get_by_role("button", name="日本語").click()
        expect(page.locator("html[lang=ja]")).to_have_count(1)


def test_a_shorter_day_in_english(
    page: Page, browser: Browser, portal_server: BrowserPortal, browser_database: str
):
    world = portal_server.world
    seed(browser_database, world.shop_b.id)
    people = People(browser, portal_server, {"operator": page})
    try:
        _the_day(people, portal_server)
    except BaseException:
        people.screenshot_all("FAILED-day-en")
        raise
    finally:
        for person in people.pages.values():
            to_japanese(person)
        del people.pages["operator"]  # the page fixture closes its own context
        people.close()


def _the_day(people: People, portal: BrowserPortal) -> None:
    world = portal.world
    slug = world.shop_b.slug

    # The cart sends an order whose postal code does not exist: it is held.
    payload = day.shopify_order(ORDER, [(KOMBU, 2)])
    payload["shipping_address"].update(zip="123-4567", city="千代田区", address1="千代田1-1")
    answer = day.deliver_webhook(portal, slug, payload, SECRET)
    assert answer.status == 200 and answer.body["status"] == "on_hold", answer
    order_id = answer.body["order_id"]

    # The operator works the hold, in English.
    operator = people.pages["operator"]
    login(operator, portal, world.operator_b.email)
    to_english(operator)
    operator.goto("/agency/orders")
    row = operator.locator(f'[data-testid="queue-row"][data-external-id="{ORDER}"]')
    expect(row).to_have_attribute("data-status", "on_hold")
    operator.goto(f"/s/{slug}/orders/{order_id}")
    expect(operator.get_by_test_id("order-hold")).to_have_attribute("data-code", "postal_code")
    expect(operator.get_by_test_id("order-status")).to_have_text(re.compile("hold", re.I))
    screenshot(operator, "day-en-01-held")
    operator.get_by_test_id("address-field-ship_postal_code").locator("input").fill("100-0001")
    submit(operator, "address-submit")
    expect(operator.get_by_test_id("order-hold")).to_have_count(0)
    submit(operator, "release-submit")
    expect(operator.get_by_test_id("order-status")).to_have_attribute("data-status", "released")
    screenshot(operator, "day-en-02-released")

    operator.goto(f"/s/{slug}/stock/waiting")
    submit(operator, "allocate-all")
    day.wait_for(
        operator,
        f"/s/{slug}/orders/{order_id}",
        lambda p: p.get_by_test_id("order-status").get_attribute("data-status") == "allocated",
        f"{ORDER} allocated",
    )
    operator.goto(f"/s/{slug}/waves")
    submit(operator, "instruct-submit")
    day.wait_for(
        operator,
        f"/s/{slug}/shipments/open",
        lambda p: p.get_by_test_id("open-row").count() >= 1,
        "the shipment waiting for a wave",
    )
    expect(operator.get_by_test_id("open-title")).to_have_text("Shipments waiting for a wave")
    screenshot(operator, "day-en-03-open-shipments")

    # The shop's admin, in English too, sees the order and its parcel.
    shop = people.open("shop-admin")
    login(shop, portal, world.shop_admin_b.email)
    to_english(shop)
    shop.goto(f"/s/{slug}/orders")
    expect(shop.get_by_test_id("orders-title")).to_have_text("Orders")
    row = shop.locator(f'[data-testid="order-row"][data-external-id="{ORDER}"]')
    expect(row).to_have_attribute("data-status", "instructed")
    expect(row).to_contain_text("Shipping instructed")
    screenshot(shop, "day-en-04-shop-orders")
    shop.goto(f"/s/{slug}/shipments")  # parcels list them from inspection on
    expect(shop.get_by_test_id("shipments-title")).to_have_text("Shipments")
    parcel = shop.get_by_test_id("shipment-row").filter(has_text=ORDER)
    expect(parcel).to_have_attribute("data-status", "instructed")
    expect(parcel).to_contain_text("Yamato Transport · TA-Q-BIN")
    screenshot(shop, "day-en-05-shop-shipments")
