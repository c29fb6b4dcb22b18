"""Intake: totals per tax rate, NFKC normalisation, bad input named by field, re-sent
orders refused, and nothing half-written when an order is refused."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.tenants.orders.conftest import OPERATOR, order_body, reload, take
from urakata.platform.audit import AuditEvent
from urakata.tenants.orders import services
from urakata.tenants.orders.models import Order, OrderLine
from urakata.tenants.orders.services import OrderConflict, OrderInvalid

# -- totals -----------------------------------------------------------------------------


def test_tax_per_rate_is_taken_out_of_tax_included_prices(db, shop, clock):
    order = take(db, shop, order_body(total_yen=3260))
    assert order.status == "released"
    assert (order.items_yen, order.total_yen) == (3260, 3260)
    assert (order.tax_8_yen, order.tax_10_yen) == (160, 100)  # 2,160 × 8/108, 1,100 × 10/110
    assert [(ln.line_no, ln.amount_yen, ln.tax_rate) for ln in order.lines] == [
        (1, 2160, 8),
        (2, 1100, 10),
    ]


def test_tax_is_rounded_down_once_per_rate_not_per_line(db, shop, clock):
    line = {"sku": "CUP-001", "quantity": 1, "unit_price_yen": 105}
    order = take(db, shop, order_body(lines=[line, dict(line), dict(line)]))
    assert order.tax_10_yen == 28  # 315 × 10/110 = 28.6 → 28 (per line: 9 × 3 = 27)
    assert order.tax_8_yen == 0


def test_shipping_and_fees_are_taxed_at_ten_percent(db, shop, clock):
    body = order_body(shipping_fee_yen=880, fee_yen="３３０", payment_method="cod", total_yen=4470)
    order = take(db, shop, body)
    assert (order.total_yen, order.shipping_fee_yen, order.fee_yen) == (4470, 880, 330)
    assert (order.tax_8_yen, order.tax_10_yen) == (160, 210)  # 2,310 × 10/110
    assert order.hold_codes == []


def test_a_discount_comes_off_the_ten_percent_base_first(db, shop, clock):
    order = take(db, shop, order_body(shipping_fee_yen=880, discount_yen=500))
    assert (order.total_yen, order.tax_8_yen, order.tax_10_yen) == (3640, 160, 134)
    big = take(db, shop, order_body(external_id="#2", discount_yen=3000))
    assert (big.total_yen, big.tax_8_yen, big.tax_10_yen) == (260, 19, 0)


def test_a_discount_larger_than_the_order_is_refused(db, shop, clock):
    with pytest.raises(OrderInvalid) as caught:
        take(db, shop, order_body(discount_yen=3261))
    assert list(caught.value.errors) == ["discount_yen"]
    assert take(db, shop, order_body(discount_yen=3260)).total_yen == 0


def test_the_line_tax_rate_and_name_default_to_the_catalog(db, shop, clock):
    lines = [
        {"sku": "TEA-001", "quantity": 1, "unit_price_yen": 1080, "name": ""},
        {"sku": "CUP-001", "quantity": 1, "unit_price_yen": 1100, "tax_rate": "8%"},
        {"sku": "NOPE-1", "quantity": 1, "unit_price_yen": 100},
    ]
    order = take(db, shop, order_body(lines=lines))
    assert [(ln.name, ln.tax_rate, ln.product_id is None) for ln in order.lines] == [
        ("静岡 深蒸し煎茶 100g", 8, False),
        ("有田焼 湯呑み", 8, False),  # the channel's rate wins over the catalog's
        ("NOPE-1", 10, True),
    ]


# -- normalisation ----------------------------------------------------------------------


def test_japanese_text_is_nfkc_normalised_at_intake(db, shop, clock):
    body = order_body(
        customer={"name": "ﾔﾏﾀﾞ ﾀﾛｳ", "kana": "ﾔﾏﾀﾞ　ﾀﾛｳ", "phone": "０９０（１２３４）５６７８"},
        ship_to={
            "name": "ﾔﾏﾀﾞ　ﾀﾛｳ",
            "postal_code": "〒１００－０００１",
            "prefecture": "Tokyo",
            "city": "千代田区　",
            "street": "千代田１－１",
            "building": "ﾊﾟﾚｽ  ﾋﾞﾙ　１０１",
            "phone": "＋８１ ９０－１２３４－５６７８",
        },
        lines=[{"sku": "ＴＥＡ－００１", "quantity": "２", "unit_price_yen": "１，０８０"}],
        total_yen="２，１６０",
    )
    order = take(db, shop, body)
    assert order.hold_codes == []
    assert (order.customer_name, order.customer_kana) == ("ヤマダ タロウ", "ヤマダ タロウ")
    assert order.customer_phone == "09012345678"
    assert (order.ship_name, order.ship_postal_code, order.ship_prefecture) == (
        "ヤマダ タロウ",
        "1000001",
        "13",
    )
    assert (order.ship_city, order.ship_street, order.ship_building) == (
        "千代田区",
        "千代田1-1",
        "パレス ビル 101",
    )
    assert order.ship_phone == "09012345678"
    assert [(ln.sku, ln.quantity, ln.unit_price_yen) for ln in order.lines] == [
        ("TEA-001", 2, 1080)
    ]


@pytest.mark.parametrize("prefecture", ["13", "東京都", "東京", "TOKYO", "JP-13", "Tōkyō-to"])
def test_prefecture_spellings(db, shop, clock, prefecture):
    order = take(db, shop, order_body(ship_to={"prefecture": prefecture}))
    assert (order.ship_prefecture, order.status) == ("13", "released")


# -- bad input ---------------------------------------------------------------------------


def _without(key: str) -> dict:
    body = order_body()
    parent, _, child = key.rpartition(".")
    (body[parent] if parent else body).pop(child)
    return body


def _line(**changes) -> dict:
    return order_body(lines=[{"sku": "TEA-001", "quantity": 1, "unit_price_yen": 1080, **changes}])


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        (_without("external_id"), "external_id", "required"),
        (order_body(external_id=""), "external_id", "cannot be empty"),
        (order_body(external_id=" \u3000 "), "external_id", "cannot be empty"),
        (_without("customer"), "customer", "required"),
        (_without("ship_to"), "ship_to", "required"),
        (_without("ship_to.city"), "ship_to.city", "required"),
        (_without("ship_to.postal_code"), "ship_to.postal_code", "required"),
        (_without("customer.name"), "customer.name", "required"),
        (order_body(customer={"name": " \u3000 "}), "customer.name", "empty"),
        (_without("payment_method"), "payment_method", "required"),
        (_without("lines"), "lines", "required"),
        (order_body(lines=[]), "lines", "at least one line"),
        (order_body(lines="TEA-001"), "lines", "at least one line"),
        (order_body(lines=["TEA-001"]), "lines[0]", ""),
        (_line(quantity=0), "lines[0].quantity", "from 1 to 10,000"),
        (_line(quantity=-2), "lines[0].quantity", "from 1 to 10,000"),
        (_line(quantity="1.5"), "lines[0].quantity", "whole number"),
        (_line(unit_price_yen=-1), "lines[0].unit_price_yen", "whole number"),
        (_line(tax_rate=5), "lines[0].tax_rate", "Choose one of: 10, 8"),
        (_line(sku="TEA 001"), "lines[0].sku", "letters, digits"),
        (_without("lines") | {"lines": [{"quantity": 1, "unit_price_yen": 1}]},
         "lines[0].sku", "required"),
        (order_body(ship_to={"prefecture": "Atlantis"}), "ship_to.prefecture",
         "not one of the 47 prefectures"),
        (order_body(ship_to={"prefecture": ""}), "ship_to.prefecture", "cannot be empty"),
        (order_body(payment_method="paypay"), "payment_method", "Choose one of"),
        (order_body(channel="ebay"), "channel", "Choose one of"),
        (order_body(ordered_at="yesterday"), "ordered_at", "date and time"),
        (order_body(delivery_date="12/1"), "delivery_date", "2026-12-01"),
        (order_body(tenant_id="x"), "tenant_id", ""),
        (order_body(customer={"phone": "tel: 03-1234-5678 (ext 12)"}), "customer.phone", ""),
        (order_body(ship_to={"street": "x" * 201}), "ship_to.street", "at most 200"),
    ],
)  # fmt: skip
def test_bad_input_names_the_field(db, shop, clock, body, field, words):
    with pytest.raises(OrderInvalid) as caught:
        take(db, shop, body)
    assert list(caught.value.errors) == [field]
    assert words in " ".join(map(str, caught.value.errors[field]))


@pytest.mark.parametrize("data", [None, "order", ["#1001"], 42])
def test_data_that_is_not_an_object_is_refused(db, shop, clock, data):
    with pytest.raises(OrderInvalid) as caught, db.tenant_session(shop.id) as s:
        services.intake(s, actor=OPERATOR, data=data)
    assert caught.value.errors == {"_schema": ["Send a JSON object."]}


def _counts(s) -> tuple[int, int, int]:
    return (
        s.scalar(select(func.count()).select_from(Order)),
        s.scalar(select(func.count()).select_from(OrderLine)),
        s.scalar(select(func.count()).select_from(AuditEvent)),
    )


@pytest.mark.parametrize(
    "body",
    [
        _line(quantity=0),
        order_body(ship_to={"prefecture": "Atlantis"}),
        order_body(discount_yen=99_999),
        order_body(),  # re-sent
    ],
)
def test_nothing_is_half_written(db, shop, clock, body):
    take(db, shop, order_body(external_id="#1001"))
    with db.tenant_session(shop.id) as s:
        before = _counts(s)
        with pytest.raises((OrderInvalid, OrderConflict)):
            services.intake(s, actor=OPERATOR, data=body)
        assert _counts(s) == before  # nothing even flushed in the caller's transaction


def test_a_resent_order_is_a_conflict(db, shop, clock):
    first = take(db, shop)
    with pytest.raises(OrderConflict) as caught, db.tenant_session(shop.id) as s:
        try:
            services.intake(s, actor=OPERATOR, data=order_body(total_yen=1))
        finally:
            conflicting = s.get(Order, (shop.id, first.id))
    assert "#1001 from api exists already" in str(caught.value)
    assert caught.value.order is conflicting
    assert reload(db, shop, first.id).version == first.version
    # The same number from another channel is another order.
    other = take(db, shop, order_body(channel="rakuten", customer={"email": "r@example.jp"}))
    assert other.channel == "rakuten"
    with pytest.raises(OrderConflict):
        take(db, shop, order_body(), channel="rakuten")


def test_an_order_id_taken_between_the_check_and_the_insert_is_a_conflict(
    db, shop, clock, monkeypatch
):
    """Two senders of one order at once: the loser's insert hits the unique index (it
    waited for the winner's commit) and answers 409 like a plain re-send, not a 500."""
    first = take(db, shop)
    real = services._refuse_known
    calls = []

    def misses_the_first_time(session, channel, external_id):
        calls.append(external_id)
        if len(calls) > 1:
            real(session, channel, external_id)

    monkeypatch.setattr(services, "_refuse_known", misses_the_first_time)
    with pytest.raises(OrderConflict) as caught:
        take(db, shop)
    assert calls == ["#1001", "#1001"]
    assert "#1001 from api exists already" in str(caught.value)
    assert reload(db, shop, first.id).version == first.version


