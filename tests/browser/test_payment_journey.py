"""入金確認 in Chromium: an operator uploads the bank statement on the payment desk; one
deposit is matched by itself, one fits two orders and waits; the operator opens it, picks
the right order, and that order is released; the other shop's people get 404. (The
confirmation mails these orders ask for are tested against a real SMTP server in
tests/tenants/payments/test_confirmation.py.)"""

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

SHOP_ACTOR = Actor(type="api_key", id="browser-journey", label="shop system", request_id="r-p")
CUSTOMERS = {  # number: (name, kana, quantity of a ¥1,650 tea)
    "PJ-3001": ("入江 澪", "イリエ ミオ", 2),
    "PJ-3002": ("浜辺 凪", "ハマベ ナギ", 1),
    "PJ-3003": ("浜辺 凪", "ハマベ ナギ", 1),  # the same customer, the same amount
}


def waiting_orders(app_url: str, shop_id) -> dict[str, int]:
    """Three bank-transfer orders of shop A, as a cart sends them, waiting for deposits."""
    db = Database.from_url(app_url)
    ids = {}
    try:
        with db.tenant_session(shop_id) as session:
            data = {"sku": "PJ-MATCHA", "name": "抹茶 缶", "price_yen": 1_650, "status": "active"}
            create_product(session, actor=SHOP_ACTOR, data=data)
            for number, (name, kana, quantity) in CUSTOMERS.items():
                order = intake(
                    session,
                    actor=SHOP_ACTOR,
                    data={
                        "external_id": number,
                        "customer": {"name": name, "kana": kana, "email": f"{number}@pay.example"},
                        "ship_to": {
                            "name": name,
                            "postal_code": "100-0001",
                            "prefecture": "東京都",
                            "city": "千代田区",
                            "street": f"千代田1-{quantity}",
                            "building": number,
                            "phone": "090-1234-5678",
                        },
                        "lines": [
                            {"sku": "PJ-MATCHA", "quantity": quantity, "unit_price_yen": 1_650}
                        ],
                        "payment_method": "bank_transfer",
                    },
                )
                assert order.status == "confirmed", order.hold_codes
                ids[number] = order.id
        return ids
    finally:
        db.dispose()


STATEMENT = (
    "取引日,摘要,お預入金額,お引出金額,差引残高\r\n"
    '2026/06/01,振込 ｲﾘｴ ﾐｵ,"3,300",,"1,003,300"\r\n'
    '2026/06/01,振込 ﾊﾏﾍﾞ ﾅｷﾞ,"1,650",,"1,004,950"\r\n'
    '2026/06/01,ﾃｽｳﾘﾖｳ,,440,"1,004,510"\r\n'
).encode("cp932")


def test_operator_uploads_a_statement_and_matches_the_ambiguous_deposit_by_hand(
    page: Page, portal_server: BrowserPortal, browser_database: str
):
    world = portal_server.world
    slug = world.shop_a.slug
    ids = waiting_orders(browser_database, world.shop_a.id)

    login(page, portal_server, world.operator_a.email)
    page.get_by_test_id("nav-payment-desk").click()
    expect(page.get_by_test_id("desk-title")).to_be_visible()
    row = page.locator(f'[data-testid="desk-row"][data-shop="{slug}"]')
    expect(row).to_be_visible()
    page.locator("#shop").select_option(slug)
    page.set_input_files(
        "#statement",
        files=[{"name": "入出金明細_202606.csv", "mimeType": "text/csv", "buffer": STATEMENT}],
    )
    screenshot(page, "payment-desk")
    submit(page, "desk-upload-submit")

    expect(page).to_have_url(re.compile(rf"/s/{slug}/payments/statements/\d+$"))
    rows = page.get_by_test_id("deposit-row")
    expect(rows).to_have_count(2)
    expect(page.locator('[data-testid="deposit-row"][data-status="matched"]')).to_have_count(1)
    ambiguous = page.locator('[data-testid="deposit-row"][data-reason="ambiguous"]')
    expect(ambiguous).to_have_count(1)
    screenshot(page, "payment-statement")

    ambiguous.get_by_test_id("deposit-open").click()
    expect(page.get_by_test_id("deposit-reason")).to_have_attribute("data-reason", "ambiguous")
    candidates = page.get_by_test_id("candidate")
    expect(candidates).to_have_count(2)
    page.locator('[data-testid="candidate"][data-external-id="PJ-3003"]').get_by_test_id(
        "candidate-check"
    ).check()
    screenshot(page, "payment-match-by-hand")
    submit(page, "match-submit")
    expect(page.get_by_test_id("deposit-status")).to_have_attribute("data-status", "matched")
    expect(page.locator('[data-testid="deposit-match"][data-order="PJ-3003"]')).to_be_visible()
    screenshot(page, "payment-matched")

    page.locator('[data-testid="deposit-match"] a').click()
    expect(page).to_have_url(re.compile(rf"/s/{slug}/orders/{ids['PJ-3003']}$"))
    expect(page.get_by_test_id("order-status")).to_have_attribute("data-status", "released")
    expect(page.get_by_test_id("payment-cleared")).to_be_visible()
    expect(page.get_by_test_id("order-ship-by")).to_be_visible()
    screenshot(page, "payment-order-released")
    page.goto(f"/s/{slug}/orders/{ids['PJ-3002']}")
    expect(page.get_by_test_id("order-status")).to_have_attribute("data-status", "confirmed")
    expect(page.get_by_test_id("payment-gate")).to_have_attribute("data-waits-for", "deposit")
    page.goto(f"/s/{slug}/orders/{ids['PJ-3001']}")  # the exact one, matched by itself
    expect(page.get_by_test_id("order-status")).to_have_attribute("data-status", "released")
    logout(page)

    login(page, portal_server, world.shop_admin_b.email)
    response = page.goto(f"/s/{slug}/orders/{ids['PJ-3003']}")
    assert response is not None and response.status == 404
    response = page.goto(f"/s/{world.shop_b.slug}/payments/statements")
    assert response is not None and response.status == 200
    expect(page.get_by_test_id("statement-row")).to_have_count(0)


def test_shop_admin_edits_the_confirmation_template_and_an_escape_is_refused(
    page: Page, portal_server: BrowserPortal
):
    world = portal_server.world
    slug = world.shop_a.slug
    login(page, portal_server, world.shop_admin_a.email)
    page.goto(f"/s/{slug}/mail-templates/order-confirmation/ja")
    expect(page.get_by_test_id("mail-template-state")).to_have_attribute("data-custom", "false")
    expect(page.get_by_test_id("preview-body")).to_contain_text("SAMPLE-1001")
    screenshot(page, "mail-template-default")
    page.locator("#body").fill("{{ ''.__class__.__mro__[1].__subclasses__ }}")
    submit(page, "mail-template-save")
    expect(page.get_by_test_id("mail-template-errors")).to_be_visible()
    expect(page.locator(".field-error")).to_contain_text("__class__")
    screenshot(page, "mail-template-refused")
    page.locator("#body").fill("{{ order.customer_name }} 様\n合計 {{ order.total_yen|yen }}\n")
    page.locator("#sample").select_option("2")
    submit(page, "mail-template-preview")
    expect(page.get_by_test_id("preview-body")).to_contain_text("合計 ¥4,060")
    submit(page, "mail-template-save")
    expect(page.get_by_test_id("mail-template-state")).to_have_attribute("data-custom", "true")
    page.goto(f"/s/{slug}/payments/waiting")
    expect(page.get_by_test_id("waiting-title")).to_be_visible()
    screenshot(page, "payment-waiting-list")
