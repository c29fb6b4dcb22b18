"""An operator imports a Shopify orders CSV in Chromium: the one bad row is named by row
and column, the fixed file is imported by the real relay and worker while the page shows
the progress bar, and the orders are listed; shop B's admin finds none of them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.harness import BrowserPortal, login, logout, screenshot, submit
from urakata.platform.audit import Actor
from urakata.platform.db import Database
from urakata.tenants.catalog.services import create_product

pytestmark = pytest.mark.browser

JOB_TIMEOUT_MS = 60_000  # the relay and the worker are real processes: poll, never sleep
SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "orders" / "shopify_orders.csv"
SHOP_ACTOR = Actor(type="user", id="browser-journey", label="shop admin", request_id="r-oi")
PRODUCTS = (
    ("HT-SEN-100", "静岡 深蒸し煎茶 100g", 1080, 8),
    ("HT-GYO-50", "八女 玉露 50g", 2160, 8),
    ("HT-HOJ-TB20", "ほうじ茶 ティーバッグ 20包", 648, 8),
    ("HT-YUN-ARI", "湯呑み 有田焼 藍", 3300, 10),
)


def add_products(app_url: str, shop_id) -> None:
    db = Database.from_url(app_url)
    try:
        with db.tenant_session(shop_id) as session:
            for sku, name, price, rate in PRODUCTS:
                data = {"sku": sku, "name": name, "price_yen": price, "tax_rate": rate,
                        "status": "active"}  # fmt: skip
                create_product(session, actor=SHOP_ACTOR, data=data)
    finally:
        db.dispose()


def shopify_csv(bad: bool) -> bytes:
    """The sample export; the bad one has "two" typed for the quantity of #2002's line."""
    text = SAMPLE.read_text(encoding="utf-8")
    if bad:
        text = text.replace(",2,ほうじ茶 ティーバッグ 20包,", ",two,ほうじ茶 ティーバッグ 20包,", 1)
    return text.encode("utf-8")


def choose(page: Page, data: bytes) -> None:
    page.select_option("#format", "shopify")
    page.set_input_files(
        "#file", files=[{"name": "orders_export.csv", "mimeType": "text/csv", "buffer": data}]
    )


def test_operator_fixes_a_bad_row_imports_and_watches_the_progress_bar(
    page: Page, portal_server: BrowserPortal, browser_database: str
):
    world = portal_server.world
    slug = world.shop_a.slug
    add_products(browser_database, world.shop_a.id)

    login(page, portal_server, world.operator_a.email)
    page.goto(f"/s/{slug}/orders")
    page.get_by_test_id("import-orders").click()
    expect(page.get_by_test_id("order-import-title")).to_be_visible()

    choose(page, shopify_csv(bad=True))
    submit(page, "order-import-submit")
    error = page.get_by_test_id("order-import-error")
    expect(error).to_have_count(1)
    expect(error).to_have_attribute("data-row", "4")
    expect(error).to_have_attribute("data-column", "Lineitem quantity")
    expect(page.get_by_test_id("order-import-errors-summary")).to_be_visible()
    screenshot(page, "order-import-error")

    choose(page, shopify_csv(bad=False))
    submit(page, "order-import-submit")
    expect(page).to_have_url(re.compile(rf"/s/{slug}/orders/import/[0-9a-f-]{{36}}$"))
    progress = page.get_by_test_id("task-progress")
    expect(progress).to_have_attribute("data-status", "done", timeout=JOB_TIMEOUT_MS)
    expect(page.get_by_test_id("task-status")).to_contain_text("3")
    screenshot(page, "order-import-done")

    page.get_by_test_id("task-result-link").click()
    expect(page).to_have_url(re.compile(rf"/s/{slug}/orders$"))
    for number in ("#2001", "#2002", "#2003"):
        expect(page.get_by_text(number, exact=True)).to_have_count(1)
    screenshot(page, "order-import-list")
    page.goto(f"/s/{slug}/orders/import")
    expect(page.get_by_test_id("order-import-row")).to_have_count(1)
    logout(page)

    login(page, portal_server, world.shop_admin_b.email)
    page.goto(f"/s/{world.shop_b.slug}/orders")
    expect(page.get_by_text("#2001", exact=True)).to_have_count(0)
    logout(page)
