"""Each hold reason on intake, and how an operator works a hold: fix, override, release."""

from __future__ import annotations

import pytest

from tests.tenants.orders.conftest import OPERATOR, actions, order_body, reload, take
from urakata.platform import audit
from urakata.tenants.orders import services
from urakata.tenants.orders.services import IllegalTransition, OrderInvalid

LONG_STREET = "千代田一丁目一番一号 皇居外苑前 特別長い番地の表記が続きます"


@pytest.mark.parametrize(
    ("changes", "code", "field", "words"),
    [
        ({"ship_to": {"postal_code": "100-001"}}, "postal_code", "ship_to.postal_code",
         "not 7 digits"),
        ({"ship_to": {"postal_code": "999-9999"}}, "postal_code", "ship_to.postal_code",
         "not in Japan Post's list"),
        ({"ship_to": {"prefecture": "大阪府"}}, "postal_code", "ship_to.postal_code",
         "belongs to 東京都, not 大阪府"),
        ({"ship_to": {"phone": "090-1234-567"}}, "phone", "ship_to.phone", "have 11"),
        ({"ship_to": {"phone": "03-1234-56789"}}, "phone", "ship_to.phone", "has 11 digits"),
        ({"ship_to": {"phone": "電話なし"}}, "phone", "ship_to.phone", "other than digits"),
        ({"lines": [{"sku": "NOPE-1", "quantity": 1, "unit_price_yen": 100}]}, "sku_unknown",
         "lines[0].sku", "NOPE-1 is not in the shop's catalog"),
        ({"lines": [{"sku": "OLD-001", "quantity": 1, "unit_price_yen": 500}]}, "sku_inactive",
         "lines[0].sku", "status discontinued"),
        ({"lines": [{"sku": "NEW-001", "quantity": 1, "unit_price_yen": 700}]}, "sku_inactive",
         "lines[0].sku", "status draft"),
        ({"total_yen": 3000}, "totals", "total_yen", "says 3,000 yen but"),
        ({"ship_to": {"street": LONG_STREET}}, "address_length", "ship_to.street",
         "carriers print at most 64"),
        ({"ship_to": {"building": "グランドメゾン千代田タワーレジデンス 2401号室"}},
         "address_length", "ship_to.building", "at most 32"),
        ({"ship_to": {"name": "山田 太郎左衛門之助 様方 株式会社ウラカタ物流 御中"}},
         "address_length", "ship_to.name", "at most 32"),
    ],
)  # fmt: skip
def test_each_hold_reason(db, shop, clock, changes, code, field, words):
    order = take(db, shop, order_body(**changes))
    assert order.status == "on_hold"
    assert [(h["code"], h["field"]) for h in order.holds] == [(code, field)]
    assert words in str(services.hold_message(order.holds[0]))
    assert order.ship_by_at is None and order.released_at is None
    assert actions(db, shop, order.id) == ["order.received", "order.held"]
    with db.tenant_session(shop.id) as s:
        held = audit.history(s, object_type="order", object_id=order.id)[0]
    assert held.payload["data"]["reasons"][0]["code"] == code
    with db.tenant_session(shop.id) as s:
        assert [o.id for o in services.queue(s, services.OrderFilter(hold=code))] == [order.id]


def test_several_reasons_are_held_together(db, shop, clock):
    body = order_body(
        ship_to={"postal_code": "999-9999", "phone": "12345"},
        lines=[{"sku": "NOPE-1", "quantity": 1, "unit_price_yen": 100}],
        total_yen=5,
    )
    order = take(db, shop, body)
    assert sorted(order.hold_codes) == ["phone", "postal_code", "sku_unknown", "totals"]
    with db.tenant_session(shop.id) as s:
        assert services.count_by_status(s) == {"on_hold": 1}


def test_a_suspected_duplicate_within_three_days(db, shop, clock):
    first = take(db, shop)
    again = take(db, shop, order_body(external_id="#1002", ordered_at="2026-06-03T09:00+09:00"))
    assert again.hold_codes == ["duplicate"]
    assert "in order #1001" in str(services.hold_message(again.holds[0]))
    # Other items, or outside the window: not a duplicate.
    other_items = order_body(
        external_id="#1003", lines=[{"sku": "CUP-001", "quantity": 1, "unit_price_yen": 1100}]
    )
    assert take(db, shop, other_items).status == "released"
    later = take(db, shop, order_body(external_id="#1004", ordered_at="2026-06-07T10:00+09:00"))
    assert later.status == "released"
    assert first.status == "released"


