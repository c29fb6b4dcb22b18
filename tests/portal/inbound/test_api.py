"""/api/v1/inbound: a shop's system sends notices, reads them back with their discrepancy
report, comments; bad lines are named in a 422; another shop's notice is 404."""

from __future__ import annotations

from tests.portal.api.conftest import issue_key
from tests.tenants.inbound.conftest import JAN_CUP, OPERATOR
from urakata.tenants.inbound import services as inbound

BODY = {
    "expected_on": "2026-12-03",
    "carrier": "佐川急便",
    "tracking_number": "123456789012",
    "reference": "PO-2026-88",
    "lines": [
        {"sku": "CUP-1", "quantity": 4},
        {"sku": "TEA-100", "quantity": 10, "lot": "L-7", "best_before": "2099-01-01"},
    ],
}


def auth(key):
    return {"Authorization": f"Bearer {key.token}"}


def test_a_shop_sends_a_notice_and_reads_it_back(db, world, client, shop_a):
    key = issue_key(db, world.shop_a)
    answer = client.post(
        "/api/v1/inbound", json=BODY, headers={**auth(key), "Idempotency-Key": "asn-0001-retry"}
    )
    assert answer.status_code == 201, answer.json
    made = answer.json
    assert made["number"].startswith("IN-") and made["status"] == "open"
    assert [(li["sku"], li["quantity"], li["lot"]) for li in made["lines"]] == [
        ("CUP-1", 4, ""),
        ("TEA-100", 10, "L-7"),
    ]
    again = client.post(
        "/api/v1/inbound", json=BODY, headers={**auth(key), "Idempotency-Key": "asn-0001-retry"}
    )
    assert again.status_code == 200 and again.json["id"] == made["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    listed = client.get("/api/v1/inbound?state=open", headers=auth(key)).json
    assert [n["id"] for n in listed["items"]] == [made["id"]]


def test_the_report_and_comments_are_read_through_the_api(db, world, client, shop_a):
    key = issue_key(db, world.shop_a)
    made = client.post(
        "/api/v1/inbound", json={**BODY, "lines": BODY["lines"][:1]}, headers=auth(key)
    ).json
    with db.tenant_session(shop_a.id) as s:
        inbound.receive_item(s, OPERATOR, made["id"], code=JAN_CUP, quantity=3)
        waiting = inbound.waiting_items(s, made["id"])
        inbound.put_away(s, OPERATOR, made["id"], placements={waiting[0].id: "A-01-01-1"})
        inbound.close_notice(
            s, OPERATOR, made["id"], version=inbound.get_notice(s, made["id"]).version
        )
    read = client.get(f"/api/v1/inbound/{made['id']}", headers=auth(key)).json
    assert read["discrepancy"]["lines"][0]["outcome"] == "short"
    assert read["dock_to_stock_seconds"] is not None
    said = client.post(
        f"/api/v1/inbound/{made['id']}/comments", json={"body": "1個不足了解"}, headers=auth(key)
    )
    assert said.status_code == 201 and said.json["side"] == "shop"


def test_unknown_skus_and_bad_quantities_are_named(db, world, client, shop_a):
    key = issue_key(db, world.shop_a)
    body = {**BODY, "lines": [{"sku": "NOPE", "quantity": 1}, {"sku": "CUP-1", "quantity": -4}]}
    answer = client.post("/api/v1/inbound", json=body, headers=auth(key))
    assert answer.status_code == 422
    assert set(answer.json["errors"]["json"]) == {"lines[0].sku", "lines[1].quantity"}
    assert client.get("/api/v1/inbound", headers=auth(key)).json["items"] == []
    unknown_field = client.post(
        "/api/v1/inbound", json={**BODY, "tenant_id": "x"}, headers=auth(key)
    )
    assert unknown_field.status_code == 422


def test_another_shops_notice_is_404(db, world, client, shop_a, shop_b):
    made = client.post("/api/v1/inbound", json=BODY, headers=auth(issue_key(db, world.shop_a))).json
    key_b = issue_key(db, world.shop_b)
    assert client.get(f"/api/v1/inbound/{made['id']}", headers=auth(key_b)).status_code == 404
    said = client.post(
        f"/api/v1/inbound/{made['id']}/comments", json={"body": "x"}, headers=auth(key_b)
    )
    assert said.status_code == 404
    assert client.get("/api/v1/inbound", headers=auth(key_b)).json["items"] == []


def test_the_shop_approves_a_stocktake_through_the_api(db, world, client, shop_a, shop_b):
    from tests.tenants.inbound.conftest import ADMIN, set_settings
    from tests.tenants.stock.conftest import line, put_away
    from urakata.tenants.stocktake import services as st

    put_away(db, shop_a, line("CUP-1", 10, "A-01-01-1"))
    set_settings(db, shop_a, stocktake_approval_threshold_yen=0)
    with db.tenant_session(shop_a.id) as s:
        made = st.plan_stocktake(s, OPERATOR, scope="full", recount_threshold=100)
        st.record_count(s, OPERATOR, made.id, made.lines[0].id, 9)
        st.submit_stocktake(s, OPERATOR, made.id, version=made.version)
        st.approve_stocktake(
            s, ADMIN, made.id, version=made.version, reasons={made.lines[0].id: "loss"}
        )
        sid = made.id
    key = issue_key(db, world.shop_a)
    read = client.get(f"/api/v1/stocktakes/{sid}", headers=auth(key)).json
    assert read["status"] == "shop_review" and read["lines"][0]["variance"] == -1
    assert [c["quantity"] for c in read["lines"][0]["counts"]] == [9]
    stale = client.post(
        f"/api/v1/stocktakes/{sid}/decision",
        json={"version": 1, "approve": True},
        headers=auth(key),
    )
    assert stale.status_code == 409
    no_reason = client.post(
        f"/api/v1/stocktakes/{sid}/decision",
        json={"version": read["version"], "approve": False},
        headers=auth(key),
    )
    assert no_reason.status_code == 422 and "comment" in no_reason.json["errors"]["json"]
    key_b = issue_key(db, world.shop_b)
    foreign = client.post(
        f"/api/v1/stocktakes/{sid}/decision",
        json={"version": read["version"], "approve": True},
        headers=auth(key_b),
    )
    assert foreign.status_code == 404
    done = client.post(
        f"/api/v1/stocktakes/{sid}/decision",
        json={"version": read["version"], "approve": True},
        headers=auth(key),
    )
    assert done.status_code == 200 and done.json["status"] == "posted"
