"""The status machine: every move on the ledger, illegal ones refused, versions guarded."""

from __future__ import annotations

import pytest

from tests.tenants.orders.conftest import OPERATOR, actions, order_body, reload, take
from urakata.platform import audit
from urakata.tenants.orders import services
from urakata.tenants.orders.services import (
    TRANSITIONS,
    IllegalTransition,
    OrderInvalid,
    StaleOrder,
)


def _do(db, shop, fn, **kwargs):
    with db.tenant_session(shop.id) as s:
        return fn(s, actor=OPERATOR, **kwargs)


def test_a_clean_card_order_is_received_confirmed_and_released(db, shop, clock):
    order = take(db, shop)
    # Written once, in its final state: one version; the moves are on the ledger.
    assert (order.status, order.holds, order.version) == ("released", [], 1)
    assert actions(db, shop, order.id) == ["order.received", "order.confirmed", "order.released"]
    with db.tenant_session(shop.id) as s:
        released = audit.history(s, object_type="order", object_id=order.id)[0]
    assert released.payload["changes"]["status"] == ["confirmed", "released"]
    assert released.payload["data"]["ship_by_date"] == "2026-06-01"


def test_a_held_order_is_released_after_an_override(db, shop, clock):
    order = take(db, shop, order_body(total_yen=1))
    assert (order.status, order.hold_codes) == ("on_hold", ["totals"])
    order = _do(db, shop, services.release, order_id=order.id, version=order.version,
                overrides=["totals"])  # fmt: skip
    assert order.status == "released" and order.holds == []
    assert actions(db, shop, order.id) == [
        "order.received", "order.held", "order.confirmed", "order.released",
    ]  # fmt: skip
    with db.tenant_session(shop.id) as s:
        confirmed = audit.history(s, object_type="order", object_id=order.id)[1]
    assert confirmed.payload["data"]["overrides"] == ["totals"]


def test_a_released_order_can_be_held_again_and_released(db, shop, clock):
    order = take(db, shop)
    order = _do(db, shop, services.put_on_hold, order_id=order.id, version=order.version,
                note="お客様から住所変更の電話あり")  # fmt: skip
    assert (order.status, order.hold_codes) == ("on_hold", ["manual"])
    assert "受注担当 佐藤" in str(services.hold_message(order.holds[0]))
    with pytest.raises(IllegalTransition):
        _do(db, shop, services.release, order_id=order.id, version=order.version)
    order = _do(db, shop, services.release, order_id=order.id, version=order.version,
                overrides=["manual"])  # fmt: skip
    assert order.status == "released"
    assert actions(db, shop, order.id)[-3:] == [
        "order.held", "order.confirmed", "order.released",
    ]  # fmt: skip


def test_a_confirmed_order_can_be_held(db, shop, clock):
    order = take(db, shop, order_body(payment_method="bank_transfer", payment_status="unpaid"))
    assert order.status == "confirmed"
    order = _do(db, shop, services.put_on_hold, order_id=order.id, version=order.version,
                note="入金確認中")  # fmt: skip
    assert order.status == "on_hold"
    # Released from the hold it is confirmed again, still waiting for the deposit.
    order = _do(db, shop, services.release, order_id=order.id, version=order.version,
                overrides=["manual"])  # fmt: skip
    assert (order.status, order.ship_by_at) == ("confirmed", None)


@pytest.mark.parametrize("body", [
    order_body(),  # released
    order_body(total_yen=1),  # on hold
    order_body(payment_method="konbini", payment_status="unpaid"),  # confirmed
])  # fmt: skip
def test_any_open_order_can_be_cancelled_and_cancelled_is_terminal(db, shop, clock, body):
    order = take(db, shop, body)
    order = _do(db, shop, services.cancel, order_id=order.id, version=order.version,
                reason="お客様都合  によるキャンセル")  # fmt: skip
    assert (order.status, order.cancel_reason) == ("cancelled", "お客様都合 によるキャンセル")
    assert order.cancelled_at is not None
    assert actions(db, shop, order.id)[-1] == "order.cancelled"
    v = order.version
    with pytest.raises(IllegalTransition):
        _do(db, shop, services.cancel, order_id=order.id, version=v, reason="again")
    with pytest.raises(IllegalTransition):
        _do(db, shop, services.put_on_hold, order_id=order.id, version=v, note="x")
    with pytest.raises(IllegalTransition):
        _do(db, shop, services.release, order_id=order.id, version=v, overrides=["manual"])
    with pytest.raises(IllegalTransition):
        _do(db, shop, services.edit_address, order_id=order.id,
            data={"version": v, "street": "千代田1-2"})  # fmt: skip
    with pytest.raises(IllegalTransition):
        _do(db, shop, services.record_payment, order_id=order.id, version=v, status="paid")
    assert reload(db, shop, order.id).version == v
    assert actions(db, shop, order.id)[-1] == "order.cancelled"


