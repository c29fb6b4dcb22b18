"""The shop's order list and order page, and the operator's actions on an order: hold,
release (with overrides), address correction, cancel, payment; each refused for a role
without ``orders.edit``, each answering 409 on a stale version, and shop B's people
getting 404 for everything of shop A."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.factories import make_user
from tests.portal.orders.helpers import actions, load, take, version_of
from urakata.platform.audit import AuditEvent
from urakata.platform.identity import Role


def test_the_shop_sees_its_orders_in_japanese_and_not_the_other_shops(db, world, portal):
    take(db, world, world.shop_a, "A-100")
    take(db, world, world.shop_a, "A-HELD", ship_to={**_ship(), "postal_code": "999-9999"})
    take(db, world, world.shop_b, "B-200")
    portal.login(world.shop_admin_a)
    assert 'href="/s/shop-a/orders"' in portal.get("/s/shop-a/").get_data(as_text=True)
    html = portal.get("/s/shop-a/orders").get_data(as_text=True)
    assert ">注文<" in html and "電話注文を入力" in html
    rows = re.findall(
        r'data-testid="order-row" data-external-id="([^"]+)" data-status="(\w+)"', html
    )
    assert sorted(rows) == [("A-100", "released"), ("A-HELD", "on_hold")]
    assert "B-200" not in html and "保留中" in html and "代金引換" in html
    held = portal.get("/s/shop-a/orders?status=on_hold&hold=postal_code").get_data(as_text=True)
    assert "A-HELD" in held and "A-100" not in held
    unpaid = portal.get("/s/shop-a/orders?payment=paid").get_data(as_text=True)
    assert 'data-testid="orders-empty"' in unpaid
    portal.logout()
    portal.login(world.shop_admin_b)
    other = portal.get("/s/shop-b/orders?q=A-").get_data(as_text=True)
    assert "A-100" not in other and "A-HELD" not in other


def _ship(**changes):
    from tests.portal.orders.helpers import GOOD

    return {**GOOD["ship_to"], **changes}


def test_the_order_page_shows_lines_totals_holds_and_its_history(db, world, portal):
    order_id = take(
        db,
        world,
        world.shop_a,
        "A-1",
        lines=[
            {"sku": "TEA-1", "quantity": 2, "unit_price_yen": 1200},
            {"sku": "UNKNOWN-9", "quantity": 1, "unit_price_yen": 500, "tax_rate": 10},
        ],
        shipping_fee_yen=800,
    )
    portal.login(world.shop_admin_a)
    html = portal.get(f"/s/shop-a/orders/{order_id}").get_data(as_text=True)
    assert "注文 A-1" in html and "保留中" in html
    assert re.findall(r'data-testid="order-line" data-sku="([^"]+)"', html) == [
        "TEA-1",
        "UNKNOWN-9",
    ]
    assert 'data-testid="order-total"><strong>¥3,700<' in html
    assert 'data-code="sku_unknown"' in html and "未登録のSKU" in html
    assert "〒100-0001" in html and "東京都 千代田区" in html
    assert 'data-action="order.received"' in html and 'data-action="order.held"' in html
    assert 'data-testid="release-form"' in html and 'data-testid="hold-form"' not in html


def test_agency_staff_looking_at_an_order_is_recorded_the_shops_own_users_are_not(
    db, world, portal
):
    order_id = take(db, world, world.shop_a)
    portal.login(world.shop_admin_a)
    assert portal.get(f"/s/shop-a/orders/{order_id}").status_code == 200
    assert "personal_data.viewed" not in actions(db, world.shop_a)
    portal.logout()
    portal.login(world.operator_a)
    assert portal.get(f"/s/shop-a/orders/{order_id}").status_code == 200
    with db.tenant_session(world.shop_a.id) as s:
        event = s.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert event.action == "personal_data.viewed"
    assert (event.object_type, event.object_id) == ("order", str(order_id))
    assert event.payload["actor"]["id"] == str(world.operator_a.id)


ACTIONS = {
    "hold": {"note": "お客様から住所変更の連絡"},
    "release": {},
    "address": {"ship_city": "千代田区"},
    "cancel": {"reason": "お客様都合"},
    "payment": {"payment_status": "paid"},
}


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_a_role_without_orders_edit_is_refused_every_action(db, world, portal, action):
    order_id = take(db, world, world.shop_a)
    before = load(db, world.shop_a, order_id).version
    staff = make_user(db, Role.shop_staff, world.shop_a)
    portal.login(staff)
    page = portal.get(f"/s/shop-a/orders/{order_id}").get_data(as_text=True)
    assert 'data-testid="order-readonly"' in page and 'data-testid="order-actions"' not in page
    url = f"/s/shop-a/orders/{order_id}/{action}"
    data = {"version": str(before), **ACTIONS[action]}
    response = portal.post_form(url, data, form_url="/account")
    assert response.status_code == 403
    assert portal.get("/s/shop-a/orders/new").status_code == 403
    assert load(db, world.shop_a, order_id).version == before


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_shop_b_gets_404_for_shop_a_orders_and_their_actions(db, world, portal, action):
    order_id = take(db, world, world.shop_a)
    before = load(db, world.shop_a, order_id)
    portal.login(world.shop_admin_b)
    assert portal.get(f"/s/shop-a/orders/{order_id}").status_code == 404
    assert portal.get(f"/s/shop-b/orders/{order_id}").status_code == 404
    for shop in ("shop-a", "shop-b"):
        url = f"/s/{shop}/orders/{order_id}/{action}"
        data = {"version": str(before.version), **ACTIONS[action]}
        assert portal.post_form(url, data, form_url="/account").status_code == 404
    after = load(db, world.shop_a, order_id)
    assert (after.status, after.version) == (before.status, before.version)


def test_an_operator_holds_and_releases_an_order_with_an_override(db, world, portal):
    order_id = take(db, world, world.shop_a)
    portal.login(world.operator_a)
    url = f"/s/shop-a/orders/{order_id}"
    page = portal.get(url).get_data(as_text=True)
    held = portal.post_form(
        f"{url}/hold", {"version": version_of(page, "hold"), "note": "住所確認中"}, form_url=url
    )
    assert held.status_code == 303, held.get_data(as_text=True)[:2000]
    page = portal.get(url).get_data(as_text=True)
    assert "注文を保留にしました。" in page and "住所確認中" in page
    assert load(db, world.shop_a, order_id).status == "on_hold"
    refused = portal.post_form(
        f"{url}/release", {"version": version_of(page, "release")}, form_url=url
    )
    assert refused.status_code == 409
    assert 'data-testid="order-problem"' in refused.get_data(as_text=True)
    assert load(db, world.shop_a, order_id).status == "on_hold"
    page = portal.get(url).get_data(as_text=True)
    assert 'name="overrides" type="checkbox" value="manual"' in page
    released = portal.post_form(
        f"{url}/release",
        {"version": version_of(page, "release"), "overrides": "manual"},
        form_url=url,
    )
    assert released.status_code == 303
    order = load(db, world.shop_a, order_id)
    assert order.status == "released" and order.ship_by_at is not None
    assert actions(db, world.shop_a)[-2:] == ["order.confirmed", "order.released"]
    # The ship-by reads as the day to ship, with its weekday, not as a midnight deadline.
    weekday = "月火水木金土日"[order.ship_by_date.weekday()]
    shown = f"{order.ship_by_date.isoformat()} ({weekday})"
    page = portal.get(url).get_data(as_text=True)
    assert f'data-testid="order-ship-by">{shown}<' in page


def test_an_empty_hold_note_comes_back_next_to_the_field(db, world, portal):
    order_id = take(db, world, world.shop_a)
    portal.login(world.shop_admin_a)
    url = f"/s/shop-a/orders/{order_id}"
    page = portal.get(url).get_data(as_text=True)
    response = portal.post_form(
        f"{url}/hold", {"version": version_of(page, "hold"), "note": "  "}, form_url=url
    )
    assert response.status_code == 422
    assert 'id="note-error"' in response.get_data(as_text=True)
    assert load(db, world.shop_a, order_id).status == "released"


def test_a_wrong_address_is_fixed_and_the_order_released(db, world, portal):
    order_id = take(db, world, world.shop_a, ship_to=_ship(postal_code="999-9999"))
    portal.login(world.operator_a)
    url = f"/s/shop-a/orders/{order_id}"
    page = portal.get(url).get_data(as_text=True)
    assert 'data-code="postal_code"' in page
    version = version_of(page, "address")
    fields = {
        "ship_name": "山田 花子",
        "ship_postal_code": "100-0001",
        "ship_prefecture": "13",
        "ship_city": "千代田区",
        "ship_street": "千代田1-1",
        "ship_building": "",
        "ship_phone": "03-1234-5678",
    }
    bad = portal.post_form(
        f"{url}/address", {"version": version, **fields, "ship_prefecture": "99"}, form_url=url
    )
    assert bad.status_code == 422
    assert 'id="ship_prefecture-error"' in bad.get_data(as_text=True)
    saved = portal.post_form(f"{url}/address", {"version": version, **fields}, form_url=url)
    assert saved.status_code == 303
    page = portal.get(url).get_data(as_text=True)
    assert "お届け先を保存しました。" in page and 'data-code="postal_code"' not in page
    assert 'data-action="order.address_changed"' in page
    released = portal.post_form(
        f"{url}/release", {"version": version_of(page, "release")}, form_url=url
    )
    assert released.status_code == 303
    assert load(db, world.shop_a, order_id).status == "released"
    portal.logout()
    portal.login(world.shop_admin_a)  # the shop sees the change
    assert 'data-status="released"' in portal.get(url).get_data(as_text=True)


def test_a_stale_version_answers_409_and_changes_nothing(db, world, portal):
    order_id = take(db, world, world.shop_a)
    portal.login(world.operator_a)
    url = f"/s/shop-a/orders/{order_id}"
    page = portal.get(url).get_data(as_text=True)
    old = version_of(page, "hold")
    assert (
        portal.post_form(f"{url}/hold", {"version": old, "note": "確認"}, form_url=url).status_code
        == 303
    )
    before = load(db, world.shop_a, order_id)
    for action, data in ACTIONS.items():
        if action == "address":
            data = {**data, "ship_prefecture": "13"}
        response = portal.post_form(f"{url}/{action}", {"version": old, **data}, form_url=url)
        assert response.status_code == 409, action
        assert "この注文は他の人が変更しました" in response.get_data(as_text=True)
    after = load(db, world.shop_a, order_id)
    assert (after.version, after.status, after.payment_status) == (
        before.version,
        before.status,
        before.payment_status,
    )


def test_cancel_needs_a_reason_and_then_cancels(db, world, portal):
    order_id = take(db, world, world.shop_a)
    portal.login(world.shop_admin_a)
    url = f"/s/shop-a/orders/{order_id}"
    version = version_of(portal.get(url).get_data(as_text=True), "cancel")
    blank = portal.post_form(f"{url}/cancel", {"version": version, "reason": ""}, form_url=url)
    assert blank.status_code == 422 and 'id="reason-error"' in blank.get_data(as_text=True)
    done = portal.post_form(
        f"{url}/cancel", {"version": version, "reason": "重複注文"}, form_url=url
    )
    assert done.status_code == 303
    page = portal.get(url).get_data(as_text=True)
    assert (
        "キャンセル済み" in page and "重複注文" in page and 'data-testid="cancel-form"' not in page
    )
    assert load(db, world.shop_a, order_id).status == "cancelled"


def test_a_bank_transfer_is_released_when_the_payment_is_recorded(db, world, portal):
    order_id = take(db, world, world.shop_a, payment_method="bank_transfer")
    assert load(db, world.shop_a, order_id).status == "confirmed"
    portal.login(world.operator_a)
    url = f"/s/shop-a/orders/{order_id}"
    page = portal.get(url).get_data(as_text=True)
    assert "未入金" in page and "銀行振込" in page
    response = portal.post_form(
        f"{url}/payment",
        {"version": version_of(page, "payment"), "payment_status": "paid"},
        form_url=url,
    )
    assert response.status_code == 303
    order = load(db, world.shop_a, order_id)
    assert (order.payment_status, order.status) == ("paid", "released")
    page = portal.get(url).get_data(as_text=True)
    assert "入金済み" in page and 'data-action="order.payment_recorded"' in page
