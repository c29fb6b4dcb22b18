"""Inbound and stocktake in Chromium: the shop registers an inbound notice; an operator
opens it from the agency's inbound list and receives it by typing JAN codes (pressing
Enter, as a USB scanner does), one piece short; puts it away in the suggested bins and
closes it; the shop sees the discrepancy and comments. Then a stocktake: the operator
counts blind on a phone-sized screen and finds a piece missing, an agency admin approves
the variance with a reason, and the shop approves it; the stock is corrected."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.harness import BrowserPortal, login, logout, screenshot, submit
from urakata.platform.audit import Actor
from urakata.platform.codes import gtin_check_digit
from urakata.platform.db import Database
from urakata.platform.locations import create_locations
from urakata.tenants.catalog.services import create_product
from urakata.tenants.shop.services import get_settings, update_settings
from urakata.tenants.stock.bins import assign_bins

pytestmark = pytest.mark.browser

SETUP = Actor(type="system", label="browser journey")
CUP, POT = "JR-IN-CUP", "JR-IN-POT"
CUP_JAN = "491234500001" + str(gtin_check_digit("491234500001"))
POT_JAN = "491234500002" + str(gtin_check_digit("491234500002"))
BIN_1, BIN_2 = "IJ-01-01-1", "IJ-01-01-2"
PHONE = {"width": 390, "height": 844}


def seed(app_url: str, shop_id) -> None:
    """Two SKUs with JAN codes and two empty pick faces of the shop; every stocktake
    variance needs the shop's approval (threshold 0 yen)."""
    db = Database.from_url(app_url)
    try:
        with db.platform_session() as s:
            create_locations(
                s,
                actor=SETUP,
                data={
                    "zone": "IJ",
                    "aisle": "01",
                    "shelf": "01",
                    "bin": "1-2",
                    "kind": "pick_face",
                },
            )
        with db.tenant_session(shop_id) as s:
            assign_bins(s, actor=SETUP, codes=[BIN_1, BIN_2])
            for sku, jan, name, price in (
                (CUP, CUP_JAN, "波佐見焼 マグカップ 藍", 2_420),
                (POT, POT_JAN, "南部鉄器 急須 0.5L", 8_800),
            ):
                create_product(
                    s,
                    actor=SETUP,
                    data={
                        "sku": sku,
                        "jan": jan,
                        "name": name,
                        "price_yen": price,
                        "status": "active",
                    },
                )
            current = get_settings(s)
            update_settings(
                s,
                actor=SETUP,
                expected_version=current.version,
                changes={"stocktake_approval_threshold_yen": "0"},
            )
    finally:
        db.dispose()


