"""Each payment method's gate: what an order waits for, the notices that clear it, and
the notices that stop it; the same notice twice has one effect; no notice reaches another
shop's order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.tenants.payments.conftest import OPERATOR, actions, notice, reload, take, tokyo
from urakata.platform.tenancy import NotFound
from urakata.tenants.orders import services
from urakata.tenants.orders.models import PAYMENT_METHODS, PAYMENT_STATUSES, Order
from urakata.tenants.orders.services import IllegalTransition, OrderInvalid, payment_clears
from urakata.tenants.payments import gates
from urakata.tenants.payments.settings import update_payment_settings


def test_an_authorised_card_ships_at_once(db, shop, clock):
    order = take(db, shop, method="card", status="authorized")
    assert (order.status, gates.waits_for(order)) == ("released", None)


def test_a_card_waits_for_its_authorisation_and_the_clock_starts_then(db, shop, clock):
    order = take(db, shop, method="card", status="unpaid")
    assert (order.status, gates.waits_for(order), order.ship_by_at) == (
        "confirmed",
        "authorisation",
        None,
    )
    clock.set(tokyo(2026, 6, 1, 15, 0))  # after the 14:00 cutoff: ships the next day
    outcome = notice(db, shop, order.id, "pay-1", "authorized")
    assert (outcome.replayed, outcome.event.effect) == (False, "released")
    after = reload(db, shop, order.id)
    assert (after.status, after.payment_status) == ("released", "authorized")
    assert after.shippable_at == tokyo(2026, 6, 1, 15, 0)
    assert after.ship_by_date.isoformat() == "2026-06-02"
    assert actions(db, shop, "order", order.id)[-3:] == [
        "order.payment_recorded",
        "order.released",
        "order.payment_event",
    ]


def test_cash_on_delivery_ships_at_once_and_carries_its_amount(db, shop, clock):
    order = take(db, shop, method="cod", shipping_fee_yen=800, fee_yen=330)
    assert order.status == "released"
    collect = gates.cod_collection(order)
    assert (collect.amount_yen, collect.tax_yen) == (4_390, order.tax_8_yen + order.tax_10_yen)
    assert collect.within_limit
    big = take(
        db,
        shop,
        "#2",
        method="cod",
        lines=[{"sku": "CUP-001", "quantity": 300, "unit_price_yen": 1100}],
    )
    assert not gates.cod_collection(big).within_limit  # shipping refuses it, with a message
    assert gates.cod_collection(take(db, shop, "#3", method="card", status="paid")) is None


def test_a_bank_transfer_waits_for_its_deposit(db, shop, clock):
    order = take(db, shop)
    assert (order.status, gates.waits_for(order)) == ("confirmed", "deposit")
    with db.tenant_session(shop.id) as s:
        waiting = gates.waiting_orders(s, now=tokyo(2026, 6, 5, 10, 0))
    assert [
        (w.number, w.waits_for, w.due_yen, w.days(tokyo(2026, 6, 5, 10, 0))) for w in waiting
    ] == [("#1001", "deposit", 3_260, 4)]
    with db.tenant_session(shop.id) as s:
        assert gates.waiting_summary(s) == ({"deposit": 1}, tokyo(2026, 6, 1, 10, 0))


def test_konbini_waits_for_the_notice_and_a_short_notice_is_refused(db, shop, clock):
    order = take(db, shop, method="konbini")
    assert gates.waits_for(order) == "notice"
    with pytest.raises(OrderInvalid) as refused:
        notice(db, shop, order.id, "cvs-1", "paid", amount_yen=3_000)
    assert "3,260" in str(refused.value.errors["amount_yen"][0])
    assert reload(db, shop, order.id).status == "confirmed"
    outcome = notice(db, shop, order.id, "cvs-1", "paid", amount_yen=3_260)
    assert outcome.event.effect == "released"
    assert reload(db, shop, order.id).payment_status == "paid"


def test_konbini_expires_after_the_shops_days_and_grace(db, shop, clock):
    clock.set(tokyo(2026, 6, 1, 10, 0))
    unpaid = take(db, shop, method="konbini")
    paid = take(db, shop, "#2", method="konbini")
    notice(db, shop, paid.id, "cvs-2", "paid")
    with db.tenant_session(shop.id) as s:
        settings = gates.get_payment_settings(s)
        assert gates.konbini_due_date(unpaid, settings, shop.zone).isoformat() == "2026-06-04"
        # Due day 6/4 (3 days), deadline 6/5 00:00 JST, cancelled from 02:00 on.
        assert gates.expire_konbini(s, actor=OPERATOR, now=tokyo(2026, 6, 5, 1, 59)) == []
        assert gates.expire_konbini(s, actor=OPERATOR, now=tokyo(2026, 6, 5, 2, 0)) == [unpaid.id]
        assert gates.expire_konbini(s, actor=OPERATOR, now=tokyo(2026, 6, 6, 2, 0)) == []
    cancelled = reload(db, shop, unpaid.id)
    assert cancelled.status == "cancelled" and "2026-06-04" in cancelled.cancel_reason
    assert reload(db, shop, paid.id).status == "released"
    with pytest.raises(IllegalTransition) as late:  # a notice after the expiry: refused
        notice(db, shop, unpaid.id, "cvs-late", "paid")
    assert "cancelled" in str(late.value.message)


def test_the_shops_expiry_days_count(db, shop, clock):
    order = take(db, shop, method="konbini")
    with db.tenant_session(shop.id) as s:
        update_payment_settings(s, actor=OPERATOR, version=0, data={"konbini_expiry_days": "7"})
    with db.tenant_session(shop.id) as s:
        assert gates.expire_konbini(s, actor=OPERATOR, now=tokyo(2026, 6, 6, 9, 0)) == []
        assert gates.expire_konbini(s, actor=OPERATOR, now=tokyo(2026, 6, 9, 3, 0)) == [order.id]


def test_atobarai_ok_ships_and_hold_keeps_waiting(db, shop, clock):
    order = take(db, shop, method="atobarai")
    assert gates.waits_for(order) == "credit"
    held = notice(db, shop, order.id, "np-1", "credit_result", result="hold")
    assert (held.event.kind, held.event.effect) == ("credit_hold", "waiting")
    assert reload(db, shop, order.id).status == "confirmed"
    ok = notice(db, shop, order.id, "np-2", "credit_result", result="ok")
    assert ok.event.effect == "released"
    assert reload(db, shop, order.id).payment_status == "authorized"


def test_atobarai_ng_holds_by_default_and_a_later_ok_releases(db, shop, clock):
    order = take(db, shop, method="atobarai")
    ng = notice(db, shop, order.id, "np-1", "credit_result", result="ng")
    assert ng.event.effect == "held"
    held = reload(db, shop, order.id)
    assert (held.status, held.hold_codes) == ("on_hold", ["payment"])
    assert "NG" in services.hold_message(held.holds[0])
    # A re-check passes: the order was held for its payment alone, so it goes on by itself.
    notice(db, shop, order.id, "np-2", "credit_result", result="ok")
    after = reload(db, shop, order.id)
    assert (after.status, after.holds) == ("released", [])
    assert actions(db, shop, "order", order.id)[-4:] == [
        "order.payment_recorded",
        "order.confirmed",
        "order.released",
        "order.payment_event",
    ]


def test_atobarai_ng_cancels_when_the_shop_says_so(db, shop, clock):
    with db.tenant_session(shop.id) as s:
        update_payment_settings(s, actor=OPERATOR, version=0, data={"atobarai_ng_policy": "cancel"})
    order = take(db, shop, method="atobarai")
    assert notice(db, shop, order.id, "np-1", "credit_result", result="ng").event.effect == (
        "cancelled"
    )
    assert "NG" in reload(db, shop, order.id).cancel_reason


def test_an_ng_keeps_an_order_held_for_its_address_held(db, shop, clock):
    order = take(db, shop, method="atobarai", ship_to={"postal_code": "999-9999"})
    assert order.hold_codes == ["postal_code"]
    notice(db, shop, order.id, "np-1", "credit_result", result="ng")
    assert reload(db, shop, order.id).hold_codes == ["postal_code", "payment"]
    notice(db, shop, order.id, "np-2", "credit_result", result="ok")
    assert reload(db, shop, order.id).status == "on_hold"  # the address still needs a person


def test_a_refund_after_release_stops_the_order_and_its_clock(db, shop, clock):
    order = take(db, shop, method="card", status="authorized")
    assert order.ship_by_at is not None
    notice(db, shop, order.id, "pay-r", "refunded")
    held = reload(db, shop, order.id)
    assert (held.status, held.hold_codes, held.ship_by_at) == ("on_hold", ["payment"], None)
    clock.set(tokyo(2026, 6, 2, 9, 0))
    notice(db, shop, order.id, "pay-a2", "authorized")
    again = reload(db, shop, order.id)
    assert (again.status, again.shippable_at) == ("released", tokyo(2026, 6, 2, 9, 0))


def test_the_same_notice_twice_has_one_effect(db, shop, clock):
    order = take(db, shop, method="konbini")
    first = notice(db, shop, order.id, "cvs-9", "paid", amount_yen=3_260)
    second = notice(db, shop, order.id, "cvs-9", "paid", amount_yen=3_260)
    assert (first.replayed, second.replayed) == (False, True)
    assert second.event.id == first.event.id
    assert actions(db, shop, "order", order.id).count("order.payment_event") == 1
    with pytest.raises(gates.EventConflict):  # the same id for another notice
        notice(db, shop, order.id, "cvs-9", "refunded")
    other = take(db, shop, "#2", method="konbini")
    with pytest.raises(gates.EventConflict):  # ... or for another order
        notice(db, shop, other.id, "cvs-9", "paid", amount_yen=3_260)


@pytest.mark.parametrize(
    ("method", "type_", "data"),
    [
        ("bank_transfer", "credit_result", {"result": "ok"}),
        ("cod", "authorized", {}),
        ("konbini", "voided", {}),
    ],
)
def test_a_notice_that_does_not_fit_the_method_is_refused(db, shop, clock, method, type_, data):
    order = take(db, shop, method=method)
    with pytest.raises(OrderInvalid) as refused:
        notice(db, shop, order.id, "x-1", type_, **data)
    assert list(refused.value.errors) == ["type"]
    assert reload(db, shop, order.id).version == order.version


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"type": "paid"}, "event_id"),
        ({"event_id": "e", "type": "captured"}, "type"),
        ({"event_id": "e", "type": "credit_result"}, "result"),
        ({"event_id": "e", "type": "paid", "result": "ok"}, "result"),
        ({"event_id": "e", "type": "paid", "amount_yen": -5}, "amount_yen"),
        ({"event_id": "e", "type": "paid", "order": 1}, "order"),
    ],
)
def test_a_malformed_notice_names_its_field(db, shop, clock, data, field):
    order = take(db, shop, method="konbini")
    with pytest.raises(OrderInvalid) as refused, db.tenant_session(shop.id) as s:
        gates.record_event(s, actor=OPERATOR, order_id=order.id, data=data, source="api")
    assert field in refused.value.errors


def test_a_notice_for_an_unknown_or_cancelled_order_changes_nothing(db, shop, clock):
    with pytest.raises(NotFound):
        notice(db, shop, 10**9, "ghost-1", "paid")
    order = take(db, shop, method="konbini")
    with db.tenant_session(shop.id) as s:
        services.cancel(s, actor=OPERATOR, order_id=order.id, version=None, reason="お客様都合")
    with pytest.raises(IllegalTransition):
        notice(db, shop, order.id, "cvs-c", "paid")
    with db.tenant_session(shop.id) as s:
        assert gates.events_of(s, order.id) == []


def test_a_notice_never_reaches_another_shops_order(db, shop, world, clock):
    order = take(db, shop, method="konbini")
    with pytest.raises(NotFound):
        notice(db, world.shop_b, order.id, "cvs-b", "paid")
    assert reload(db, shop, order.id).status == "confirmed"
    with db.tenant_session(world.shop_b.id) as s:
        assert gates.waiting_orders(s) == []
        assert gates.expire_konbini(s, actor=OPERATOR, now=tokyo(2026, 7, 1)) == []
    assert reload(db, shop, order.id).status == "confirmed"
    # Event ids are per shop: shop B may use the same id for its own order.
    theirs = take(db, world.shop_b, method="konbini")
    assert not notice(db, world.shop_b, theirs.id, "cvs-1", "paid").replayed
    assert not notice(db, shop, order.id, "cvs-1", "paid").replayed


@pytest.mark.parametrize("method", PAYMENT_METHODS)
@pytest.mark.parametrize("status", PAYMENT_STATUSES)
def test_the_waiting_list_agrees_with_the_gate(db, shop, clock, method, status):
    order = take(db, shop, method=method, status=status)
    with db.tenant_session(shop.id) as s:
        listed = [w.order_id for w in gates.waiting_orders(s)]
        in_sql = s.scalar(
            gates.select(Order.id).where(Order.id == order.id, gates.waiting_clause())
        )
    expected = order.status in gates.OPEN_STATUSES and not payment_clears(method, status)
    assert (order.id in listed) == expected == (in_sql is not None)


def test_an_old_order_confirmed_before_is_not_backdated(db, shop, clock):
    old = datetime(2026, 5, 1, tzinfo=UTC)
    clock.set(old + timedelta(days=40))
    order = take(db, shop, ordered_at=old.isoformat())
    with db.tenant_session(shop.id) as s:
        row = gates.waiting_orders(s, now=old + timedelta(days=41))[0]
    assert row.since == old + timedelta(days=40)  # confirmed then, not when ordered
    assert order.ordered_at == old
