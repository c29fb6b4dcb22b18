"""GET /api/v1/orders (keyset pages, filters), GET one, cancel with versions; another
shop's key sees none of it; the spec documents the resource."""

from __future__ import annotations

import json

from tests.portal.orders_api.conftest import order_body


def create(client, key, **changes):
    response = client.post("/api/v1/orders", json=order_body(**changes), headers=key.headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def listing(client, key, **query):
    response = client.get("/api/v1/orders", query_string=query, headers=key.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def numbers(page) -> list[str]:
    return [o["external_id"] for o in page["items"]]


def test_a_key_reads_its_order(client, key_a):
    created = create(client, key_a)
    read = client.get(f"/api/v1/orders/{created['id']}", headers=key_a.headers)
    assert read.status_code == 200 and read.get_json() == created
    assert client.get("/api/v1/orders/999999", headers=key_a.headers).status_code == 404


def test_the_list_pages_newest_first_by_keyset(client, key_a):
    for n in range(5):
        create(client, key_a, external_id=f"#{n}", customer={"email": f"c{n}@example.jp"})
    first = listing(client, key_a, limit=2)
    assert numbers(first) == ["#4", "#3"]
    second = listing(client, key_a, limit=2, after=first["next_after"])
    third = listing(client, key_a, limit=2, after=second["next_after"])
    assert numbers(second) + numbers(third) == ["#2", "#1", "#0"]
    assert third["next_after"] is None
    assert numbers(listing(client, key_a, limit=200)) == ["#4", "#3", "#2", "#1", "#0"]
    for bad in ({"limit": 201}, {"limit": 0}, {"after": -1}, {"colour": "green"}):
        assert (
            client.get("/api/v1/orders", query_string=bad, headers=key_a.headers).status_code == 422
        )


def test_the_list_filters(client, key_a):
    released = create(client, key_a, external_id="#100")
    # Same customer, address and items within days: held as a suspected duplicate.
    duplicate = create(client, key_a, external_id="#101")
    transfer = create(client, key_a, external_id="#102", payment_method="bank_transfer",
                      payment_status="unpaid", customer={"email": "hanako@example.jp",
                      "name": "佐藤 花子"})  # fmt: skip
    assert (released["status"], duplicate["status"], transfer["status"]) == (
        "released",
        "on_hold",
        "confirmed",
    )
    assert numbers(listing(client, key_a, status="on_hold")) == ["#101"]
    assert numbers(listing(client, key_a, hold="duplicate")) == ["#101"]
    assert numbers(listing(client, key_a, hold="totals")) == []
    assert numbers(listing(client, key_a, payment_status="unpaid")) == ["#102"]
    assert numbers(listing(client, key_a, ship_by_until=released["ship_by_date"])) == ["#100"]
    assert numbers(listing(client, key_a, ship_by_until="2000-01-01")) == []
    assert numbers(listing(client, key_a, q="佐藤")) == ["#102"]
    assert numbers(listing(client, key_a, q="#10", status="released")) == ["#100"]
    for bad in ({"status": "lost"}, {"hold": "nope"}, {"ship_by_until": "someday"}):
        assert (
            client.get("/api/v1/orders", query_string=bad, headers=key_a.headers).status_code == 422
        )


def test_every_hold_reason_is_a_filter_and_has_a_label(client, key_a):
    from urakata.portal.shop.order_views import HOLD_LABELS
    from urakata.tenants.orders.services import HOLD_CODES

    assert set(HOLD_LABELS) == set(HOLD_CODES)
    for code in HOLD_CODES:
        assert listing(client, key_a, hold=code)["items"] == []
    refused = client.get("/api/v1/orders", query_string={"hold": "bogus"}, headers=key_a.headers)
    assert refused.status_code == 422


def test_cancel_with_and_without_a_version(client, db, world, key_a):
    order = create(client, key_a)
    stale = client.post(
        f"/api/v1/orders/{order['id']}/cancel",
        json={"reason": "在庫切れ", "version": order["version"] + 1},
        headers=key_a.headers,
    )
    assert stale.status_code == 409 and "read it again" in stale.get_json()["message"]
    done = client.post(
        f"/api/v1/orders/{order['id']}/cancel",
        json={"reason": "  お客様 都合  ", "version": order["version"]},
        headers=key_a.headers,
    )
    assert done.status_code == 200, done.get_json()
    body = done.get_json()
    assert (body["status"], body["cancel_reason"]) == ("cancelled", "お客様 都合")
    assert body["cancelled_at"] and body["version"] == order["version"] + 1
    again = client.post(
        f"/api/v1/orders/{order['id']}/cancel", json={"reason": "再送"}, headers=key_a.headers
    )
    assert again.status_code == 409
    assert again.get_json()["message"] == "The order is cancelled already."


def test_a_cancel_needs_a_reason_and_nothing_else(client, key_a):
    order = create(client, key_a)
    url = f"/api/v1/orders/{order['id']}/cancel"
    for body, field in (
        ({}, "reason"),
        ({"reason": "   "}, "reason"),
        ({"reason": "x", "version": "1"}, "version"),
        ({"reason": "x", "status": "cancelled"}, "status"),
    ):
        response = client.post(url, json=body, headers=key_a.headers)
        assert response.status_code == 422, body
        assert field in response.get_json()["errors"]["json"]
    malformed = client.post(url, data=b"{", content_type="application/json", headers=key_a.headers)
    assert malformed.status_code == 400
    assert (
        client.get(f"/api/v1/orders/{order['id']}", headers=key_a.headers).get_json()["status"]
        == "released"
    )


def test_another_shops_key_can_neither_see_nor_cancel_shop_as_orders(
    client, db, world, key_a, key_b
):
    order_a = create(client, key_a, external_id="A-1")
    create(client, key_b, external_id="B-1")
    assert client.get(f"/api/v1/orders/{order_a['id']}", headers=key_b.headers).status_code == 404
    cancel = client.post(
        f"/api/v1/orders/{order_a['id']}/cancel", json={"reason": "x"}, headers=key_b.headers
    )
    assert cancel.status_code == 404
    assert numbers(listing(client, key_b, limit=200)) == ["B-1"]
    assert numbers(listing(client, key_b, q="A-1")) == []
    assert (
        client.get(f"/api/v1/orders/{order_a['id']}", headers=key_a.headers).get_json()["status"]
        == "released"
    )


def test_the_spec_documents_the_orders_resource(client):
    spec = json.loads(client.get("/api/v1/openapi.json").get_data(as_text=True))
    paths = spec["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/orders"])
    assert "get" in paths["/api/v1/orders/{order_id}"]
    assert "post" in paths["/api/v1/orders/{order_id}/cancel"]
    post = paths["/api/v1/orders"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/OrderIn"
    }
    (header,) = [p for p in post["parameters"] if p["in"] == "header"]
    assert header["name"] == "Idempotency-Key" and header["required"] is False
    assert {"201", "401", "409", "422"} <= set(post["responses"])
    assert "Idempotent-Replayed" in post["responses"]["201"]["headers"]
    schemas = spec["components"]["schemas"]
    order_in = schemas["OrderIn"]
    assert set(order_in["required"]) == {
        "external_id", "customer", "ship_to", "lines", "payment_method",
    }  # fmt: skip
    assert schemas["ShipToIn"]["properties"]["prefecture"]["type"] == "string"
    assert schemas["LineIn"]["properties"]["quantity"]["type"] == "integer"
    assert schemas["OrderOut"]["properties"]["ship_to"]["type"] == "object"
    assert {"OrderOut", "OrderPage", "CancelIn"} <= set(schemas)
    assert "tenant_id" not in json.dumps(spec) and "shop_id" not in json.dumps(spec)
    docs = client.get("/api/v1/docs").get_data(as_text=True)
    assert "POST /api/v1/orders/{order_id}/cancel" in docs and 'id="schema-OrderIn"' in docs
