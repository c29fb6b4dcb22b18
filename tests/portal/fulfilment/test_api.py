"""/api/v1/shipments: the key's shop's shipments only; filters, pages, 404 for another's."""

from __future__ import annotations

from tests.portal.api.conftest import issue_key
from tests.tenants.fulfilment.conftest import JAN, instructed, line, put_away, scan, waved
from tests.tenants.stock.conftest import PICK_1


def test_the_api_lists_and_reads_the_keys_shops_shipments(db, world, client, shop_a, shop_b):
    put_away(db, shop_a, line("CUP-1", 10, PICK_1))
    first = instructed(db, shop_a, ("CUP-1", 2))[0]
    second = instructed(db, shop_a, ("CUP-1", 1))[0]
    waved(db, shop_a, [second])
    scan(db, shop_a, second, JAN["CUP-1"])
    mine = issue_key(db, world.shop_a).headers
    theirs = issue_key(db, world.shop_b).headers

    page = client.get("/api/v1/shipments?limit=1", headers=mine).json
    assert [s["id"] for s in page["items"]] == [first] and page["next_after"] == first
    rest = client.get(f"/api/v1/shipments?after={first}", headers=mine).json
    assert [s["id"] for s in rest["items"]] == [second] and rest["next_after"] is None
    inspected = client.get("/api/v1/shipments?status=inspected", headers=mine).json["items"]
    assert [s["id"] for s in inspected] == [second]
    one = client.get(f"/api/v1/shipments/{first}", headers=mine).json
    assert (one["carrier"], one["cool_type"], one["unit_count"]) == ("yamato", "none", 2)
    assert one["lines"][0]["sku"] == "CUP-1" and one["label"] == f"SH{first:010d}"

    assert client.get("/api/v1/shipments", headers=theirs).json["items"] == []
    assert client.get(f"/api/v1/shipments/{first}", headers=theirs).status_code == 404
    bad = client.get("/api/v1/shipments?status=lost", headers=mine)
    assert bad.status_code == 422 and "status" in str(bad.json)
