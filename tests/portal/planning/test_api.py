"""/api/v1/planning answers about the key's shop only."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.tenants.planning.conftest import ADMIN, TOKYO, sell
from urakata.platform.apikeys import create_api_key
from urakata.platform.audit import user_actor
from urakata.tenants.planning import forecasts, proposals, services, snapshots


def _tokens(db, world, shop_a, shop_b):
    with db.platform_session() as s:
        _key, a = create_api_key(s, shop_a.id, "a", actor=user_actor(world.shop_admin_a))
    with db.platform_session() as s:
        _key, b = create_api_key(s, shop_b.id, "b", actor=user_actor(world.shop_admin_b))
    return {"Authorization": f"Bearer {a}"}, {"Authorization": f"Bearer {b}"}


def test_the_api_reads_planning_of_the_keys_shop(db, world, client, shop_a, shop_b):
    today = datetime.now(TOKYO).date()
    for back in range(30, 0, -1):
        sell(db, shop_a, today - timedelta(days=back), [("CUP-1", 2)])
    cup = shop_a.products["CUP-1"]
    with db.tenant_session(shop_a.id) as s:
        forecasts.forecast_shop(s, actor=ADMIN)
        services.set_reorder_point(s, actor=ADMIN, product_id=cup, data={"reorder_point": 3})
        proposals.refresh_proposals(s, actor=ADMIN)
        snapshots.take_snapshot(s, actor=ADMIN, day=today - timedelta(days=1))
    mine, theirs = _tokens(db, world, shop_a, shop_b)

    points = client.get("/api/v1/planning/reorder-points?state=low", headers=mine).json
    assert [(p["sku"], p["reorder_point"], p["alert_state"]) for p in points["items"]] == [
        ("CUP-1", 3, "low")
    ]
    forecast = client.get(f"/api/v1/planning/forecasts/{cup}", headers=mine).json
    assert forecast["method"] == "holt_winters" and len(forecast["daily"]) == 28
    listed = client.get("/api/v1/planning/forecasts", headers=mine).json["items"]
    assert [f["sku"] for f in listed] == ["CUP-1"]
    opened = client.get("/api/v1/planning/proposals", headers=mine).json["items"]
    assert [p["sku"] for p in opened] == ["CUP-1"]
    month = client.get(f"/api/v1/planning/storage?month={today:%Y-%m}", headers=mine)
    assert month.status_code == 200 and "sekisu" in month.json
    day = (today - timedelta(days=1)).isoformat()
    assert client.get(f"/api/v1/planning/snapshots?day={day}", headers=mine).status_code == 200

    assert client.get(f"/api/v1/planning/forecasts/{cup}", headers=theirs).status_code == 404
    assert client.get("/api/v1/planning/reorder-points", headers=theirs).json["items"] == []
    assert client.get("/api/v1/planning/forecasts", headers=theirs).json["items"] == []
    assert client.get("/api/v1/planning/proposals", headers=theirs).json["items"] == []
    assert client.get("/api/v1/planning/proposals?colour=red", headers=theirs).status_code == 422
    pot = shop_a.products["POT-1"]  # no sales, no forecast
    assert client.get(f"/api/v1/planning/forecasts/{pot}", headers=mine).status_code == 404
