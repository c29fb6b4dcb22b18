"""Shop B's people and keys reach none of shop A's stock, bins or movements: pages and API
answer 404, and forms of shop B cannot name shop A's bins."""

from __future__ import annotations

import pytest

from tests.portal.stock.helpers import hidden
from tests.tenants.stock.conftest import PICK_1, levels, line, movement_count, put_away
from urakata.platform.apikeys import create_api_key
from urakata.platform.audit import user_actor


@pytest.fixture
def stocked(db, shop_a, shop_b):
    put_away(db, shop_a, line("CUP-1", 8, PICK_1))
    return shop_a, shop_b


def test_shop_b_gets_404_for_every_stock_page_of_shop_a(db, world, portal, stocked):
    shop_a, _shop_b = stocked
    cup_a = shop_a.products["CUP-1"]
    portal.login(world.operator_b)
    for url in (
        "/s/shop-a/stock",
        f"/s/shop-a/stock/{cup_a}",
        "/s/shop-a/stock/waiting",
        "/s/shop-a/stock/receive",
        "/s/shop-a/stock/transfer",
        f"/s/shop-b/stock/{cup_a}",
    ):
        assert portal.get(url).status_code == 404, url
    assert portal.get("/agency/stock?shop=shop-a").status_code == 404


def test_shop_bs_forms_cannot_name_shop_as_bins(db, world, portal, stocked):
    shop_a, _shop_b = stocked
    before = (levels(db, shop_a), movement_count(db, shop_a))
    portal.login(world.operator_b)
    page = portal.get("/s/shop-b/stock/receive").get_data(as_text=True)
    receipt = {
        "key": hidden(page, "key"),
        "lines-0-sku": "CUP-1",
        "lines-0-quantity": "5",
        "lines-0-location": PICK_1,
    }
    answer = portal.post_form("/s/shop-b/stock/receive", receipt)
    assert answer.status_code == 422 and "A-01-01-1" in answer.get_data(as_text=True)
    page = portal.get("/s/shop-b/stock/transfer").get_data(as_text=True)
    assert PICK_1 not in page  # shop A's bins are not offered
    moved = portal.post_form(
        "/s/shop-b/stock/transfer",
        {
            "key": hidden(page, "key"),
            "sku": "CUP-1",
            "from_location": PICK_1,
            "to_location": "B-01-01-1",
            "quantity": "8",
        },
    )
    assert moved.status_code == 422
    assert (levels(db, shop_a), movement_count(db, shop_a)) == before


def test_the_api_answers_about_the_keys_shop_only(db, world, client, stocked):
    shop_a, shop_b = stocked
    with db.platform_session() as s:  # a session records on one shop's chain
        _key, token_a = create_api_key(s, shop_a.id, "a", actor=user_actor(world.shop_admin_a))
    with db.platform_session() as s:
        _key, token_b = create_api_key(s, shop_b.id, "b", actor=user_actor(world.shop_admin_b))
    cup_a = shop_a.products["CUP-1"]
    mine = client.get("/api/v1/stock?in_stock=true", headers={"Authorization": f"Bearer {token_a}"})
    assert [(i["sku"], i["on_hand"], i["available"]) for i in mine.json["items"]] == [
        ("CUP-1", 8, 8)
    ]
    detail = client.get(f"/api/v1/stock/{cup_a}", headers={"Authorization": f"Bearer {token_a}"})
    assert [(lv["location"], lv["on_hand"], lv["allocatable"]) for lv in detail.json["levels"]] == [
        (PICK_1, 8, True)
    ]
    moves = client.get(
        f"/api/v1/stock/{cup_a}/movements", headers={"Authorization": f"Bearer {token_a}"}
    )
    assert [(m["kind"], m["on_hand_delta"]) for m in moves.json["items"]] == [("receipt", 8)]
    theirs = {"Authorization": f"Bearer {token_b}"}
    assert client.get("/api/v1/stock?in_stock=true", headers=theirs).json["items"] == []
    for url in (f"/api/v1/stock/{cup_a}", f"/api/v1/stock/{cup_a}/movements"):
        assert client.get(url, headers=theirs).status_code == 404
    assert client.get("/api/v1/stock?colour=red", headers=theirs).status_code == 422