def test_shop_notice_operator_receives_short_shop_sees_it_and_approves_a_stocktake(
    page: Page, portal_server: BrowserPortal, browser_database: str
):
    world = portal_server.world
    slug = world.shop_a.slug
    seed(browser_database, world.shop_a.id)

    # The shop registers what it is sending.
    login(page, portal_server, world.shop_admin_a.email)
    page.locator(f'a[href="/s/{slug}/inbound"]').first.click()  # the dashboard's menu
    page.get_by_test_id("new-inbound").click()
    page.fill("#expected_on", "2026-12-01")
    page.fill("#carrier", "ヤマト運輸")
    page.fill("#tracking_number", "4455-6677-8899")
    page.fill("#reference", "PO-2026-120")
    page.fill("#lines", f"{CUP}, 3\n{POT}, 2")
    screenshot(page, "inbound-register")
    submit(page, "inbound-submit")
    expect(page).to_have_url(re.compile(rf"/s/{slug}/inbound/\d+$"))
    notice_id = int(page.url.rsplit("/", 1)[1])
    number = f"IN-{notice_id:06d}"
    expect(page.get_by_test_id("notice-line")).to_have_count(2)
    logout(page)

    # The operator receives it by typing the JAN codes: one pot is missing.
    login(page, portal_server, world.operator_a.email)
    page.get_by_test_id("nav-inbound").click()
    page.locator(f'[data-testid="overview-row"][data-number="{number}"] a').click()
    expect(page.get_by_test_id("receive-title")).to_contain_text(number)
    for code, pieces in ((CUP_JAN, "3"), (POT_JAN, "1")):
        expect(page.locator("#code")).to_be_focused()  # a scanner types straight in
        page.fill("#quantity", pieces)
        page.fill("#code", code)
        with page.expect_navigation():
            page.press("#code", "Enter")  # what a USB scanner sends after the code
    expect(page.locator('[data-testid="progress-line"][data-sku="JR-IN-CUP"]')).to_have_attribute(
        "data-received", "3"
    )
    expect(page.locator('[data-testid="progress-line"][data-sku="JR-IN-POT"]')).to_have_attribute(
        "data-received", "1"
    )
    expect(page.get_by_test_id("putaway-row")).to_have_count(2)
    screenshot(page, "inbound-receiving")
    submit(page, "putaway-submit")
    expect(page.get_by_test_id("putaway-row")).to_have_count(0)
    submit(page, "close-notice")
    expect(page.get_by_test_id("notice-title")).to_have_attribute("data-status", "closed")
    logout(page)

    # The shop sees the discrepancy and answers it.
    login(page, portal_server, world.shop_admin_a.email)
    page.goto(f"/s/{slug}/inbound?state=discrepancy")
    page.locator(f'[data-testid="inbound-row"][data-number="{number}"] a').click()
    short = page.locator('[data-testid="discrepancy-line"][data-sku="JR-IN-POT"]')
    expect(short).to_have_attribute("data-outcome", "short")
    expect(short).to_have_attribute("data-difference", "-1")
    expect(page.get_by_test_id("discrepancy-totals")).to_have_attribute("data-short", "1")
    page.fill("#body", "急須が1点不足とのこと、仕入先に確認します。")
    submit(page, "comment-submit")
    expect(page.get_by_test_id("notice-comment")).to_contain_text("仕入先に確認します")
    screenshot(page, "inbound-discrepancy")
    logout(page)

    # A stocktake of the cups' bin, counted blind on a phone: one cup is gone.
    login(page, portal_server, world.operator_a.email)
    page.goto(f"/s/{slug}/stocktakes")
    page.get_by_test_id("plan-stocktake").click()
    page.select_option("#scope", "bins")
    page.fill("#bins", BIN_1)
    page.fill("#recount_threshold", "5")
    submit(page, "plan-submit")
    page.set_viewport_size(PHONE)
    card = page.locator('[data-testid="count-line"][data-sku="JR-IN-CUP"]')
    expect(card).to_have_count(1)
    expect(page.get_by_test_id("count-system")).to_have_count(0)  # blind
    card.get_by_test_id("count-input").fill("2")
    screenshot(page, "stocktake-count-phone")
    with page.expect_navigation():
        card.get_by_test_id("count-submit").click()
    submit(page, "submit-count")
    expect(page.get_by_test_id("stocktake-detail-title")).to_have_attribute("data-status", "review")
    stocktake_url = page.url
    page.set_viewport_size({"width": 1280, "height": 900})
    logout(page)

    login(page, portal_server, world.agency_admin.email)
    page.goto(stocktake_url)
    expect(page.locator('[data-testid="stocktake-line"][data-sku="JR-IN-CUP"]')).to_have_attribute(
        "data-variance", "-1"
    )
    page.get_by_test_id("reason-select").select_option("loss")
    submit(page, "approve-stocktake")
    expect(page.get_by_test_id("stocktake-detail-title")).to_have_attribute(
        "data-status", "shop_review"
    )
    logout(page)

    login(page, portal_server, world.shop_admin_a.email)
    page.goto(stocktake_url)
    expect(page.get_by_test_id("shop-decision")).to_be_visible()
    screenshot(page, "stocktake-shop-approval")
    page.fill("#comment", "了解しました。")
    submit(page, "shop-approve")
    expect(page.get_by_test_id("stocktake-detail-title")).to_have_attribute("data-status", "posted")
    page.goto(f"/s/{slug}/stock?q={CUP}")
    expect(page.locator("body")).to_contain_text(CUP)
