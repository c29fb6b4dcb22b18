"""Journeys through the real portal in Chromium: each role's home, onboarding a shop,
and a shop admin trying another shop's address."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.harness import (
    BrowserPortal,
    expect_japanese,
    login,
    logout,
    path_of,
    reset_link_in,
    screenshot,
    submit,
)

pytestmark = pytest.mark.browser

NEW_PASSWORD = "ひとつだけの新しいパスワード 2468"


def shop_url(slug: str) -> re.Pattern[str]:
    return re.compile(rf"/s/{re.escape(slug)}/$")


def test_agency_admin_sets_up_totp_and_sees_every_shop(page: Page, portal_server: BrowserPortal):
    world = portal_server.world
    login(page, portal_server, world.agency_admin.email, shots=("login", "totp-setup"))

    expect(page).to_have_url(re.compile(r"/agency/shops$"))
    expect_japanese(page)
    shops = page.get_by_test_id("shops-table")
    expect(shops).to_contain_text(world.shop_a.name)
    expect(shops).to_contain_text(world.shop_b.name)
    screenshot(page, "agency-shops")

    logout(page)
    page.goto("/agency/shops")
    expect(page).to_have_url(re.compile(r"/login\?next="))


def test_operator_sees_only_their_shop(page: Page, portal_server: BrowserPortal):
    world = portal_server.world
    login(page, portal_server, world.operator_a.email)

    expect(page).to_have_url(re.compile(r"/agency/home$"))
    expect_japanese(page)
    shops = page.get_by_test_id("operator-shops")
    expect(shops).to_contain_text(world.shop_a.name)
    expect(shops).not_to_contain_text(world.shop_b.name)
    expect(shops.locator(f'a[href="/s/{world.shop_b.slug}/"]')).to_have_count(0)
    screenshot(page, "operator-home")
    logout(page)


def test_shop_admin_lands_on_their_shop(page: Page, portal_server: BrowserPortal):
    world = portal_server.world
    login(page, portal_server, world.shop_admin_a.email)

    expect(page).to_have_url(shop_url(world.shop_a.slug))
    expect_japanese(page)
    expect(page.get_by_test_id("shop-title")).to_have_text(world.shop_a.name)
    screenshot(page, "shop-dashboard")
    logout(page)


def test_auditor_sees_the_shops_to_audit(page: Page, portal_server: BrowserPortal):
    world = portal_server.world
    login(page, portal_server, world.auditor.email)

    expect(page).to_have_url(re.compile(r"/audit/$"))
    expect_japanese(page)
    shops = page.get_by_test_id("audit-shops")
    expect(shops).to_contain_text(world.shop_a.name)
    expect(shops).to_contain_text(world.shop_b.name)
    screenshot(page, "auditor-home")
    logout(page)


def test_agency_admin_onboards_a_shop_whose_admin_sets_a_password(
    page: Page, portal_server: BrowserPortal
):
    slug, name, admin_email = "soyokaze-books", "そよ風書店", "owner@soyokaze.example"
    login(page, portal_server, portal_server.onboarder.email, shots=("totp-code",))
    expect(page).to_have_url(re.compile(r"/agency/shops$"))

    submit_onboarding(page, slug=slug, name=name, admin_name="風間 書子", admin_email=admin_email)
    expect(page).to_have_url(shop_url(slug))
    expect(page.get_by_test_id("shop-title")).to_have_text(name)
    screenshot(page, "onboarded-dashboard")
    logout(page)

    # The relay and the worker process send it after the request has committed.
    mails = portal_server.wait_for_mail(admin_email)
    assert len(mails) == 1, [m["To"] for m in portal_server.mailbox]
    link = reset_link_in(mails[0])
    assert link.startswith(portal_server.base_url + "/password/reset/"), link

    page.goto(link)
    page.fill("#password", NEW_PASSWORD)
    page.fill("#confirm", NEW_PASSWORD)
    screenshot(page, "reset-password")
    submit(page, "reset-submit")
    expect(page).to_have_url(re.compile(r"/login$"))

    login(page, portal_server, admin_email, NEW_PASSWORD)
    expect(page).to_have_url(shop_url(slug))
    expect_japanese(page)
    expect(page.get_by_test_id("shop-title")).to_have_text(name)
    screenshot(page, "new-shop-admin-dashboard")

    # The stranger's question: the new shop's admin cannot open an older shop.
    response = page.goto(f"/s/{portal_server.world.shop_a.slug}/")
    assert response is not None and response.status == 404


def submit_onboarding(page: Page, *, slug: str, name: str, admin_name: str, admin_email: str):
    page.get_by_test_id("onboard-link").click()
    expect(page).to_have_url(re.compile(r"/agency/shops/new$"))
    page.fill("#name", name)
    page.fill("#slug", slug)
    page.fill("#timezone", "Asia/Tokyo")
    page.fill("#admin_name", admin_name)
    page.fill("#admin_email", admin_email)
    screenshot(page, "onboard-form")
    submit(page, "onboard-submit")
    assert path_of(page) != "/agency/shops/new", page.locator(".field-error").all_inner_texts()


def test_shop_admin_typing_another_shops_address_gets_not_found(
    page: Page, portal_server: BrowserPortal
):
    world = portal_server.world
    login(page, portal_server, world.shop_admin_a.email)
    expect(page).to_have_url(shop_url(world.shop_a.slug))

    foreign = page.goto(f"/s/{world.shop_b.slug}/")
    assert foreign is not None and foreign.status == 404
    expect_japanese(page)
    expect(page.locator("main h1")).to_have_text("404")
    expect(page.get_by_test_id("shop-title")).to_have_count(0)
    expect(page.locator("body")).not_to_contain_text(world.shop_b.name)
    screenshot(page, "not-found")
    foreign_text = page.locator("main").inner_text()

    # Forbidden and missing look the same: the page does not confirm that shop B exists.
    missing = page.goto("/s/no-such-shop/")
    assert missing is not None and missing.status == 404
    assert page.locator("main").inner_text() == foreign_text