def test_illegal_moves_are_refused(db, shop, clock):
    released = take(db, shop)
    with pytest.raises(IllegalTransition):  # only a held order is released
        _do(db, shop, services.release, order_id=released.id, version=released.version)
    held = take(db, shop, order_body(external_id="#1002", total_yen=1))
    with pytest.raises(IllegalTransition):
        _do(db, shop, services.put_on_hold, order_id=held.id, version=held.version, note="x")
    with db.tenant_session(shop.id) as s:
        order = services.get_order(s, released.id)
        with pytest.raises(IllegalTransition) as caught:
            services._move(s, OPERATOR, order, "received", "order.received")
    assert "cannot become received" in str(caught.value)


def test_the_transition_table_is_closed():
    statuses = set(TRANSITIONS)
    assert all(targets <= statuses for targets in TRANSITIONS.values())
    assert TRANSITIONS["cancelled"] == frozenset()
    ends = ("cancelled", "shipped")  # a parcel that left is returned, not cancelled
    assert all("cancelled" in targets for s, targets in TRANSITIONS.items() if s not in ends)
    assert TRANSITIONS["shipped"] == frozenset()
    assert "released" not in TRANSITIONS["on_hold"]  # a hold is released through confirmed


def test_a_manual_hold_needs_a_note(db, shop, clock):
    order = take(db, shop)
    with pytest.raises(OrderInvalid) as caught:
        _do(db, shop, services.put_on_hold, order_id=order.id, version=order.version, note="  ")
    assert list(caught.value.errors) == ["note"]


def test_an_old_version_is_refused(db, shop, clock):
    read = take(db, shop, order_body(total_yen=1))
    stale = read.version
    order = _do(db, shop, services.edit_address, order_id=read.id,
                data={"version": stale, "building": "2F"})  # fmt: skip
    for fn, kwargs in (
        (services.release, {"overrides": ["totals"]}),
        (services.put_on_hold, {"note": "x"}),
        (services.cancel, {"reason": "x"}),
        (services.record_payment, {"status": "paid"}),
    ):
        with pytest.raises(StaleOrder):
            _do(db, shop, fn, order_id=order.id, version=stale, **kwargs)
    with pytest.raises(StaleOrder):
        _do(db, shop, services.edit_address, order_id=order.id,
            data={"version": stale, "street": "千代田1-2"})  # fmt: skip
    assert reload(db, shop, order.id).version == order.version


def test_a_concurrent_change_is_a_stale_order(db, shop, clock):
    """Two operators load the same version; the second write loses."""
    order = take(db, shop, order_body(total_yen=1))
    with db.session(shop.id) as first, db.session(shop.id) as second:
        first.begin()
        second.begin()
        services.get_order(second, order.id)  # loaded before the first one writes
        services.cancel(first, actor=OPERATOR, order_id=order.id, version=order.version,
                        reason="x")  # fmt: skip
        first.commit()
        with pytest.raises(StaleOrder):
            services.release(second, actor=OPERATOR, order_id=order.id,
                             version=order.version, overrides=["totals"])  # fmt: skip
        second.rollback()


def test_fulfilment_moves_an_order_only_along_its_own_steps(db, shop, clock):
    order = take(db, shop)  # released
    with pytest.raises(IllegalTransition), db.tenant_session(shop.id) as s:
        # Not a fulfilment step, and not from released either: nothing is written.
        services.record_fulfilment(
            s, actor=OPERATOR, order=services.get_order(s, order.id), status="confirmed"
        )
    with pytest.raises(IllegalTransition), db.tenant_session(shop.id) as s:
        services.record_fulfilment(
            s, actor=OPERATOR, order=services.get_order(s, order.id), status="instructed"
        )  # released orders are allocated first
    with db.tenant_session(shop.id) as s:
        current = services.get_order(s, order.id)
        services.record_allocation(s, actor=OPERATOR, order=current)
        services.record_fulfilment(s, actor=OPERATOR, order=current, status="instructed")
    assert reload(db, shop, order.id).status == "instructed"
    assert actions(db, shop, order.id)[-2:] == ["order.allocated", "order.instructed"]
