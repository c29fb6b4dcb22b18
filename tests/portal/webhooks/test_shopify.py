"""Shopify's order webhooks: signed with the shop's own secret or refused before parsing;
an order taken in like any other; delivered twice, made once; cancelled by Shopify."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from sqlalchemy import select, update

from tests.tenants.order_imports.conftest import add_sample_products
from urakata.platform.audit import AuditEvent
from urakata.tenants.orders.imports.shopify import delivery_slot, order_body
from urakata.tenants.orders.models import Order
from urakata.tenants.shop.models import ShopSettings

SECRET_A, SECRET_B = "shpss_a_secret_0123456789", "shpss_b_secret_9876543210"
PAYLOAD = {
    "id": 5401234567001,
    "name": "#3001",
    "email": "hanako.yamada@example.jp",
    "created_at": "2026-11-20T10:15:30+09:00",
    "financial_status": "paid",
    "payment_gateway_names": ["shopify_payments"],
    "total_price": "3240",
    "total_discounts": "0",
    "taxes_included": True,
    "tax_lines": [{"title": "消費税", "rate": 0.08, "price": "240"}],
    "note": "",
    "note_attributes": [
        {"name": "配送希望日", "value": "2026/11/25"},
        {"name": "配送希望時間帯", "value": "14時～16時"},
        {"name": "のし", "value": "御歳暮"},
    ],
    "shipping_lines": [{"title": "通常配送", "price": "0"}],
    "billing_address": {"last_name": "山田", "first_name": "花子", "phone": "090-1234-5678"},
    "shipping_address": {
        "last_name": "山田", "first_name": "花子", "zip": "100-0001", "province_code": "JP-13",
        "province": "Tokyo", "city": "千代田区", "address1": "千代田１－１", "address2": "",
        "phone": "090-1234-5678",
    },
    "line_items": [
        {"sku": "HT-SEN-100", "name": "静岡 深蒸し煎茶 100g", "quantity": 1, "price": "1080.00"},
        {"sku": "HT-GYO-50", "name": "八女 玉露 50g", "quantity": 1, "price": "2160.00"},
    ],
}  # fmt: skip


def sign(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def deliver(client, shop: str, payload, secret: str, topic="orders/create", body=None):
    raw = body if body is not None else json.dumps(payload, ensure_ascii=False).encode()
    return client.post(
        f"/webhooks/shopify/{shop}",
        data=raw,
        headers={
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": sign(raw, secret),
            "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
            "Content-Type": "application/json",
        },
    )


def orders(db, shop) -> dict[str, Order]:
    with db.tenant_session(shop.id) as s:
        return {o.external_id: o for o in s.scalars(select(Order))}


@pytest.fixture
def shops(db, world):
    for shop, secret in ((world.shop_a, SECRET_A), (world.shop_b, SECRET_B)):
        add_sample_products(db, shop)
        with db.tenant_session(shop.id) as s:
            s.execute(update(ShopSettings).values(shopify_webhook_secret=secret))
    return world.shop_a, world.shop_b


def test_a_signed_order_is_taken_in_with_its_note_attributes(client, db, shops):
    shop_a, shop_b = shops
    response = deliver(client, "shop-a", PAYLOAD, SECRET_A)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["outcome"] == "created"
    order = orders(db, shop_a)["#3001"]
    assert (order.channel, order.status, order.total_yen) == ("shopify", "released", 3240)
    assert (str(order.delivery_date), order.delivery_slot, order.noshi) == (
        "2026-11-25", "14-16", "御歳暮")  # fmt: skip
    assert order.ship_street == "千代田1-1" and order.ship_prefecture == "13"
    assert orders(db, shop_b) == {}


def test_delivered_twice_is_made_once(client, db, shops):
    shop_a, _ = shops
    first = deliver(client, "shop-a", PAYLOAD, SECRET_A)
    again = deliver(client, "shop-a", PAYLOAD, SECRET_A)
    assert again.status_code == 200 and again.get_json()["outcome"] == "known"
    assert again.get_json()["order_id"] == first.get_json()["order_id"]
    assert len(orders(db, shop_a)) == 1


@pytest.mark.parametrize(
    "shop, secret, why",
    [
        ("shop-b", SECRET_A, "shop A's secret on shop B's address"),
        ("shop-a", SECRET_B, "shop B's secret on shop A's address"),
        ("shop-a", "guess", "a wrong secret"),
        ("no-such-shop", SECRET_A, "an unknown shop"),
    ],
)
def test_a_wrong_signature_is_refused_and_nothing_is_written(client, db, shops, shop, secret, why):
    shop_a, shop_b = shops
    response = deliver(client, shop, PAYLOAD, secret)
    assert response.status_code == 401, why
    assert orders(db, shop_a) == {} and orders(db, shop_b) == {}


def test_a_body_changed_after_signing_is_refused(client, db, shops):
    shop_a, _ = shops
    raw = json.dumps(PAYLOAD, ensure_ascii=False).encode()
    tampered = raw.replace(b'"quantity": 1', b'"quantity": 9', 1)
    response = client.post(
        "/webhooks/shopify/shop-a", data=tampered,
        headers={"X-Shopify-Topic": "orders/create", "X-Shopify-Hmac-Sha256": sign(raw, SECRET_A)},
    )  # fmt: skip
    assert response.status_code == 401 and orders(db, shop_a) == {}


def test_a_shop_without_a_secret_takes_no_webhooks(client, db, shops):
    shop_a, _ = shops
    with db.tenant_session(shop_a.id) as s:
        s.execute(update(ShopSettings).values(shopify_webhook_secret=""))
    assert deliver(client, "shop-a", PAYLOAD, "").status_code == 401


def test_bad_topics_and_bodies_name_the_problem(client, db, shops):
    assert deliver(client, "shop-a", PAYLOAD, SECRET_A, topic="products/create").status_code == 400
    assert deliver(client, "shop-a", None, SECRET_A, body=b"{not json").status_code == 400
    assert deliver(client, "shop-a", None, SECRET_A, body=b"[1, 2]").status_code == 400


def test_an_invalid_order_is_422_with_its_fields_and_the_refusal_is_on_the_ledger(
    client, db, shops
):
    shop_a, _ = shops
    payload = {**PAYLOAD, "line_items": [{**PAYLOAD["line_items"][0], "quantity": 0}]}
    response = deliver(client, "shop-a", payload, SECRET_A)
    assert response.status_code == 422
    assert "lines[0].quantity" in response.get_json()["errors"]
    assert orders(db, shop_a) == {}
    with db.tenant_session(shop_a.id) as s:
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "shopify.order_refused"))
    assert event.object_id == "#3001" and "lines[0].quantity" in event.payload["data"]["errors"]


def test_cancelled_by_shopify(client, db, shops):
    shop_a, _ = shops
    deliver(client, "shop-a", PAYLOAD, SECRET_A)
    cancelled = deliver(client, "shop-a", {**PAYLOAD, "cancel_reason": "customer"}, SECRET_A,
                        topic="orders/cancelled")  # fmt: skip
    assert cancelled.get_json()["outcome"] == "cancelled"
    order = orders(db, shop_a)["#3001"]
    assert order.status == "cancelled" and order.cancel_reason == "Shopify: customer"
    again = deliver(client, "shop-a", PAYLOAD, SECRET_A, topic="orders/cancelled")
    assert again.get_json()["outcome"] == "already"
    unknown = deliver(client, "shop-a", {**PAYLOAD, "name": "#9999"}, SECRET_A,
                      topic="orders/cancelled")  # fmt: skip
    assert unknown.status_code == 200 and unknown.get_json()["outcome"] == "unknown"


def test_mapping_details():
    body = order_body({**PAYLOAD, "financial_status": "pending",
                       "payment_gateway_names": ["銀行振込"]})  # fmt: skip
    assert (body["payment_method"], body["payment_status"]) == ("bank_transfer", "unpaid")
    assert body["lines"][0]["unit_price_yen"] == 1080
    assert [delivery_slot(t) for t in ("午前中", "14:00-16:00", "19時～21時", "夜")] == [
        "am", "14-16", "19-21", None]  # fmt: skip


def test_each_shop_names_its_own_note_attributes(client, db, shops):
    """Shop A's delivery app writes お届け指定日 / お届け時間 / 熨斗の種類; shop B never said so."""
    shop_a, shop_b = shops
    with db.tenant_session(shop_a.id) as s:
        s.execute(
            update(ShopSettings).values(
                shopify_date_keys="お届け指定日, Delivery-Day",
                shopify_slot_keys="お届け時間",
                shopify_noshi_keys="熨斗の種類",
            )
        )
    own = {
        **PAYLOAD,
        "note_attributes": [
            {"name": "お届け指定日", "value": "２０２６/１１/２６"},
            {"name": "お届け時間", "value": "午前中"},
            {"name": "熨斗の種類", "value": "御祝"},
        ],
    }
    assert deliver(client, "shop-a", own, SECRET_A).status_code == 200
    order = orders(db, shop_a)["#3001"]
    assert (str(order.delivery_date), order.delivery_slot, order.noshi) == (
        "2026-11-26", "am", "御祝")  # fmt: skip
    # The same names mean nothing to shop B: no delivery date, slot or のし is made up.
    assert deliver(client, "shop-b", own, SECRET_B).status_code == 200
    other = orders(db, shop_b)["#3001"]
    assert (other.delivery_date, other.delivery_slot, other.noshi) == (None, None, "")
