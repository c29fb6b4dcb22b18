"""Stocktakes in the portal: an operator plans and counts blind on the phone-sized
screen, an agency admin approves with reasons, the shop approves or disputes; the
counter may not approve; bad counts are named; another shop's stocktake is 404."""

from __future__ import annotations

import re

from tests.portal.stock.helpers import rows
from tests.tenants.inbound.conftest import levels, set_settings
from tests.tenants.stock.conftest import line, put_away

VERSION = re.compile(r'name="version" type="hidden" value="(\d+)"')


def plan(portal, **fields) -> int:
    data = {
        "scope": "bins",
        "bins": "A-01-01-1\nA-01-01-2",
        "blind": "1",
        "recount_threshold": "5",
        **fields,
    }
    answer = portal.post_form("/s/shop-a/stocktakes/new", data)
    assert answer.status_code == 303, answer.get_data(as_text=True)[:3000]
    return int(answer.headers["Location"].split("/")[-2])


def count_all(portal, sid: int, figures: dict[str, str]):
    page = portal.get(f"/s/shop-a/stocktakes/{sid}/count").get_data(as_text=True)
    for line_id, sku in re.findall(r'id="line-(\d+)"[^>]*data-sku="([^"]+)"', page):
        if sku in figures:
            answer = portal.post_form(
                f"/s/shop-a/stocktakes/{sid}/lines/{line_id}/count",
                {"quantity": figures[sku]},
                form_url=f"/s/shop-a/stocktakes/{sid}/count",
            )
            assert answer.status_code in (303, 422)
    return page


def step(portal, sid: int, action: str, extra=None, page_url=None):
    page_url = page_url or f"/s/shop-a/stocktakes/{sid}"
    page = portal.get(page_url).get_data(as_text=True)
    version = VERSION.search(page).group(1)
    return portal.post_form(
        f"/s/shop-a/stocktakes/{sid}/{action}",
        {"version": version, **(extra or {})},
        form_url=page_url,
    )


def test_blind_count_agency_approval_then_shop_approval(db, world, portal, shop_a):
    put_away(db, shop_a, line("CUP-1", 10, "A-01-01-1"), line("POT-1", 4, "A-01-01-2"))
    set_settings(db, shop_a, stocktake_approval_threshold_yen=1000)
    portal.login(world.operator_a)
    sid = plan(portal)
    page = count_all(portal, sid, {})
    assert rows(page, "count-line", "sku") == [("CUP-1",), ("POT-1",)]
    assert 'data-testid="count-system"' not in page  # blind: no system quantity shown
    first = re.search(r'id="line-([0-9]+)"', page).group(1)
    bad = portal.post_form(
        f"/s/shop-a/stocktakes/{sid}/lines/{first}/count",
        {"quantity": "-3"}, form_url=f"/s/shop-a/stocktakes/{sid}/count",
    )  # fmt: skip
    assert bad.status_code == 422 and 'data-testid="count-error"' in bad.get_data(as_text=True)
    count_all(portal, sid, {"CUP-1": "10", "POT-1": "3"})
    assert (
        step(portal, sid, "submit", page_url=f"/s/shop-a/stocktakes/{sid}/count").status_code == 303
    )
    portal.logout()
    portal.login(world.agency_admin)
    page = portal.get(f"/s/shop-a/stocktakes/{sid}").get_data(as_text=True)
    assert rows(page, "stocktake-line", "sku", "variance") == [("CUP-1", "0"), ("POT-1", "-1")]
    pot = re.search(r'name="reason-(\d+)"', page).group(1)
    missing = step(portal, sid, "approve")
    assert missing.status_code == 422
    assert step(portal, sid, "approve", {f"reason-{pot}": "damage"}).status_code == 303
    assert levels(db, shop_a, "POT-1") == {("A-01-01-2", ""): 4}  # waits for the shop
    portal.logout()
    portal.login(world.shop_admin_a)
    page = portal.get(f"/s/shop-a/stocktakes/{sid}").get_data(as_text=True)
    assert 'data-testid="shop-decision"' in page
    assert step(portal, sid, "decide", {"decision": "approve", "comment": ""}).status_code == 303
    assert levels(db, shop_a, "POT-1") == {("A-01-01-2", ""): 3}
    page = portal.get(f"/s/shop-a/stocktakes/{sid}").get_data(as_text=True)
    assert 'data-status="posted"' in page


