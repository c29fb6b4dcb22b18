"""POST /api/v1/orders/{id}/payment-events: notices from the shop's systems, safe to send
twice, refused clearly, and never reaching another shop's order."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.portal.payments.conftest import load, take
from urakata.platform.audit import AuditEvent
from urakata.tenants.payments.models import PaymentEvent


def post(client, key, order_id, body, **headers):
    return client.post(
        f"/api/v1/orders/{order_id}/payment-events", json=body, headers={**key.headers, **headers}
    )


def events(db, shop) -> int:
    with db.tenant_session(shop.id) as s:
        return s.scalar(select(func.count()).select_from(PaymentEvent))


def test_a_konbini_notice_releases_the_order(client, db, catalogs, key_a):
    order_id = take(db, catalogs.shop_a, method="konbini")
    body = {
        "event_id": "cvs-20260601-0001",
        "type": "paid",
        "amount_yen": 2400,
        "occurred_at": "2026-06-01 18:00",
    }
    response = post(client, key_a, order_id, body)
    assert response.status_code == 201, response.get_json()
    answer = response.get_json()
    assert answer["event"]["effect"] == "released" and answer["event"]["type"] == "paid"
    assert answer["event"]["occurred_at"] == "2026-06-01T09:00:00+00:00"  # read in JST
    assert answer["order"]["status"] == "released" and answer["order"]["ship_by_at"]
    again = post(client, key_a, order_id, body)
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["event"] == answer["event"]
    assert events(db, catalogs.shop_a) == 1


def test_a_credit_result_and_the_list(client, db, catalogs, key_a):
    order_id = take(db, catalogs.shop_a, method="atobarai")
    hold = post(
        client, key_a, order_id, {"event_id": "np-1", "type": "credit_result", "result": "hold"}
    )
    assert hold.get_json()["event"] | {"received_at": None} == {
        "event_id": "np-1",
        "type": "credit_result",
        "result": "hold",
        "amount_yen": None,
        "occurred_at": None,
        "received_at": None,
        "source": "api",
        "note": "",
        "effect": "waiting",
    }
    post(client, key_a, order_id, {"event_id": "np-2", "type": "credit_result", "result": "ok"})
    listed = client.get(f"/api/v1/orders/{order_id}/payment-events", headers=key_a.headers)
    assert [e["event_id"] for e in listed.get_json()["items"]] == ["np-2", "np-1"]
    assert load(db, catalogs.shop_a, order_id).status == "released"


def test_an_idempotency_key_replays_the_first_answer(client, db, catalogs, key_a):
    order_id = take(db, catalogs.shop_a, method="card")
    body = {"event_id": "auth-1", "type": "authorized"}
    first = post(client, key_a, order_id, body, **{"Idempotency-Key": "k-1"})
    second = post(client, key_a, order_id, body, **{"Idempotency-Key": "k-1"})
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.headers["Idempotent-Replayed"] == "true"
    other = post(
        client,
        key_a,
        order_id,
        {"event_id": "auth-2", "type": "authorized"},
        **{"Idempotency-Key": "k-1"},
    )
    assert other.status_code == 409


def test_bad_notices_are_refused_clearly_and_leave_nothing(client, db, catalogs, key_a):
    shop = catalogs.shop_a
    order_id = take(db, shop, method="bank_transfer")
    cases = [
        ({"type": "paid"}, 422, "event_id"),
        ({"event_id": "x", "type": "credit_result", "result": "ok"}, 422, "type"),
        ({"event_id": "x", "type": "paid", "amount_yen": 100}, 422, "amount_yen"),
        ({"event_id": "x", "type": "paid", "tenant_id": "x"}, 422, "tenant_id"),
    ]
    for body, status, field in cases:
        response = post(client, key_a, order_id, body)
        assert response.status_code == status, (body, response.get_json())
        assert field in response.get_json()["errors"]["json"]
    assert post(client, key_a, 10**9, {"event_id": "x", "type": "paid"}).status_code == 404
    cancelled = take(db, shop, "R-2", method="konbini")
    from tests.portal.payments.conftest import SHOP_SYSTEM
    from urakata.tenants.orders.services import cancel

    with db.tenant_session(shop.id) as s:
        cancel(s, actor=SHOP_SYSTEM, order_id=cancelled, version=None, reason="期限切れ")
    refused = post(client, key_a, cancelled, {"event_id": "late", "type": "paid"})
    assert refused.status_code == 409 and "cancelled" in refused.get_json()["message"]
    post(client, key_a, order_id, {"event_id": "ok-1", "type": "paid"})
    reused = post(client, key_a, order_id, {"event_id": "ok-1", "type": "refunded"})
    assert reused.status_code == 409 and "ok-1" in reused.get_json()["message"]
    assert events(db, shop) == 1


def test_another_shops_key_gets_404_and_changes_nothing(client, db, catalogs, key_b):
    order_id = take(db, catalogs.shop_a, method="konbini")
    with db.tenant_session(catalogs.shop_a.id) as s:
        seq = s.scalar(select(func.max(AuditEvent.seq)))
    response = post(client, key_b, order_id, {"event_id": "b-1", "type": "paid"})
    assert response.status_code == 404
    listed = client.get(f"/api/v1/orders/{order_id}/payment-events", headers=key_b.headers)
    assert listed.status_code == 404
    assert load(db, catalogs.shop_a, order_id).status == "confirmed"
    with db.tenant_session(catalogs.shop_a.id) as s:
        assert s.scalar(select(func.max(AuditEvent.seq))) == seq
    assert events(db, catalogs.shop_a) == 0 and events(db, catalogs.shop_b) == 0


def test_the_endpoint_is_documented(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    documented = paths["/api/v1/orders/{order_id}/payment-events"]
    assert {"post", "get"} <= set(documented)
    assert {"201", "200", "404", "409", "422"} <= set(documented["post"]["responses"])
