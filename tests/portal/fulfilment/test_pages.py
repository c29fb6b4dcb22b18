"""The operator's wave pages, the scan station and the shop's shipments, through the
portal: a wave by hand (a double-clicked form makes one), the pick list as a task with
progress, scans refused with a message (kept on record), another shop's wave 404."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from tests.portal_client import csrf_from
from tests.tenants.fulfilment.conftest import (
    JAN,
    OPERATOR,
    STRANGER_JAN,
    instructed,
    line,
    put_away,
    scan,
    shipment,
    waved,
)
from tests.tenants.stock.conftest import PICK_1, PICK_2
from urakata.portal.agency import wave_views
from urakata.tenants.fulfilment import services as fulfilment
from urakata.tenants.fulfilment.models import ScanEvent, Wave
from urakata.tenants.orders import services as orders

JSON = {"Accept": "application/json"}


def _stock(db, shop):
    put_away(db, shop, line("CUP-1", 20, PICK_1), line("POT-1", 10, PICK_2))


def _hand_form(portal, slug):
    page = portal.get(f"/s/{slug}/shipments/open").get_data(as_text=True)
    key = re.search(r'id="key" name="key" type="hidden" value="([^"]+)"', page).group(1)
    return csrf_from(page), key


def test_a_double_clicked_create_wave_makes_one_wave(portal, db, world, shop_a):
    _stock(db, shop_a)
    ids = [instructed(db, shop_a, ("CUP-1", 1))[0] for _ in range(2)]
    portal.login(world.operator_a)
    token, key = _hand_form(portal, "shop-a")
    data = {"csrf_token": token, "key": key, "shipment": [str(i) for i in ids]}
    first = portal.client.post("/s/shop-a/waves/new", data=data)
    second = portal.client.post("/s/shop-a/waves/new", data=data)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    with db.tenant_session(shop_a.id) as s:
        assert s.scalar(select(func.count()).select_from(Wave)) == 1
    page = portal.get(first.headers["Location"]).get_data(as_text=True)
    assert 'data-testid="wave-title"' in page and page.count('data-testid="wave-shipment"') == 2


def test_a_shipment_already_waved_is_named_on_the_form(portal, db, world, shop_a):
    _stock(db, shop_a)
    (sid,) = instructed(db, shop_a, ("CUP-1", 1))
    waved(db, shop_a, [sid])
    portal.login(world.operator_a)
    token, key = _hand_form(portal, "shop-a")
    answer = portal.client.post(
        "/s/shop-a/waves/new", data={"csrf_token": token, "key": key, "shipment": [str(sid)]}
    )
    assert answer.status_code == 422
    assert f"SH{sid:010d}" in answer.get_data(as_text=True)


def test_the_pick_list_runs_as_a_task_and_opens_as_a_pdf(portal, db, world, shop_a, spine):
    _stock(db, shop_a)
    wave_id = waved(db, shop_a, instructed(db, shop_a, ("CUP-1", 2), ("POT-1", 1)))
    spine.run()
    portal.login(world.operator_a)
    url = f"/s/shop-a/waves/{wave_id}"
    started = portal.post_form(f"{url}/pick-list", {}, form_url=url)
    assert started.status_code == 303
    state = portal.get(f"{url}/pick-list/progress.json").get_json()
    assert state["status"] == "queued"
    spine.run()
    state = portal.get(f"{url}/pick-list/progress.json").get_json()
    assert state["status"] == "done" and state["result_url"].endswith("pick-list.pdf")
    pdf = portal.get(f"{url}/pick-list.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert 'data-testid="pick-list-pdf"' in portal.get(url).get_data(as_text=True)


def test_the_scan_station_checks_each_scan_and_refuses_a_wrong_item(portal, db, world, shop_a):
    _stock(db, shop_a)
    (sid,) = instructed(db, shop_a, ("CUP-1", 1))
    wave_id = waved(db, shop_a, [sid])
    portal.login(world.operator_a)
    station = f"/s/shop-a/waves/{wave_id}/scan"
    page = portal.get(station).get_data(as_text=True)
    token = csrf_from(page)

    def post(code, shipment="", key="k"):
        data = {"csrf_token": token, "code": code, "shipment": shipment, "scan_key": key}
        return portal.client.post(station, data=data, headers=JSON)

    picked = post(f"SH{sid:010d}")
    assert picked.status_code == 200 and picked.get_json()["select_url"].endswith(f"shipment={sid}")
    wrong = post(JAN["POT-1"], str(sid), "k1")
    body = wrong.get_json()
    assert wrong.status_code == 422 and body["outcome"] == "wrong_item" and body["sound"] == "error"
    stranger = post(STRANGER_JAN, str(sid), "k2")
    assert stranger.get_json()["outcome"] == "unknown_code"
    good = post(JAN["CUP-1"], str(sid), "k3")
    assert good.status_code == 200 and good.get_json()["sound"] == "done"
    assert good.get_json()["shipment"]["status"] == "inspected"
    with db.tenant_session(shop_a.id) as s:  # the refused scans were kept (422, recorded)
        outcomes = s.scalars(select(ScanEvent.outcome).order_by(ScanEvent.id)).all()
        assert outcomes == ["wrong_item", "unknown_code", "ok"]
    wave_page = portal.get(f"/s/shop-a/waves/{wave_id}").get_data(as_text=True)
    assert wave_page.count('data-testid="mispick-row"') == 2


def test_the_scan_form_works_without_javascript(portal, db, world, shop_a):
    _stock(db, shop_a)
    (sid,) = instructed(db, shop_a, ("CUP-1", 2))
    wave_id = waved(db, shop_a, [sid])
    portal.login(world.operator_a)
    station = f"/s/shop-a/waves/{wave_id}/scan?shipment={sid}"
    answer = portal.post_form(
        f"/s/shop-a/waves/{wave_id}/scan",
        {"code": JAN["CUP-1"], "shipment": str(sid), "scan_key": "nojs-1"},
        form_url=station,
    )
    assert answer.status_code == 303
    page = portal.get(answer.headers["Location"]).get_data(as_text=True)
    assert "data-line-scanned>1<" in page


def test_the_shop_sees_each_orders_shipment_state(portal, db, world, shop_a):
    _stock(db, shop_a)
    (sid,) = instructed(db, shop_a, ("CUP-1", 1))
    waved(db, shop_a, [sid])
    scan(db, shop_a, sid, JAN["CUP-1"])
    portal.login(world.shop_admin_a)
    listing = portal.get("/s/shop-a/shipments?status=inspected").get_data(as_text=True)
    assert f'data-shipment="{sid}" data-status="inspected"' in listing
    with db.tenant_session(shop_a.id) as s:
        from urakata.tenants.fulfilment.models import Shipment

        order_id = s.get(Shipment, (shop_a.id, sid)).order_id
    order_page = portal.get(f"/s/shop-a/orders/{order_id}").get_data(as_text=True)
    assert 'data-testid="order-shipment" data-status="inspected"' in order_page
    assert portal.get("/s/shop-a/waves").status_code == 403  # picking is the agency's work


def test_another_shops_wave_and_shipments_answer_404(portal, db, world, shop_a, shop_b):
    _stock(db, shop_a)
    (sid,) = instructed(db, shop_a, ("CUP-1", 1))
    wave_id = waved(db, shop_a, [sid])
    portal.login(world.operator_b)
    for url in (
        f"/s/shop-b/waves/{wave_id}",
        f"/s/shop-b/waves/{wave_id}/scan",
        f"/s/shop-b/waves/{wave_id}/pick-list.pdf",
        f"/s/shop-b/waves/{wave_id}/pick-list/progress.json",
    ):
        assert portal.get(url).status_code == 404, url
    assert portal.get(f"/s/shop-a/waves/{wave_id}").status_code in (403, 404)
    assert f"SH{sid:010d}" not in portal.get("/s/shop-b/shipments").get_data(as_text=True)


def test_the_board_fans_out_across_the_operators_shops(portal, db, world, shop_a, shop_b):
    _stock(db, shop_a)
    instructed(db, shop_a, ("CUP-1", 1))
    portal.login(world.agency_admin)
    page = portal.get("/agency/waves").get_data(as_text=True)
    assert 'data-shop="shop-a" data-open="1"' in page and 'data-shop="shop-b" data-open="0"' in page
    portal2 = type(portal)(portal.app, db)
    portal2.login(world.operator_b)
    page = portal2.get("/agency/waves").get_data(as_text=True)
    assert 'data-shop="shop-a"' not in page
    assert portal2.get("/agency/waves?shop=shop-a").status_code == 404


def test_an_operator_changes_an_orders_carrier_and_its_parcel_follows(portal, db, world, shop_a):
    _stock(db, shop_a)
    (sid,) = instructed(db, shop_a, ("CUP-1", 1))
    with db.tenant_session(shop_a.id) as s:
        from urakata.tenants.fulfilment.models import Shipment

        order_id = s.get(Shipment, (shop_a.id, sid)).order_id
    portal.login(world.operator_a)
    order_page = portal.get(f"/s/shop-a/orders/{order_id}").get_data(as_text=True)
    assert 'data-testid="order-carrier-link"' in order_page
    url = f"/s/shop-a/orders/{order_id}/carrier"
    bad = portal.post_form(url, {"carrier": "sagawa", "service": "nekopos"})
    assert bad.status_code == 422 and 'aria-invalid="true"' in bad.get_data(as_text=True)
    done = portal.post_form(url, {"carrier": "sagawa", "service": "hikyaku"})
    assert done.status_code == 303
    with db.tenant_session(shop_a.id) as s:
        assert s.get(Shipment, (shop_a.id, sid)).carrier == "sagawa"


def _put_backs_made(db, shop, count: int) -> list[int]:
    """``count`` open put-backs: shipments scanned once, their orders cancelled, scanned
    again."""

    ids = [instructed(db, shop, ("CUP-1", 1))[0] for _ in range(count)]
    waved(db, shop, ids)
    for sid in ids:
        assert scan(db, shop, sid, JAN["CUP-1"])[0] == "ok"
        with db.tenant_session(shop.id) as s:
            orders.cancel(s, actor=OPERATOR, order_id=shipment(db, shop, sid).order_id,
                          version=None, reason="お客様都合")  # fmt: skip
        # The next scan finds the order cancelled and asks for the piece to go back.
        assert scan(db, shop, sid, JAN["CUP-1"])[0] == "order_cancelled"
    with db.tenant_session(shop.id) as s:
        return [t.id for t in fulfilment.list_put_backs(s)]


def _rows(page: str) -> list[str]:
    return re.findall(r"/put-backs/(\d+)/done", page)


def test_the_put_back_list_pages_open_oldest_first_and_done_newest_first(
    portal, db, world, shop_a, shop_b, monkeypatch
):

    _stock(db, shop_a)
    made = _put_backs_made(db, shop_a, 3)
    assert len(made) == 3 and made == sorted(made)
    monkeypatch.setattr(wave_views, "PUT_BACKS_PER_PAGE", 2)
    portal.login(world.operator_a)
    first = portal.get("/s/shop-a/put-backs").get_data(as_text=True)
    assert _rows(first) == [str(i) for i in made[:2]]
    following = re.search(r'href="([^"]+)" rel="next" data-testid="put-backs-next"', first)
    second = portal.get(following.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert _rows(second) == [str(made[2])] and "put-backs-next" not in second
    with db.tenant_session(shop_a.id) as s:
        for task_id in made:
            fulfilment.complete_put_back(s, actor=OPERATOR, task_id=task_id)
    done = portal.get("/s/shop-a/put-backs?status=done").get_data(as_text=True)
    assert done.count('data-testid="put-back-row"') == 2 and "put-backs-next" in done
    assert f"after={made[1]}" in done  # newest first: the third, the second, then the first
    last = portal.get(f"/s/shop-a/put-backs?status=done&after={made[1]}").get_data(as_text=True)
    assert last.count('data-testid="put-back-row"') == 1
    # The other shop's operator sees none of them, and cannot complete one.
    portal.logout()
    portal.login(world.operator_b)
    theirs = portal.get("/s/shop-b/put-backs?status=done").get_data(as_text=True)
    assert 'data-testid="put-backs-empty"' in theirs
    assert portal.get("/s/shop-a/put-backs").status_code in (403, 404)
    answer = portal.client.post(
        f"/s/shop-b/put-backs/{made[0]}/done", data={"csrf_token": csrf_from(theirs)}
    )
    assert answer.status_code == 404