def test_a_cancelled_order_resent_is_a_conflict_that_says_so(db, shop, clock):
    order = take(db, shop)
    with db.tenant_session(shop.id) as s:
        services.cancel(s, actor=OPERATOR, order_id=order.id, version=None, reason="x")
    with pytest.raises(OrderConflict) as caught:
        take(db, shop)
    assert "was cancelled; a cancelled order is not taken again" in str(caught.value)
    assert caught.value.message.msgid.startswith("Order %(external_id)s was cancelled")


def test_the_intake_event_names_the_order(db, shop, clock):
    order = take(db, shop, order_body(channel="shopify", delivery_slot="14-16", gift_wrap="有",
                                      noshi="御中元", delivery_date="2026/06/10"))  # fmt: skip
    assert (order.channel, order.delivery_slot, order.gift_wrap, order.noshi) == (
        "shopify", "14-16", True, "御中元",
    )  # fmt: skip
    assert order.delivery_date.isoformat() == "2026-06-10"
    with db.tenant_session(shop.id) as s:
        received = s.scalars(select(AuditEvent).where(AuditEvent.action == "order.received")).one()
    assert received.payload["data"] == {
        "channel": "shopify", "external_id": "#1001", "lines": 2, "total_yen": 3260,
        "payment_method": "card",
    }  # fmt: skip