def test_the_shop_disputes_and_the_counter_cannot_approve(db, world, portal, shop_a):
    put_away(db, shop_a, line("CUP-1", 10, "A-01-01-1"))
    set_settings(db, shop_a, stocktake_approval_threshold_yen=0)
    portal.login(world.agency_admin)
    sid = plan(portal, bins="A-01-01-1")
    count_all(portal, sid, {"CUP-1": "8"})
    step(portal, sid, "submit", page_url=f"/s/shop-a/stocktakes/{sid}/count")
    page = portal.get(f"/s/shop-a/stocktakes/{sid}").get_data(as_text=True)
    cup = re.search(r'name="reason-(\d+)"', page).group(1)
    own = step(portal, sid, "approve", {f"reason-{cup}": "loss"})
    assert own.status_code == 422  # the counter approving their own count
    portal.logout()
    from tests.factories import make_user
    from urakata.platform.identity import Role

    second = make_user(db, Role.agency_admin, email="admin2@agency.example")
    portal.login(second)
    assert step(portal, sid, "approve", {f"reason-{cup}": "loss"}).status_code == 303
    portal.logout()
    portal.login(world.shop_admin_a)
    no_comment = step(portal, sid, "decide", {"decision": "dispute", "comment": ""})
    assert no_comment.status_code == 422
    answer = step(
        portal, sid, "decide", {"decision": "dispute", "comment": "先週入荷した分が漏れています"}
    )
    assert answer.status_code == 303
    assert levels(db, shop_a, "CUP-1") == {("A-01-01-1", ""): 10}
    page = portal.get(f"/s/shop-a/stocktakes/{sid}").get_data(as_text=True)
    assert 'data-status="disputed"' in page and "先週入荷した分が漏れています" in page


def test_another_shops_stocktake_is_404_and_shops_cannot_count(db, world, portal, shop_a, shop_b):
    put_away(db, shop_a, line("CUP-1", 10, "A-01-01-1"))
    portal.login(world.operator_a)
    sid = plan(portal, bins="A-01-01-1")
    portal.logout()
    portal.login(world.shop_admin_a)
    assert portal.get(f"/s/shop-a/stocktakes/{sid}/count").status_code == 403
    portal.logout()
    portal.login(world.operator_b)
    assert portal.get(f"/s/shop-b/stocktakes/{sid}").status_code == 404
    assert portal.get(f"/s/shop-b/stocktakes/{sid}/count").status_code == 404
    assert portal.get(f"/s/shop-a/stocktakes/{sid}").status_code == 404
    page = portal.get("/agency/stocktakes").get_data(as_text=True)
    assert rows(page, "stocktake-overview-row", "shop") == []


def test_the_other_shops_people_change_nothing_of_this_stocktake(db, world, portal, shop_a, shop_b):
    put_away(db, shop_a, line("CUP-1", 10, "A-01-01-1"))
    portal.login(world.operator_a)
    sid = plan(portal, bins="A-01-01-1")
    page = portal.get(f"/s/shop-a/stocktakes/{sid}/count").get_data(as_text=True)
    line_id = re.search(r'id="line-([0-9]+)"', page).group(1)
    portal.logout()
    portal.login(world.operator_b)
    for action, data in (
        (f"lines/{line_id}/count", {"quantity": "3"}),
        ("submit", {"version": "2"}),
        ("recount", {"version": "2"}),
        ("cancel", {"version": "2"}),
    ):
        for slug in ("shop-a", "shop-b"):
            answer = portal.post_form(
                f"/s/{slug}/stocktakes/{sid}/{action}", data, form_url="/s/shop-b/stocktakes"
            )
            assert answer.status_code == 404, (slug, action)
    portal.logout()
    portal.login(world.shop_admin_b)
    answer = portal.post_form(
        f"/s/shop-b/stocktakes/{sid}/decide",
        {"version": "2", "decision": "approve"},
        form_url="/s/shop-b/stocktakes",
    )
    assert answer.status_code == 404
    portal.logout()
    portal.login(world.operator_a)
    page = portal.get(f"/s/shop-a/stocktakes/{sid}").get_data(as_text=True)
    assert 'data-status="counting"' in page
    assert 'data-testid="count-history"' not in page


def test_a_counter_adds_goods_found_off_the_list(db, world, portal, shop_a):
    put_away(db, shop_a, line("CUP-1", 10, "A-01-01-1"))
    portal.login(world.operator_a)
    sid = plan(portal)
    count_url = f"/s/shop-a/stocktakes/{sid}/count"
    bad = portal.post_form(
        f"/s/shop-a/stocktakes/{sid}/found",
        {"code": "NOPE", "location": "A-01-01-2", "quantity": "1"},
        form_url=count_url,
    )
    assert bad.status_code == 422 and 'value="NOPE"' in bad.get_data(as_text=True)
    good = portal.post_form(
        f"/s/shop-a/stocktakes/{sid}/found",
        {"code": "4900000000023", "location": "a-01-01-2", "quantity": "3"},
        form_url=count_url,
    )
    assert good.status_code == 303
    page = portal.get(count_url).get_data(as_text=True)
    assert ("POT-1", "counted") in rows(page, "count-line", "sku", "state")
