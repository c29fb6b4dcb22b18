"""Sasage in Chromium: the shop requests it for a SKU; an operator finds the work on the
board, uploads photos (rendered by the real relay and worker while the page shows
progress), measures and writes the copy and sends all three for approval; the shop's
admin gets a mail, approves the photos and sizes and returns the copy once; the operator
rewrites it; the shop approves it and the SKU shows "sasage complete". The other shop's
admin gets 404 for the page and for a photo's URL."""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.harness import BrowserPortal, login, logout, screenshot, submit
from urakata.platform.audit import Actor
from urakata.platform.config import Settings
from urakata.platform.db import Database
from urakata.tenants.catalog.services import create_product
from urakata.tenants.sasage.demo import product_photo

pytestmark = pytest.mark.browser

JOB_TIMEOUT_MS = 60_000  # the relay and the worker are real processes: poll, never sleep
SKU = "JR-SASAGE-TEE"
SHOP_ACTOR = Actor(type="api_key", id="browser-journey", label="shop system", request_id="r-s")


def add_product(app_url: str, shop_id) -> None:
    db = Database.from_url(app_url)
    try:
        with db.tenant_session(shop_id) as session:
            data = {"sku": SKU, "name": "オーガニックコットン Tシャツ 生成り M", "price_yen": 3_960,
                    "status": "active"}  # fmt: skip
            create_product(session, actor=SHOP_ACTOR, data=data)
    finally:
        db.dispose()


def state(page: Page, kind: str):
    return page.get_by_test_id(f"task-{kind}")


def approval_mail(portal: BrowserPortal, email: str, request_id: int, timeout=30.0) -> str:
    """The worker sends mails after the request commits: poll for ours against a deadline."""
    link = f"/sasage/{request_id}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in portal.mail_to(email):
            body = message.get_body(preferencelist=("plain",)).get_content()
            if link in body:
                return body
        time.sleep(0.1)
    raise AssertionError(f"no mail about {link} to {email} within {timeout:.0f}s")


def test_shop_requests_operator_works_shop_returns_copy_once_then_approves(
    page: Page, portal_server: BrowserPortal, browser_database: str
):
    world = portal_server.world
    slug = world.shop_a.slug
    add_product(browser_database, world.shop_a.id)
    try:
        _journey(page, portal_server, slug)
    finally:
        # The photos of this run's shop (the browser database goes with the session).
        shutil.rmtree(Path(Settings.files_dir).resolve() / "sasage" / str(world.shop_a.id),
                      ignore_errors=True)  # fmt: skip


