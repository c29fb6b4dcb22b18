"""An operator packs a shipment, exports the B2 file, imports the tracking numbers (one bad
check digit is reported by its row and nothing is applied), imports the fixed file and
hands the parcel over; the shop's admin sees the parcel with the carrier's tracking link."""

from __future__ import annotations

import time
import uuid

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy.orm.exc import StaleDataError

from tests.browser.harness import BrowserPortal, login, logout, screenshot, submit
from urakata.platform.audit import Actor
from urakata.platform.db import Database
from urakata.platform.locations import create_locations
from urakata.tenants.catalog.services import create_product
from urakata.tenants.fulfilment import services as fulfilment
from urakata.tenants.orders.services import IllegalTransition, StaleOrder, get_order, intake
from urakata.tenants.shop.services import get_settings, update_settings
from urakata.tenants.stock.allocation import allocate_order
from urakata.tenants.stock.bins import assign_bins
from urakata.tenants.stock.receipts import receive

pytestmark = pytest.mark.browser

SEED = Actor(type="system", label="journey seed: shipping")
JAN = "4569951001239"
GOOD, OTHER = "444413758703", "512547514334"  # japan.md's samples: valid check digits
BAD = "444413758704"
MAIL_WAIT = 60.0  # seconds for the worker to send the mail


def inspected_shipment(app_url: str, shop_id) -> tuple[int, int]:
    """A shipment of shop A scanned whole at the station: (shipment id, wave id)."""
    db = Database.from_url(app_url)
    try:
        with db.platform_session() as s:
            spec = {"zone": "J", "aisle": "07", "shelf": "1", "bin": "1", "kind": "pick_face"}
            codes = [loc.code for loc in create_locations(s, actor=SEED, data=spec)]
        with db.tenant_session(shop_id) as s:
            assign_bins(s, actor=SEED, codes=codes)
            create_product(s, actor=SEED, data={
                "sku": "JR-FUROSHIKI", "name": "風呂敷 大", "price_yen": 2_200, "status": "active",
                "jan": JAN, "weight_g": 180, "length_mm": 300, "width_mm": 200,
                "height_mm": 20})  # fmt: skip
            current = get_settings(s)
            update_settings(s, actor=SEED, expected_version=current.version, changes={
                "sender_name": "あかり雑貨 出荷センター", "sender_postal_code": "150-0001",
                "sender_address": "東京都渋谷区神宮前1-2-3", "sender_phone": "03-1234-5678",
                "b2_customer_code": "012345678901", "b2_freight_code": "01"})  # fmt: skip
            receive(s, actor=SEED, data={"key": f"jr-{uuid.uuid4()}", "reference": "JR-IN",
                                         "lines": [{"sku": "JR-FUROSHIKI", "quantity": 5,
                                                    "location": codes[0]}]})  # fmt: skip
        with db.tenant_session(shop_id) as s:
            order = intake(s, actor=SEED, channel="api", data={
                "external_id": "JR-2001",
                "customer": {"name": "佐藤 花子", "email": "hanako.sato@example.jp"},
                "ship_to": {"name": "佐藤 花子", "postal_code": "100-0001", "prefecture": "東京都",
                            "city": "千代田区", "street": "千代田1-1", "phone": "090-1234-5678"},
                "lines": [{"sku": "JR-FUROSHIKI", "quantity": 1, "unit_price_yen": 2_200}],
                "payment_method": "card", "payment_status": "authorized"})  # fmt: skip
            order_id = order.id
        # The receipt asked the worker to retry backorders, and that job allocates released
        # orders too: it may get there first, and then this allocation is refused.
        try:
            with db.tenant_session(shop_id) as s:
                allocate_order(s, actor=SEED, order_id=order_id)
        except (StaleOrder, StaleDataError, IllegalTransition):
            pass
        with db.tenant_session(shop_id) as s:
            assert get_order(s, order_id).status == "allocated"
        with db.tenant_session(shop_id) as s:
            [shipment] = fulfilment.instruct_order(s, actor=SEED, order_id=order_id)
            shipment_id = shipment.id
        with db.tenant_session(shop_id) as s:
            wave, _ = fulfilment.create_wave(s, actor=SEED, shipment_ids=[shipment_id],
                                             request_key=uuid.uuid4().hex)  # fmt: skip
            wave_id = wave.id
        with db.tenant_session(shop_id) as s:
            result = fulfilment.scan(s, actor=SEED, shipment_id=shipment_id, code=JAN,
                                     scan_key=uuid.uuid4().hex)  # fmt: skip
            assert result.inspected
        return shipment_id, wave_id
    finally:
        db.dispose()


