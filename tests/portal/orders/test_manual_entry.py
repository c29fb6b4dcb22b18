"""Manual entry of a phone order: taken in through the same checks as the carts' orders;
bad input comes back next to its fields and writes nothing."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from tests.portal.orders.helpers import add_product, load
from urakata.tenants.orders.models import Order

FORM = {
    "external_id": "TEL-001",
    "customer_name": "佐藤 一郎",
    "customer_kana": "サトウ イチロウ",
    "customer_email": "",
    "customer_phone": "０９０－１２３４－５６７８",
    "ship_name": "佐藤 一郎",
    "ship_postal_code": "１００－０００１",
    "ship_prefecture": "13",
    "ship_city": "千代田区",
    "ship_street": "千代田１－１",
    "ship_building": "",
    "ship_phone": "090-1234-5678",
    "lines-0-sku": "TEA-1",
    "lines-0-name": "",
    "lines-0-quantity": "２",
    "lines-0-unit_price_yen": "1,200",
    "payment_method": "cod",
    "payment_status": "unpaid",
    "shipping_fee_yen": "600",
    "fee_yen": "330",
    "discount_yen": "",
    "delivery_date": "",
    "delivery_slot": "am",
    "noshi": "",
    "notes": "電話にて受付",
}


def count(db, shop) -> int:
    with db.tenant_session(shop.id) as s:
        return s.scalar(select(func.count()).select_from(Order))


def test_an_operator_enters_a_phone_order(db, world, portal):
    add_product(db, world, world.shop_a, "TEA-1")
    portal.login(world.operator_a)
    page = portal.get("/s/shop-a/orders/new").get_data(as_text=True)
    assert "電話注文を入力" in page and 'name="lines-4-sku"' in page
    response = portal.post_form("/s/shop-a/orders/new", FORM)
    assert response.status_code == 303, response.get_data(as_text=True)[:3000]
    order_id = int(re.search(r"/s/shop-a/orders/(\d+)$", response.headers["Location"]).group(1))
    order = load(db, world.shop_a, order_id)
    assert (order.channel, order.external_id, order.status) == ("manual", "TEL-001", "released")
    assert (order.total_yen, order.ship_postal_code, order.customer_phone) == (
        3330,
        "1000001",
        "09012345678",
    )
    assert [(line.sku, line.quantity, line.name) for line in order.lines] == [
        ("TEA-1", 2, "商品 TEA-1")
    ]
    page = portal.get(response.headers["Location"]).get_data(as_text=True)
    assert "注文 TEL-001 を登録しました。" in page and "手入力" in page


def test_bad_input_comes_back_next_to_its_fields_and_nothing_is_written(db, world, portal):
    add_product(db, world, world.shop_a, "TEA-1")
    portal.login(world.shop_admin_a)
    bad = {
        **FORM,
        "customer_email": "x" * 300,
        "ship_prefecture": "",
        "lines-0-quantity": "0",
        "lines-2-sku": "CUP-1",
        "lines-2-unit_price_yen": "-5",
        "payment_method": "",
    }
    response = portal.post_form("/s/shop-a/orders/new", bad)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "注文は登録されていません。" in html
    for field in ("customer_email", "ship_prefecture", "payment_method"):
        assert f'id="{field}-error"' in html, field
    errors = re.findall(r'data-testid="line-error" data-field="([^"]+)"', html)
    assert "lines-0-quantity" in errors and "lines-2-unit_price_yen" in errors
    assert "lines-2-quantity" in errors  # a row with a SKU needs a quantity
    assert 'value="佐藤 一郎"' in html  # what was typed stays
    assert count(db, world.shop_a) == 0


def test_no_lines_and_a_known_order_number_are_refused(db, world, portal):
    add_product(db, world, world.shop_a, "TEA-1")
    portal.login(world.shop_admin_a)
    empty = {k: v for k, v in FORM.items() if not k.startswith("lines-")}
    response = portal.post_form("/s/shop-a/orders/new", empty)
    assert response.status_code == 422
    assert 'data-testid="order-line-error"' in response.get_data(as_text=True)
    assert portal.post_form("/s/shop-a/orders/new", FORM).status_code == 303
    again = portal.post_form("/s/shop-a/orders/new", FORM)
    assert again.status_code == 422 and 'id="external_id-error"' in again.get_data(as_text=True)
    assert count(db, world.shop_a) == 1


def test_a_phone_order_for_an_unknown_sku_is_taken_and_held(db, world, portal):
    portal.login(world.operator_a)
    response = portal.post_form(
        "/s/shop-a/orders/new", {**FORM, "external_id": "", "lines-0-sku": "NEW-1"}
    )
    assert response.status_code == 303
    page = portal.get(response.headers["Location"]).get_data(as_text=True)
    assert "保留になっています" in page and 'data-code="sku_unknown"' in page
    assert re.search(r"注文 TEL-\d{8}-\d{6}", page)


def test_shop_b_cannot_enter_orders_into_shop_a(db, world, portal):
    portal.login(world.shop_admin_b)
    assert portal.get("/s/shop-a/orders/new").status_code == 404
    response = portal.post_form("/s/shop-a/orders/new", FORM, form_url="/s/shop-b/orders/new")
    assert response.status_code == 404
    assert count(db, world.shop_a) == 0
