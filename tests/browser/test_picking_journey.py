"""Picking in Chromium: an operator chooses two shipments and creates a wave (a double
click makes one wave), has the pick list rendered by the real relay and worker while the
page shows progress, opens the PDF (its first page saved as var/picklist_page1.png), and
scans at the scan station: the shipment's label, a wrong item (refused, with a message
and the error sound), then the right one (inspected)."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from tests.browser.harness import BrowserPortal, login, screenshot
from urakata.platform.audit import Actor
from urakata.platform.db import Database
from urakata.platform.locations import create_locations
from urakata.tenants.catalog.services import create_product
from urakata.tenants.fulfilment import services as fulfilment
from urakata.tenants.fulfilment.models import Wave
from urakata.tenants.orders import services as orders
from urakata.tenants.stock.allocation import allocate_order
from urakata.tenants.stock.bins import assign_bins
from urakata.tenants.stock.receipts import receive

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
JOB_TIMEOUT_MS = 90_000  # the relay and the worker are real processes: poll, never sleep
ACTOR = Actor(type="system", label="picking journey")
CUP, POT = "JR-PICK-CUP", "JR-PICK-POT"
JAN = {CUP: "4591234000011", POT: "4591234000028"}


def _order(session, number: str, lines) -> int:
    body = {
        "external_id": number,
        "customer": {"name": "山田 花子", "email": f"{number[1:]}@example.jp"},
        "ship_to": {
            "name": "山田 花子",
            "postal_code": "150-0001",
            "prefecture": "東京都",
            "city": "渋谷区",
            "street": "神宮前1-2-3",
            "phone": "090-1111-2222",
        },
        "lines": [{"sku": sku, "quantity": q, "unit_price_yen": 2200} for sku, q in lines],
        "payment_method": "card",
        "payment_status": "authorized",
    }
    order = orders.intake(session, actor=ACTOR, data=body, channel="api")
    return order.id


def seed(app_url: str, shop_id) -> list[int]:
    """Bins, two products with JANs, stock, and two allocated orders instructed."""
    db = Database.from_url(app_url)
    try:
        with db.platform_session() as s:
            made = create_locations(
                s,
                actor=ACTOR,
                data={"zone": "W", "aisle": "01", "shelf": "01", "bin": "1-2", "kind": "pick_face"},
            )
            codes = [m.code for m in made]
        with db.tenant_session(shop_id) as s:
            assign_bins(s, actor=ACTOR, codes=codes)
            create_product(
                s,
                actor=ACTOR,
                data={
                    "sku": CUP,
                    "name": "波佐見焼 マグカップ 藍",
                    "price_yen": 2200,
                    "status": "active",
                    "jan": JAN[CUP],
                },
            )
            create_product(
                s,
                actor=ACTOR,
                data={
                    "sku": POT,
                    "name": "南部鉄器 急須 0.6L",
                    "price_yen": 8800,
                    "status": "active",
                    "jan": JAN[POT],
                },
            )
        with db.tenant_session(shop_id) as s:
            receive(
                s,
                actor=ACTOR,
                data={
                    "key": f"jr-{uuid.uuid4()}",
                    "reference": "IN-JR",
                    "lines": [
                        {"sku": CUP, "quantity": 10, "location": codes[0]},
                        {"sku": POT, "quantity": 5, "location": codes[1]},
                    ],
                },
            )
        ids = []
        for number, lines in (("#JR-1001", [(CUP, 2), (POT, 1)]), ("#JR-1002", [(CUP, 1)])):
            with db.tenant_session(shop_id) as s:
                order_id = _order(s, number, lines)
            with db.tenant_session(shop_id) as s:
                allocate_order(s, actor=ACTOR, order_id=order_id)
            with db.tenant_session(shop_id) as s:
                ids += [x.id for x in fulfilment.instruct_order(s, actor=ACTOR, order_id=order_id)]
        return ids
    finally:
        db.dispose()


def wave_count(app_url: str, shop_id) -> int:
    db = Database.from_url(app_url)
    try:
        with db.tenant_session(shop_id) as s:
            return s.scalar(select(func.count()).select_from(Wave))
    finally:
        db.dispose()


def test_operator_waves_prints_the_pick_list_and_scans_with_a_wrong_item_refused(
    page: Page, portal_server: BrowserPortal, browser_database: str
):
    world = portal_server.world
    slug = world.shop_a.slug
    multi, single = seed(browser_database, world.shop_a.id)
    waves_before = wave_count(browser_database, world.shop_a.id)

    login(page, portal_server, world.operator_a.email)
    page.get_by_test_id("nav-waves").click()
    expect(page.get_by_test_id("wave-board-title")).to_be_visible()
    row = page.locator(f'[data-testid="wave-board-row"][data-shop="{slug}"]')
    expect(row).to_be_visible()
    screenshot(page, "picking-wave-board")
    page.goto(f"/s/{slug}/shipments/open")
    for shipment_id in (multi, single):
        page.locator(f'[data-testid="open-row"][data-shipment="{shipment_id}"] input').check()
    screenshot(page, "picking-open-shipments")
    with page.expect_navigation():
        page.get_by_test_id("create-wave").dblclick()  # a double click makes one wave
    expect(page.get_by_test_id("wave-title")).to_be_visible()
    assert wave_count(browser_database, world.shop_a.id) == waves_before + 1
    expect(page.get_by_test_id("wave-shipment")).to_have_count(2)
    wave_url = page.url.split("#")[0]

    # The pick list: a job of the real worker, the page shows its progress.
    with page.expect_navigation():
        page.get_by_test_id("pick-list-start").click()
    expect(page.get_by_test_id("task-progress")).to_be_visible()
    screenshot(page, "picking-pick-list-progress")
    expect(page.get_by_test_id("task-result-link")).to_be_visible(timeout=JOB_TIMEOUT_MS)
    page.goto(wave_url)
    link = page.get_by_test_id("pick-list-pdf")
    expect(link).to_be_visible()
    response = page.request.get(link.get_attribute("href"))
    assert response.ok and response.headers["content-type"] == "application/pdf"
    pdf = ROOT / "var" / "picklist.pdf"
    pdf.write_bytes(response.body())
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "80",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            str(pdf),
            str(ROOT / "var" / "picklist_page1"),
        ],
        check=True,
    )
    assert (ROOT / "var" / "picklist_page1.png").stat().st_size > 10_000
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "ピッキングリスト" in text and CUP in text and "#JR-1001" in text

    # The scan station: the shipment's label, a wrong item, the right one.
    page.get_by_test_id("scan-station-link").click()
    expect(page.get_by_test_id("scan-station")).to_be_visible()
    scan_input = page.get_by_test_id("scan-input")
    with page.expect_navigation():
        scan_input.fill(f"SH{single:010d}")
        scan_input.press("Enter")
    expect(page.get_by_test_id("scan-station")).to_have_attribute("data-shipment", str(single))
    scan_input = page.get_by_test_id("scan-input")
    scan_input.fill(JAN[POT])  # the teapot is not on this shipment
    scan_input.press("Enter")
    message = page.get_by_test_id("scan-message")
    expect(message).to_have_attribute("data-outcome", "wrong_item")
    expect(message).to_contain_text(POT)
    expect(page.locator("body")).to_have_attribute("data-last-sound", "error")
    screenshot(page, "picking-scan-refused")
    scan_input.fill(JAN[CUP])
    scan_input.press("Enter")
    expect(message).to_have_attribute("data-outcome", "ok")
    expect(page.locator("body")).to_have_attribute("data-last-sound", "done")
    expect(page.locator('[data-testid="scan-line"] [data-line-scanned]')).to_have_text("1")
    screenshot(page, "picking-scan-inspected")
    expect(page.get_by_test_id("scan-waiting")).to_be_visible(timeout=10_000)  # next shipment

    page.goto(wave_url)
    done = page.locator(f'[data-testid="wave-shipment"][data-shipment="{single}"]')
    expect(done).to_have_attribute("data-status", "inspected")
    expect(page.locator('[data-testid="mispick-row"][data-outcome="wrong_item"]')).to_have_count(1)
    screenshot(page, "picking-wave-page")