def test_a_duplicate_needs_the_same_address(db, shop, clock):
    take(db, shop)
    gift = order_body(external_id="#1002", ship_to={"street": "千代田1-2", "name": "山田 花子"})
    assert take(db, shop, gift).status == "released"


def test_a_cancelled_order_is_no_duplicate(db, shop, clock):
    first = take(db, shop)
    with db.tenant_session(shop.id) as s:
        services.cancel(s, actor=OPERATOR, order_id=first.id, version=first.version, reason="x")
    assert take(db, shop, order_body(external_id="#1002")).status == "released"


def test_release_is_refused_while_a_fact_remains(db, shop, clock):
    order = take(db, shop, order_body(ship_to={"postal_code": "999-9999"}))
    for overrides in ((), ("duplicate",)):
        with pytest.raises(IllegalTransition) as caught, db.tenant_session(shop.id) as s:
            services.release(
                s, actor=OPERATOR, order_id=order.id, version=order.version, overrides=overrides
            )
        assert "still has hold reasons" in str(caught.value)
        assert "999-9999" in str(caught.value)
    after = reload(db, shop, order.id)
    assert (after.status, after.version, after.holds) == ("on_hold", order.version, order.holds)


def test_a_refused_release_changes_nothing_even_in_its_own_transaction(db, shop, clock):
    take(db, shop)
    again = take(db, shop, order_body(external_id="#1002", ship_to={"phone": "03-1234"}))
    assert sorted(again.hold_codes) == ["duplicate", "phone"]
    with db.tenant_session(shop.id) as s:
        with pytest.raises(IllegalTransition):
            services.release(
                s, actor=OPERATOR, order_id=again.id, version=again.version,
                overrides=["duplicate"],
            )  # fmt: skip
        order = services.get_order(s, again.id)
        s.flush()
        assert (order.version, order.holds) == (again.version, again.holds)


def test_an_address_edit_updates_the_duplicate_check(db, shop, clock):
    first = take(db, shop)
    with db.tenant_session(shop.id) as s:
        services.edit_address(
            s, actor=OPERATOR, order_id=first.id,
            data={"version": first.version, "street": "千代田1-2"},
        )  # fmt: skip
    assert take(db, shop, order_body(external_id="#1002")).status == "released"
    same_as_edited = order_body(external_id="#1003", ship_to={"street": "千代田 1-2"})
    assert take(db, shop, same_as_edited).hold_codes == ["duplicate"]


@pytest.mark.parametrize("code", ["postal_code", "phone", "sku_unknown", "address"])
def test_facts_cannot_be_overridden(db, shop, clock, code):
    order = take(db, shop, order_body(ship_to={"postal_code": "999-9999"}))
    with pytest.raises(IllegalTransition) as caught, db.tenant_session(shop.id) as s:
        services.release(
            s, actor=OPERATOR, order_id=order.id, version=order.version, overrides=[code]
        )
    assert f"cannot be overridden, only fixed: {code}" in str(caught.value)


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"total_yen": 1}, "totals"),
        ({"lines": [{"sku": "OLD-001", "quantity": 1, "unit_price_yen": 500}]}, "sku_inactive"),
        ({"ship_to": {"street": LONG_STREET}}, "address_length"),
    ],
)
def test_judgements_can_be_overridden(db, shop, clock, changes, code):
    order = take(db, shop, order_body(**changes))
    assert order.hold_codes == [code]
    with db.tenant_session(shop.id) as s:
        order = services.release(
            s, actor=OPERATOR, order_id=order.id, version=order.version, overrides=[code]
        )
    assert order.status == "released"


def test_a_duplicate_is_overridden(db, shop, clock):
    take(db, shop)
    again = take(db, shop, order_body(external_id="#1002"))
    with db.tenant_session(shop.id) as s:
        again = services.release(
            s, actor=OPERATOR, order_id=again.id, version=again.version, overrides=["duplicate"]
        )
    assert again.status == "released"


