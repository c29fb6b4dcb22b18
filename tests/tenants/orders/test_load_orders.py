"""``load_order`` and ``load_orders`` (checked field by field without the schema's
machinery) give exactly what the schema's own load gives: the same values for every
body, and for a body with anything wrong, the same error naming the same fields."""

from __future__ import annotations

import pytest
from marshmallow import ValidationError

from tests.tenants.order_imports.conftest import EXAMPLES
from tests.tenants.orders.conftest import order_body
from urakata.platform.csvfiles import CsvUnreadable
from urakata.tenants.orders.imports import formats, service
from urakata.tenants.orders.schemas import load_order, load_orders, schema_load_order

SAMPLES = {
    "shopify": "shopify_orders.csv",
    "rakuten": "rakuten_orders.csv",
    "amazon": "amazon_orders.txt",
    "generic": "generic_orders.csv",
}


def _answers(load, bodies, zone):
    answers = []
    for body in bodies:
        try:
            answers.append(load(body, zone=zone))
        except ValidationError as exc:
            answers.append(exc.messages)
    return answers


def _one_by_one(bodies, zone):
    """The schema's own answers; ``load_order`` must give the same."""
    answers = _answers(schema_load_order, bodies, zone)
    assert _answers(load_order, bodies, zone) == answers
    return answers


def _batch(bodies, zone):
    return [
        one.messages if isinstance(one, ValidationError) else one
        for one in load_orders(bodies, zone=zone)
    ]


def _file_bodies(key: str) -> list[dict]:
    fmt = formats.FORMATS[key]
    try:
        _encoding, _digest, header, records = service.read_file(
            (EXAMPLES / SAMPLES[key]).read_bytes()
        )
    except CsvUnreadable as exc:  # pragma: no cover - the samples are readable
        pytest.fail(str(exc))
    orders, _errors = formats.read_orders(fmt, header, records)
    assert orders
    return [{**order.body, "channel": fmt.channel} for order in orders]


@pytest.mark.parametrize("key", sorted(SAMPLES))
@pytest.mark.parametrize("zone", ["Asia/Tokyo", "America/Los_Angeles"])
def test_every_sample_file_loads_alike(key, zone):
    bodies = _file_bodies(key)
    assert _batch(bodies, zone) == _one_by_one(bodies, zone)


VALID_VARIANTS = [
    order_body(),
    order_body(ordered_at="2026-06-01 10:00"),  # no offset: read in the shop's zone
    order_body(customer={"kana": "", "email": ""}, notes="  置き配希望  "),
    order_body(ship_to={"postal_code": "１００ー０００１", "street": "千代田１ー１　"}),
    order_body(ship_to={"prefecture": "13", "building": "ＡＢＣビル ３F"}),
    order_body(ship_to={"prefecture": "Tokyo"}),
    order_body(delivery_date="2026/06/05", delivery_slot="14-16", gift_wrap=True, noshi="御歳暮"),
    order_body(delivery_date=None, delivery_slot=None, total_yen=None),
    order_body(shipping_fee_yen="８８０", fee_yen=330, discount_yen=100, total_yen=3370),
    order_body(
        lines=[
            {
                "sku": "tea-001",
                "quantity": "３",
                "unit_price_yen": "1,080",
                "tax_rate": 8,
                "name": "  煎茶  ",
            }
        ]
    ),  # fmt: skip
    order_body(channel="rakuten", payment_method="bank_transfer", payment_status="unpaid"),
]

INVALID_VARIANTS = [
    order_body(external_id="#" * 65),
    order_body(ship_to={"prefecture": "東京"}) | {"unknown": 1},
    order_body(ship_to={"prefecture": "ネバーランド"}),
    order_body() | {"ship_to": None},
    order_body(customer={"name": "  "}),
    order_body(lines=[]),
    order_body(lines="TEA-001"),
    order_body(lines=[{"sku": "TEA-001", "quantity": 0, "unit_price_yen": 1080}]),
    order_body(lines=[{"sku": "TEA-001", "quantity": -2, "unit_price_yen": 1080}, "x"]),
    order_body(lines=[{"sku": "TEA-001", "quantity": 1, "unit_price_yen": 1080, "colour": "red"}]),
    order_body(payment_method="bitcoin"),
    order_body(delivery_date="next week"),
    order_body(ordered_at="yesterday"),
    order_body(gift_wrap="perhaps"),
    order_body(notes="x" * 2_001),
    {k: v for k, v in order_body().items() if k != "external_id"},
    {k: v for k, v in order_body().items() if k != "payment_method"},
    order_body(external_id="  "),
    order_body(ship_to={"city": None}),
    order_body() | {"ship_to": {k: v for k, v in order_body()["ship_to"].items() if k != "city"}},
    order_body(lines=[{"quantity": 1, "unit_price_yen": 1080}]),
    order_body(lines=[{"sku": "TEA-001", "quantity": 1, "unit_price_yen": 1080, "tax_rate": 5}]),
    order_body(channel="ebay"),
    {k: v for k, v in order_body().items() if k != "customer"},
    {k: v for k, v in order_body().items() if k != "lines"},
    "not an object",
    None,
]


@pytest.mark.parametrize("zone", ["Asia/Tokyo", "Pacific/Honolulu"])
def test_hand_made_bodies_load_alike_valid_or_not(zone):
    bodies = VALID_VARIANTS + INVALID_VARIANTS
    batch, alone = _batch(bodies, zone), _one_by_one(bodies, zone)
    assert batch == alone
    valid = [not isinstance(one, ValidationError) for one in load_orders(bodies, zone=zone)]
    assert valid == [True] * len(VALID_VARIANTS) + [False] * len(INVALID_VARIANTS)


def test_a_bad_body_does_not_spoil_the_ones_after_it():
    bodies = [order_body(external_id="A"), order_body(lines=[]), order_body(external_id="C")]
    first, second, third = load_orders(bodies)
    assert (first["external_id"], third["external_id"]) == ("A", "C")
    assert isinstance(second, ValidationError) and "lines" in second.messages


def test_valid_bodies_are_not_loaded_twice(monkeypatch):
    """The schema loads only what the quick check gave up on (else it saves nothing)."""
    from urakata.tenants.orders import schemas

    again = []
    monkeypatch.setattr(schemas, "schema_load_order", lambda b, zone: again.append(b) or {})
    schemas.load_orders(VALID_VARIANTS + _file_bodies("shopify") + [order_body(lines=[])])
    assert again == [order_body(lines=[])]
