"""A shop admin imports a product CSV in Chromium: a bad row is named by row and column,
the fixed file is imported by the real relay and worker while the page shows progress,
and the products are listed."""

from __future__ import annotations

import csv
import io
import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.harness import BrowserPortal, login, logout, screenshot, submit
from urakata.platform.codes import gtin_check_digit, itf14_for

pytestmark = pytest.mark.browser

JOB_TIMEOUT_MS = 60_000  # the relay and the worker are real processes: poll, never sleep
HEADER = ["商品コード", "JANコード", "商品名", "販売価格", "税率", "温度帯", "重量(g)", "ITF-14"]


def jan(n: int) -> str:
    body = f"4580123{n:05d}"
    return body + str(gtin_check_digit(body))


def catalog(bad_check_digit: bool) -> bytes:
    rows = [
        ["JR-SENCHA", jan(1), "やぶきた煎茶 100g", "1,080", "8", "常温", "120"],
        ["JR-MIZU", jan(2), "水出し煎茶 ボトル 500ml", "380", "8", "冷蔵", "540"],
        ["JR-YUNOMI", jan(3), "湯呑み 波佐見焼", "2,200", "10", "常温", "300"],
    ]
    if bad_check_digit:
        rows[1][1] = jan(2)[:-1] + str((int(jan(2)[-1]) + 3) % 10)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    for r in rows:
        writer.writerow([*r, itf14_for(r[1], 1) if r[0] == "JR-SENCHA" else ""])
    return buffer.getvalue().encode("cp932")  # as Excel on Windows saves it


def choose(page: Page, data: bytes) -> None:
    page.set_input_files(
        "#file", files=[{"name": "商品マスタ.csv", "mimeType": "text/csv", "buffer": data}]
    )


def test_shop_admin_fixes_a_bad_row_imports_and_sees_the_products(
    page: Page, portal_server: BrowserPortal
):
    world = portal_server.world
    slug = world.shop_a.slug
    login(page, portal_server, world.shop_admin_a.email)
    page.locator(f'a[href="/s/{slug}/products"]').click()  # the dashboard's menu
    expect(page).to_have_url(re.compile(rf"/s/{slug}/products$"))
    page.get_by_test_id("import-products").click()
    expect(page.get_by_test_id("import-title")).to_be_visible()

    choose(page, catalog(bad_check_digit=True))
    submit(page, "import-submit")
    error = page.get_by_test_id("import-error")
    expect(error).to_have_count(1)
    expect(error).to_have_attribute("data-row", "3")
    expect(error).to_have_attribute("data-column", "JANコード")
    expect(error).to_contain_text("3")
    expect(page.get_by_test_id("import-mapping")).to_contain_text("JANコード")
    screenshot(page, "catalog-import-error")

    choose(page, catalog(bad_check_digit=False))
    submit(page, "import-submit")
    expect(page).to_have_url(re.compile(rf"/s/{slug}/products/import/[0-9a-f-]{{36}}$"))
    progress = page.get_by_test_id("task-progress")
    expect(progress).to_have_attribute("data-status", "done", timeout=JOB_TIMEOUT_MS)
    expect(page.get_by_test_id("task-status")).to_contain_text("3")
    result_link = page.get_by_test_id("task-result-link")
    expect(result_link).to_be_visible()
    screenshot(page, "catalog-import-done")

    result_link.click()
    expect(page).to_have_url(re.compile(rf"/s/{slug}/products$"))
    rows = page.get_by_test_id("product-row")
    for sku in ("JR-SENCHA", "JR-MIZU", "JR-YUNOMI"):
        expect(rows.filter(has_text=sku)).to_have_count(1)
    expect(rows.filter(has_text="JR-MIZU")).to_have_attribute("data-zone", "chilled")
    screenshot(page, "catalog-list")

    page.locator('tr[data-sku="JR-SENCHA"] a').click()
    expect(page.get_by_test_id("product-title")).to_have_text("やぶきた煎茶 100g")
    expect(page.get_by_test_id("timeline-entry").first).to_have_attribute(
        "data-action", "product.imported"
    )
    logout(page)
