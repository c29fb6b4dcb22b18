"""POST /api/v1/orders: an order taken in and checked, idempotency keys, and bad input that
is refused by field with nothing written."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.portal.orders_api.conftest import footprint, order_body
from urakata.platform import audit
from urakata.tenants.orders.models import IdempotencyKey, Order


def post(client, key, body, idempotency_key=None, **kwargs):
    headers = dict(key.headers)
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    return client.post("/api/v1/orders", json=body, headers=headers, **kwargs)


def test_a_clean_card_order_is_created_released_and_on_the_ledger(client, db, world, key_a):
    response = post(client, key_a, order_body())
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["status"], body["holds"], body["channel"]) == ("released", [], "api")
    assert body["ship_by_date"] and body["ship_by_at"]
    assert (body["items_yen"], body["total_yen"], body["tax_8_yen"], body["tax_10_yen"]) == (
        3260,
        3260,
        160,
        100,
    )
    assert body["ship_to"]["prefecture"] == "13" and "tenant_id" not in body
    assert response.headers["Location"] == f"/api/v1/orders/{body['id']}"
    assert "Idempotent-Replayed" not in response.headers
    with db.tenant_session(world.shop_a.id) as s:
        events = audit.history(s, object_type="order", object_id=body["id"])
    assert [e.action for e in reversed(events)] == [
        "order.received",
        "order.confirmed",
        "order.released",
    ]
    assert {(e.actor_type, e.actor_id) for e in events} == {("api_key", str(key_a.id))}


def test_the_service_decides_held_confirmed_or_released(client, key_a):
    unpaid_transfer = post(
        client, key_a, order_body(external_id="#2", payment_method="bank_transfer",
                                  payment_status="unpaid"),
    )  # fmt: skip
    assert unpaid_transfer.status_code == 201
    assert unpaid_transfer.get_json()["status"] == "confirmed"
    assert unpaid_transfer.get_json()["ship_by_at"] is None

    unknown_sku = order_body(external_id="#3", customer={"email": "hanako@example.jp"})
    unknown_sku["lines"] = [{"sku": "NOPE-1", "quantity": 1, "unit_price_yen": 500}]
    held = post(client, key_a, unknown_sku)
    assert held.status_code == 201
    assert held.get_json()["status"] == "on_hold"
    (reason,) = held.get_json()["holds"]
    assert (reason["code"], reason["field"]) == ("sku_unknown", "lines[0].sku")
    assert "NOPE-1" in reason["message"]


def test_a_forwarded_cart_order_keeps_its_channel(client, key_a):
    response = post(client, key_a, order_body(channel="rakuten", external_id="R-100"))
    assert response.status_code == 201 and response.get_json()["channel"] == "rakuten"
    # The same number on another channel is another order.
    assert post(client, key_a, order_body(external_id="R-100")).status_code == 201
    bad = post(client, key_a, order_body(channel="ebay", external_id="E-1"))
    assert bad.status_code == 422 and set(bad.get_json()["errors"]["json"]) == {"channel"}


# -- idempotency ----------------------------------------------------------------------------


def test_a_retry_with_the_same_key_and_body_replays_the_first_answer(client, db, world, key_a):
    first = post(client, key_a, order_body(), idempotency_key="order-1001-try")
    assert first.status_code == 201
    before = footprint(db, world.shop_a)
    # Key order and spacing do not matter: the parsed body is compared.
    reordered = dict(reversed(list(order_body().items())))
    again = post(client, key_a, reordered, idempotency_key="order-1001-try")
    assert again.status_code == 201
    assert again.get_data() == first.get_data()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Location"] == first.headers["Location"]
    assert footprint(db, world.shop_a) == before  # no second order, no new event
    with db.tenant_session(world.shop_a.id) as s:
        assert len(s.scalars(select(Order)).all()) == 1
        row = s.scalars(select(IdempotencyKey)).one()
    assert (row.scope, row.key, row.status_code) == ("orders.create", "order-1001-try", 201)
    assert row.response["id"] == first.get_json()["id"]


def test_the_same_key_with_another_body_is_a_409_naming_the_key(client, db, world, key_a):
    assert post(client, key_a, order_body(), idempotency_key="k-1").status_code == 201
    before = footprint(db, world.shop_a)
    other = post(client, key_a, order_body(external_id="#1002"), idempotency_key="k-1")
    assert other.status_code == 409
    assert "k-1" in other.get_json()["message"]
    assert "different request body" in other.get_json()["message"]
    assert footprint(db, world.shop_a) == before


def test_keys_are_per_shop(client, db, world, key_a, key_b):
    a = post(client, key_a, order_body(), idempotency_key="shared-key")
    b = post(client, key_b, order_body(), idempotency_key="shared-key")
    assert (a.status_code, b.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in b.headers
    assert a.get_json()["id"] != b.get_json()["id"]


def test_a_refused_request_stores_no_key_and_may_be_fixed_and_resent(client, db, world, key_a):
    before = footprint(db, world.shop_a)
    bad = post(client, key_a, order_body(payment_method="bitcoin"), idempotency_key="k-fix")
    assert bad.status_code == 422
    assert footprint(db, world.shop_a) == before
    fixed = post(client, key_a, order_body(), idempotency_key="k-fix")
    assert fixed.status_code == 201 and "Idempotent-Replayed" not in fixed.headers


@pytest.mark.parametrize(
    "value", ["", "x" * 201, "キー", "tab\there"], ids=["empty", "long", "non-ascii", "tab"]
)
def test_a_bad_idempotency_key_is_a_422_naming_the_header(client, db, world, key_a, value):
    before = footprint(db, world.shop_a)
    headers = {**key_a.headers, "Idempotency-Key": value.encode().decode("latin-1")}
    response = client.post("/api/v1/orders", json=order_body(), headers=headers)
    assert response.status_code == 422
    assert "Idempotency-Key" in response.get_json()["errors"]["headers"]
    assert footprint(db, world.shop_a) == before


def test_a_key_of_200_printable_characters_is_fine(client, key_a):
    response = post(client, key_a, order_body(), idempotency_key="A b~" * 50)
    assert response.status_code == 201


# -- bad input --------------------------------------------------------------------------------


def _without(*path):
    body = order_body()
    target = body
    for name in path[:-1]:
        target = target[name]
    del target[path[-1]]
    return body


def _line(**changes):
    return order_body(lines=[{"sku": "TEA-001", "quantity": 1, "unit_price_yen": 1080, **changes}])


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        (_without("external_id"), "external_id", "required"),
        (_without("ship_to", "postal_code"), "ship_to.postal_code", "required"),
        (_without("customer"), "customer", "required"),
        (_line(quantity=0), "lines[0].quantity", "whole number from 1"),
        (_line(quantity=-3), "lines[0].quantity", "whole number from 1"),
        (_line(sku=""), "lines[0].sku", "empty"),
        (order_body(ship_to={"prefecture": "Atlantis"}), "ship_to.prefecture", "47 prefectures"),
        (order_body(lines=[]), "lines", "at least one line"),
        (_without("lines"), "lines", "required"),
        (order_body(tenant_id="00000000-0000-0000-0000-000000000000"), "tenant_id", "Unknown"),
        (["not", "an", "object"], "_schema", "JSON object"),
        ("just text", "_schema", "JSON object"),
    ],
    ids=[
        "no-external-id", "no-postal-code", "no-customer", "zero-quantity",
        "negative-quantity", "empty-sku", "unknown-prefecture", "no-lines",
        "lines-missing", "tenant-id", "array-body", "string-body",
    ],
)  # fmt: skip
def test_bad_input_is_a_422_naming_the_field_and_writes_nothing(
    client, db, world, key_a, body, field, words
):
    before = footprint(db, world.shop_a)
    response = post(client, key_a, body, idempotency_key="bad-input")
    assert response.status_code == 422, response.get_json()
    errors = response.get_json()["errors"]["json"]
    assert field in errors, errors
    assert words.lower() in " ".join(errors[field]).lower()
    assert footprint(db, world.shop_a) == before


@pytest.mark.parametrize("raw", [b'{"external_id": "#1", ', b"\xff\xfe", b"{'single': 'quotes'}"])
def test_malformed_json_is_a_400_and_writes_nothing(client, db, world, key_a, raw):
    before = footprint(db, world.shop_a)
    response = client.post(
        "/api/v1/orders",
        data=raw,
        headers={**key_a.headers, "Idempotency-Key": "k-json"},
        content_type="application/json",
    )
    assert response.status_code == 400 and response.mimetype == "application/json"
    assert response.get_json()["errors"] == {"json": ["Invalid JSON body."]}
    assert footprint(db, world.shop_a) == before


def test_a_body_that_is_not_json_is_refused_by_field(client, db, world, key_a):
    before = footprint(db, world.shop_a)
    response = client.post("/api/v1/orders", data="external_id=1", headers=key_a.headers)
    assert response.status_code == 422
    assert {"external_id", "lines"} <= set(response.get_json()["errors"]["json"])
    assert footprint(db, world.shop_a) == before


def test_an_order_sent_again_is_a_409(client, db, world, key_a):
    assert post(client, key_a, order_body()).status_code == 201
    before = footprint(db, world.shop_a)
    again = post(client, key_a, order_body(), idempotency_key="another-key")
    assert again.status_code == 409
    assert again.get_json()["message"] == "Order #1001 from api exists already."
    assert footprint(db, world.shop_a) == before


def test_a_cancelled_order_sent_again_is_a_409_saying_so(client, db, world, key_a):
    created = post(client, key_a, order_body()).get_json()
    cancelled = client.post(
        f"/api/v1/orders/{created['id']}/cancel",
        json={"reason": "お客様都合"},
        headers=key_a.headers,
    )
    assert cancelled.status_code == 200
    before = footprint(db, world.shop_a)
    again = post(client, key_a, order_body())
    assert again.status_code == 409
    assert again.get_json()["message"] == (
        "Order #1001 was cancelled; a cancelled order is not taken again."
    )
    assert footprint(db, world.shop_a) == before


def test_no_key_no_orders(client, db, world, key_a):
    assert (
        post(client, type(key_a)(key_a.id, key_a.prefix, "uk_x_y"), order_body()).status_code == 401
    )
    assert client.post("/api/v1/orders", json=order_body()).status_code == 401
    assert client.get("/api/v1/orders").status_code == 401
    assert footprint(db, world.shop_a)[0] == 0
