"""The product pages: list with search, filters and keyset pages; add and change with
versions; read-only roles; the ledger timeline; and another shop's products as 404s."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.factories import make_user
from urakata.platform.audit import AuditEvent, user_actor
from urakata.platform.codes import gtin_check_digit
from urakata.platform.identity import Role
from urakata.tenants.catalog.models import Product
from urakata.tenants.catalog.services import create_product, update_product


def jan(n: int) -> str:
    body = f"4569951{n:05d}"
    return body + str(gtin_check_digit(body))


def add(db, world, shop=None, **data):
    shop = shop or world.shop_a
    values = {"sku": "TEA-1", "name": "深蒸し煎茶", "price_yen": 1200, "tax_rate": 8, **data}
    with db.tenant_session(shop.id) as s:
        return create_product(s, actor=user_actor(world.agency_admin), data=values)


FORM = {
    "sku": "TEA-9",
    "jan": "",
    "name": "玉露 50g",
    "name_en": "Gyokuro",
    "price_yen": "２，４００",
    "tax_rate": "8",
    "sale_starts_at": "2026-12-01 10:00",
    "status": "active",
    "length_mm": "120",
    "width_mm": "80",
    "height_mm": "30",
    "weight_g": "60",
    "temperature_zone": "chilled",
    "lot_tracked": "y",
    "case_quantity": "",
    "case_itf14": "",
    "barcodes": "GY-50\nGY-50B",
}


def test_the_shop_admin_adds_a_product_and_sees_it_with_its_history(db, world, portal):
    portal.login(world.shop_admin_a)
    dashboard = portal.get("/s/shop-a/").get_data(as_text=True)
    assert 'href="/s/shop-a/products"' in dashboard
    page = portal.get("/s/shop-a/products/new")
    assert page.status_code == 200 and 'data-testid="product-form"' in page.get_data(as_text=True)
    added = portal.post_form("/s/shop-a/products/new", FORM)
    assert added.status_code == 303, added.get_data(as_text=True)[:3000]
    url = added.headers["Location"]
    assert re.search(r"/s/shop-a/products/\d+$", url)
    html = portal.get(url).get_data(as_text=True)
    assert 'data-testid="product-title">玉露 50g<' in html
    assert "¥2,400" in html and 'data-testid="product-size_class">60<' in html
    assert 'data-action="product.created"' in html  # the timeline
    with db.tenant_session(world.shop_a.id) as s:
        product = s.scalar(select(Product).where(Product.sku == "TEA-9"))
        event = s.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert (product.temperature_zone, product.lot_tracked) == ("chilled", True)
    assert event.payload["actor"]["id"] == str(world.shop_admin_a.id)


def in_english(portal):
    portal.post_form("/language/en", {"next": "/account"}, form_url="/account")


def test_bad_values_come_back_next_to_their_fields(world, portal):
    portal.login(world.shop_admin_a)
    in_english(portal)
    bad = {**FORM, "jan": "4569951116178", "price_yen": "-5", "tax_rate": "5"}
    response = portal.post_form("/s/shop-a/products/new", bad)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'data-testid="product-errors"' in html
    for field, text in (
        ("jan", "check digit should be 9"),
        ("price_yen", "whole number"),
        ("tax_rate", "10, 8"),
    ):
        block = re.search(rf'data-testid="product-field-{field}">(.*?)</div>', html, re.S)
        assert block and "field-error" in block.group(1) and text in block.group(1), field


def test_messages_follow_the_users_language(world, portal):
    portal.login(world.shop_admin_a)
    bad = {**FORM, "price_yen": "-5"}
    html = portal.post_form("/s/shop-a/products/new", bad).get_data(as_text=True)
    assert "0〜100,000,000 の整数を入力してください。" in html
    in_english(portal)
    html = portal.post_form("/s/shop-a/products/new", bad).get_data(as_text=True)
    assert "Enter a whole number from 0 to 100,000,000." in html


def test_a_duplicate_sku_is_refused_so_a_double_submit_adds_one_product(db, world, portal):
    portal.login(world.shop_admin_a)
    assert portal.post_form("/s/shop-a/products/new", FORM).status_code == 303
    again = portal.post_form("/s/shop-a/products/new", FORM)
    assert again.status_code == 422 and "TEA-9" in again.get_data(as_text=True)


def test_changes_need_the_version_they_were_made_on(db, world, portal):
    product = add(db, world)
    portal.login(world.operator_a)
    url = f"/s/shop-a/products/{product.id}"
    page = portal.get(url).get_data(as_text=True)
    assert 'name="version" type="hidden" value="1"' in page
    form = {**FORM, "sku": "TEA-1", "version": "1", "price_yen": "1300"}
    saved = portal.post_form(url, form)
    assert saved.status_code == 303
    with db.tenant_session(world.shop_a.id) as s:
        update_product(
            s,
            actor=user_actor(world.agency_admin),
            product_id=product.id,
            data={"version": 2, "name": "別の名前"},
        )
    stale = portal.post_form(url, {**form, "version": "2", "price_yen": "1"})
    assert stale.status_code == 409
    assert 'data-testid="product-conflict"' in stale.get_data(as_text=True)
    with db.tenant_session(world.shop_a.id) as s:
        current = s.get(Product, (world.shop_a.id, product.id))
        assert (current.price_yen, current.name, current.version) == (1300, "別の名前", 3)


def test_a_post_without_a_version_is_a_bad_request(db, world, portal):
    product = add(db, world)
    portal.login(world.shop_admin_a)
    response = portal.post_form(f"/s/shop-a/products/{product.id}", {**FORM, "sku": "TEA-1"})
    assert response.status_code == 400


@pytest.mark.parametrize("who", ["shop_staff", "auditor"])
def test_shop_staff_and_auditors_read_but_may_not_change(db, world, portal, who):
    product = add(db, world)
    user = make_user(db, Role.shop_staff, world.shop_a) if who == "shop_staff" else world.auditor
    portal.login(user)
    assert portal.get("/s/shop-a/products").status_code == 200
    page = portal.get(f"/s/shop-a/products/{product.id}").get_data(as_text=True)
    assert 'data-testid="product-readonly"' in page and 'data-testid="product-form"' not in page
    assert portal.get("/s/shop-a/products/export").status_code == 200
    url = f"/s/shop-a/products/{product.id}"
    posted = portal.post_form(url, {**FORM, "version": "1"}, form_url="/account")
    assert posted.status_code == 403
    assert portal.post_form("/s/shop-a/products/new", FORM, form_url="/account").status_code == 403
    assert portal.get("/s/shop-a/products/new").status_code == 403
    assert portal.get("/s/shop-a/products/import").status_code == 403


def test_search_filters_and_keyset_pages(db, world, portal):
    add(db, world, jan=jan(1))
    for n in range(55):
        add(
            db,
            world,
            sku=f"CUP-{n:02d}",
            name=f"湯呑み {n}",
            status="active",
            temperature_zone="frozen" if n == 3 else "ambient",
        )
    portal.login(world.shop_admin_a)

    def skus(url):
        html = portal.get(url).get_data(as_text=True)
        return re.findall(r'data-testid="product-row" data-sku="([^"]+)"', html), html

    found, _html = skus(f"/s/shop-a/products?q={jan(1)}")
    assert found == ["TEA-1"]
    assert skus("/s/shop-a/products?q=深蒸し")[0] == ["TEA-1"]
    assert skus("/s/shop-a/products?zone=frozen")[0] == ["CUP-03"]
    assert "TEA-1" not in skus("/s/shop-a/products?status=active")[0]
    first, html = skus("/s/shop-a/products?q=CUP")
    assert len(first) == 50
    nxt = re.search(r'href="([^"]+)" rel="next" data-testid="products-next"', html).group(1)
    rest, html = skus(nxt.replace("&amp;", "&"))
    assert first + rest == [f"CUP-{n:02d}" for n in range(55)]
    assert 'data-testid="products-next"' not in html


def test_another_shop_sees_nothing_of_shop_a(db, world, portal):
    product = add(db, world, jan=jan(1))
    add(db, world, shop=world.shop_b, sku="B-ONLY", name="みどりの商品")
    portal.login(world.shop_admin_b)
    for path in (
        f"/s/shop-a/products/{product.id}",
        "/s/shop-a/products",
        "/s/shop-a/products/export",
        "/s/shop-a/products/import",
        f"/s/shop-b/products/{product.id}",  # shop A's id under shop B's own address
    ):
        assert portal.get(path).status_code == 404, path
    posted = portal.post_form(
        f"/s/shop-b/products/{product.id}", {**FORM, "version": "1"}, form_url="/account"
    )
    assert posted.status_code == 404
    listing = portal.get(f"/s/shop-b/products?q={jan(1)}").get_data(as_text=True)
    assert "TEA-1" not in listing
    export = portal.get("/s/shop-b/products/export").get_data()
    assert b"B-ONLY" in export and b"TEA-1" not in export


def test_the_export_downloads_csv_in_either_encoding(db, world, portal):
    add(db, world, name="=cmd|' /C calc'!A0")
    portal.login(world.shop_admin_a)
    utf8 = portal.get("/s/shop-a/products/export")
    assert utf8.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert 'attachment; filename="products-shop-a-' in utf8.headers["Content-Disposition"]
    body = utf8.get_data()
    assert body.startswith(b"\xef\xbb\xbf") and b"'=cmd|" in body
    sjis = portal.get("/s/shop-a/products/export?encoding=cp932&headers=en")
    assert sjis.headers["Content-Type"] == "text/csv; charset=Shift_JIS"
    assert sjis.get_data().decode("cp932").startswith("sku,jan,name")
    assert portal.get("/s/shop-a/products/export?encoding=latin-1").status_code == 400