def export_of(reference: str, number: str, other: str | None = None) -> bytes:
    lines = ["お客様管理番号,送り状種類,クール区分,伝票番号,出荷予定日",
             f"{reference},0,0,{number},2026/12/01"]  # fmt: skip
    if other:
        lines.append(f"SH9999999999,0,0,{other},2026/12/01")
    return ("\r\n".join(lines) + "\r\n").encode("cp932")


def upload(page: Page, data: bytes) -> None:
    page.get_by_test_id("import-carrier").select_option("yamato")
    page.get_by_test_id("import-file").set_input_files(
        files=[{"name": "b2-issued.csv", "mimeType": "text/csv", "buffer": data}]
    )
    submit(page, "import-submit")


def test_pack_export_import_hand_over_and_the_shop_sees_the_link(
    page: Page, portal_server: BrowserPortal, browser_database: str
):
    world = portal_server.world
    slug = world.shop_a.slug
    shipment_id, wave_id = inspected_shipment(browser_database, world.shop_a.id)
    label = f"SH{shipment_id:010d}"

    login(page, portal_server, world.operator_a.email)
    page.goto(f"/s/{slug}/packing")
    row = page.locator(f'[data-testid="packing-row"][data-label="{label}"]')
    expect(row).to_be_visible()
    row.get_by_test_id("pack-link").click()
    expect(page.get_by_test_id("suggestion")).to_contain_text("80")  # 300 mm: not in a 60 box
    page.get_by_test_id("material-bubble_wrap").fill("1")
    screenshot(page, "shipping-pack")
    submit(page, "pack-submit")
    page.goto(f"/s/{slug}/packing/{shipment_id}")
    expect(page.get_by_test_id("package")).to_be_visible()

    page.goto(f"/s/{slug}/packing/waves/{wave_id}")
    with page.expect_download() as download:
        page.get_by_test_id("carrier-file-yamato").click()
    with open(download.value.path(), "rb") as saved:
        data = saved.read()
    text = data.decode("cp932")
    assert text.startswith("お客様管理番号,送り状種類") and f"\r\n{label},0,0,," in text
    screenshot(page, "shipping-wave-files")

    page.goto(f"/s/{slug}/handover")
    upload(page, export_of(label, BAD))
    expect(page.get_by_test_id("import-refused")).to_be_visible()
    problem = page.get_by_test_id("import-problem")
    expect(problem).to_have_attribute("data-code", "check_digit")
    expect(problem).to_have_attribute("data-row", "2")
    expect(problem).to_contain_text(BAD)
    screenshot(page, "shipping-import-refused")

    page.goto(f"/s/{slug}/handover")
    upload(page, export_of(label, GOOD))
    expect(page.get_by_test_id("import-applied")).to_be_visible()

    page.goto(f"/s/{slug}/handover")
    yamato = page.locator('[data-testid="carrier-row"][data-carrier="yamato"]')
    expect(yamato.get_by_test_id("ready-count")).to_have_text("1")
    submit(page, "handover-submit-yamato")
    expect(page.get_by_test_id("handover-count")).to_contain_text("1")
    expect(page.get_by_test_id("handover-lines")).to_contain_text(GOOD)
    screenshot(page, "shipping-handover")
    logout(page)

    login(page, portal_server, world.shop_admin_a.email)
    page.goto(f"/s/{slug}/parcels")
    parcel = page.locator(f'[data-testid="parcel-row"][data-label="{label}"]')
    link = parcel.get_by_test_id("tracking-link")
    expect(link).to_have_text(GOOD)
    expect(link).to_have_attribute(
        "href", f"https://jizen.kuronekoyamato.co.jp/jizen/servlet/crjz.b.NQ0010?id={GOOD}"
    )
    screenshot(page, "shipping-shop-parcels")
    assert OTHER  # Sagawa's sample, kept beside Yamato's for the reader

    # The worker process mails the customer: poll the SMTP server against a deadline.
    deadline = time.monotonic() + MAIL_WAIT
    while time.monotonic() < deadline:
        sent = [m for m in portal_server.mailbox if m["To"] == "hanako.sato@example.jp"
                and "発送" in str(m["Subject"])]  # fmt: skip
        if sent:
            break
        page.wait_for_timeout(250)
    assert sent, "no shipped mail within the deadline"
    assert f"id={GOOD}" in sent[0].get_content()
    page.reload()
    expect(parcel.get_by_test_id("parcel-mail")).to_have_attribute("data-mail", "sent")