def _journey(page: Page, portal: BrowserPortal, slug: str) -> None:
    world = portal.world
    # The shop's admin asks for sasage of one SKU.
    login(page, portal, world.shop_admin_a.email)
    page.locator(f'a[href="/s/{slug}/sasage"]').click()  # the dashboard's menu
    page.get_by_test_id("new-sasage").click()
    page.fill("#skus", SKU)
    page.fill("#note", "白背景で正面・背面、生地の寄りもお願いします")
    screenshot(page, "sasage-request-form")
    submit(page, "new-sasage-submit")
    expect(page).to_have_url(re.compile(rf"/s/{slug}/sasage/\d+$"))
    request_id = int(page.url.rsplit("/", 1)[1])
    for kind in ("photo", "measure", "copy"):
        expect(state(page, kind)).to_have_attribute("data-state", "todo")
    logout(page)

    # The operator finds it on the board and does the work.
    login(page, portal, world.operator_a.email)
    page.get_by_test_id("nav-sasage-board").click()
    cards = page.locator(f'[data-testid="board-card"][data-sku="{SKU}"]')
    expect(cards).to_have_count(3)
    screenshot(page, "sasage-board")
    cards.filter(has=page.locator('[href$="#photo"]')).locator("a").click()
    expect(page).to_have_url(re.compile(rf"/s/{slug}/sasage/{request_id}#photo$"))
    page.select_option("#assign-photo-assignee", str(world.operator_a.id))
    submit(page, "assign-photo")
    expect(page.get_by_test_id("task-photo-assignee")).to_have_text(world.operator_a.display_name)

    page.set_input_files("#images", files=[
        {"name": "DSC_0101.JPG", "mimeType": "image/jpeg",
         "buffer": product_photo("tee", (238, 232, 214), "front")},
        {"name": "DSC_0102.JPG", "mimeType": "image/jpeg",
         "buffer": product_photo("tee", (238, 232, 214), "back", orientation=6)},
        {"name": "DSC_0103.JPG", "mimeType": "image/jpeg",
         "buffer": product_photo("tee", (238, 232, 214), "detail")},
    ])  # fmt: skip
    submit(page, "upload-submit")
    expect(page.get_by_test_id("task-progress")).to_have_attribute(
        "data-status", "done", timeout=JOB_TIMEOUT_MS
    )
    page.get_by_test_id("task-result-link").click()
    page.reload()
    expect(page.locator('[data-testid="photo"][data-status="ready"]')).to_have_count(3)
    expect(page.locator('[data-testid="photo"][data-main="yes"]')).to_have_attribute(
        "data-position", "1"
    )
    screenshot(page, "sasage-photos")

    for name, value in (("length_mm", "300"), ("width_mm", "250"), ("height_mm", "30"),
                        ("weight_g", "180"), ("names-0", "着丈"), ("names-1", "身幅"),
                        ("names-2", "袖丈"), ("rows-0-size", "M"), ("rows-0-values-0", "68"),
                        ("rows-0-values-1", "51.5"), ("rows-0-values-2", "20"),
                        ("rows-1-size", "L"), ("rows-1-values-0", "71"),
                        ("rows-1-values-1", "54"), ("rows-1-values-2", "21")):  # fmt: skip
        page.fill(f"#{name}", value)
    submit(page, "measure-submit")
    expect(page.get_by_test_id("size-table")).to_contain_text("51.5")
    expect(page.get_by_test_id("measure-size_class")).to_have_text("60")

    page.fill("#copy-title", "オーガニックコットン Tシャツ 生成り 半袖 ユニセックス 綿100%")
    page.fill("#copy-catch_copy", "洗うほどになじむ、やさしい天竺")
    page.fill(
        "#copy-description",
        "インド産オーガニックコットンを100%使用。\n首回りは二重仕立てで、よれにくい。",
    )
    page.fill("#copy-care", "洗濯機可(ネット使用)")
    submit(page, "copy-submit")
    expect(page.get_by_test_id("copy-current")).to_have_attribute("data-number", "1")
    for kind in ("photo", "measure", "copy"):
        submit(page, f"submit-{kind}")
        expect(state(page, kind)).to_have_attribute("data-state", "waiting")
    screenshot(page, "sasage-submitted")
    logout(page)

    # The shop's admin is mailed; approves the photos and sizes, returns the copy once.
    body = approval_mail(portal, world.shop_admin_a.email, request_id)
    assert SKU in body
    login(page, portal, world.shop_admin_a.email)
    page.goto(f"/s/{slug}/sasage/{request_id}")
    submit(page, "approve-photo")
    expect(state(page, "photo")).to_have_attribute("data-state", "approved")
    submit(page, "approve-measure")
    page.fill(
        "#review-copy-comment", "素材欄に「綿100%(インド産オーガニックコットン)」と書いてください。"
    )
    submit(page, "return-copy")
    expect(state(page, "copy")).to_have_attribute("data-state", "returned")
    expect(page.get_by_test_id("sasage-incomplete")).to_be_visible()
    screenshot(page, "sasage-returned")
    logout(page)

    # The operator rewrites the copy as asked and sends it again.
    login(page, portal, world.operator_a.email)
    page.goto(f"/s/{slug}/sasage/{request_id}#copy")
    expect(page.get_by_test_id("reviews-copy")).to_contain_text("インド産")
    page.get_by_test_id("copy-details").locator("summary").click()
    page.fill("#copy-materials", "綿100%(インド産オーガニックコットン)")
    submit(page, "copy-submit")
    expect(page.get_by_test_id("copy-current")).to_have_attribute("data-number", "2")
    submit(page, "submit-copy")
    expect(state(page, "copy")).to_have_attribute("data-state", "waiting")
    page.get_by_test_id("nav-sasage-board").click()
    column = page.locator('[data-testid="board-column"][data-state="approved"]')
    expect(column.locator(f'[data-testid="board-card"][data-sku="{SKU}"]')).to_have_count(2)
    screenshot(page, "sasage-board-later")
    logout(page)

    # The shop approves: the SKU is complete.
    login(page, portal, world.shop_admin_a.email)
    page.goto(f"/s/{slug}/sasage/{request_id}")
    expect(page.get_by_test_id("copy-versions")).to_be_visible()
    submit(page, "approve-copy")
    expect(page.get_by_test_id("sasage-complete")).to_be_visible()
    screenshot(page, "sasage-complete")
    image = page.locator('[data-testid="photo"] img').first.get_attribute("src")
    page.goto(f"/s/{slug}/sasage")
    expect(page.locator(f'[data-testid="sasage-row"][data-sku="{SKU}"]')).to_have_attribute(
        "data-complete", "yes"
    )
    screenshot(page, "sasage-list")
    logout(page)

    # The other shop's admin: 404 for the page and for the photo, under either shop.
    login(page, portal, world.shop_admin_b.email)
    for url in (f"/s/{slug}/sasage/{request_id}", image,
                f"/s/{world.shop_b.slug}/sasage/{request_id}",
                image.replace(f"/s/{slug}/", f"/s/{world.shop_b.slug}/")):  # fmt: skip
        response = page.goto(url)
        assert response is not None and response.status == 404, url