def test_fixing_the_address_then_releasing(db, shop, clock):
    order = take(db, shop, order_body(ship_to={"postal_code": "530-0001", "phone": "03-1234"}))
    assert sorted(order.hold_codes) == ["phone", "postal_code"]
    with db.tenant_session(shop.id) as s:
        order = services.edit_address(
            s,
            actor=OPERATOR,
            order_id=order.id,
            data={"version": order.version, "postal_code": "１００－０００１"},
        )
    assert order.ship_postal_code == "1000001"
    assert order.hold_codes == ["phone"]  # still held: the phone is wrong
    with pytest.raises(IllegalTransition), db.tenant_session(shop.id) as s:
        services.release(s, actor=OPERATOR, order_id=order.id, version=order.version)
    with db.tenant_session(shop.id) as s:
        order = services.edit_address(
            s,
            actor=OPERATOR,
            order_id=order.id,
            data={"version": order.version, "phone": "03-1234-5678"},
        )
        assert order.holds == [] and order.status == "on_hold"
        order = services.release(s, actor=OPERATOR, order_id=order.id, version=order.version)
    assert order.status == "released" and order.ship_phone == "0312345678"
    assert actions(db, shop, order.id) == [
        "order.received", "order.held", "order.address_changed", "order.address_changed",
        "order.confirmed", "order.released",
    ]  # fmt: skip
    with db.tenant_session(shop.id) as s:
        changed = audit.history(s, object_type="order", object_id=order.id)[3]
    assert changed.payload["changes"] == {"postal_code": ["5300001", "1000001"]}


def test_an_address_edit_keeps_the_other_reasons(db, shop, clock):
    order = take(db, shop, order_body(total_yen=1, ship_to={"phone": "03-1234"}))
    with db.tenant_session(shop.id) as s:
        order = services.edit_address(
            s, actor=OPERATOR, order_id=order.id,
            data={"version": order.version, "phone": "0312345678"},
        )  # fmt: skip
    assert order.hold_codes == ["totals"]


def test_a_bad_address_on_a_released_order_puts_it_on_hold(db, shop, clock):
    order = take(db, shop)
    with db.tenant_session(shop.id) as s:
        order = services.edit_address(
            s, actor=OPERATOR, order_id=order.id,
            data={"version": order.version, "postal_code": "530-0001"},
        )  # fmt: skip
    assert (order.status, order.hold_codes) == ("on_hold", ["postal_code"])
    assert actions(db, shop, order.id)[-2:] == ["order.address_changed", "order.held"]


def test_a_bad_address_on_an_allocated_order_puts_it_on_hold_too(db, shop, clock):
    order = take(db, shop)
    with db.tenant_session(shop.id) as s:
        services.record_allocation(s, actor=OPERATOR, order=services.get_order(s, order.id))
    with db.tenant_session(shop.id) as s:
        allocated = services.get_order(s, order.id)
        assert allocated.status == "allocated"
        order = services.edit_address(
            s, actor=OPERATOR, order_id=order.id,
            data={"version": allocated.version, "phone": "03-1234"},
        )  # fmt: skip
    assert (order.status, order.hold_codes) == ("on_hold", ["phone"])
    assert actions(db, shop, order.id)[-3:] == [
        "order.allocated", "order.address_changed", "order.held"]  # fmt: skip


def test_a_good_address_edit_on_a_released_order_keeps_it_released(db, shop, clock):
    order = take(db, shop)
    with db.tenant_session(shop.id) as s:
        order = services.edit_address(
            s, actor=OPERATOR, order_id=order.id,
            data={"version": order.version, "building": "千代田ビル 3F"},
        )  # fmt: skip
    assert order.status == "released" and order.ship_building == "千代田ビル 3F"


def test_an_address_edit_is_validated(db, shop, clock):
    order = take(db, shop, order_body(ship_to={"phone": "03-1234"}))
    with pytest.raises(OrderInvalid) as caught, db.tenant_session(shop.id) as s:
        services.edit_address(
            s, actor=OPERATOR, order_id=order.id,
            data={"version": order.version, "prefecture": "東京府"},
        )  # fmt: skip
    assert list(caught.value.errors) == ["prefecture"]
    with pytest.raises(OrderInvalid) as caught, db.tenant_session(shop.id) as s:
        services.edit_address(s, actor=OPERATOR, order_id=order.id, data={"phone": "0"})
    assert list(caught.value.errors) == ["version"]


def test_an_unchanged_address_is_not_recorded(db, shop, clock):
    order = take(db, shop, order_body(ship_to={"phone": "03-1234"}))
    with db.tenant_session(shop.id) as s:
        same = services.edit_address(
            s, actor=OPERATOR, order_id=order.id,
            data={"version": order.version, "city": " 千代田区 "},
        )  # fmt: skip
    assert same.version == order.version
    assert actions(db, shop, order.id) == ["order.received", "order.held"]
