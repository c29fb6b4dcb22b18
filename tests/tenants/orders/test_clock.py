"""The ship-by clock: set when an order becomes shippable, from the shop's cutoff, its
calendar (weekends, public holidays, 振替休日, the shop's and the agency's closed days)
and its time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from tests.tenants.orders.conftest import OPERATOR, actions, order_body, take, tokyo
from urakata.platform.closed_days import AgencyClosedDay
from urakata.platform.tenancy import Tenant
from urakata.tenants.orders import services
from urakata.tenants.shop.services import get_settings


def _ship_by(db, shop, clock, moment, **changes):
    clock.set(moment)
    order = take(db, shop, order_body(**changes))
    assert order.status == "released"
    assert order.shippable_at == moment
    return order.ship_by_date


def test_before_the_cutoff_ships_today_and_the_deadline_is_local_midnight(db, shop, clock):
    clock.set(tokyo(2026, 6, 1, 10, 0))  # Monday
    order = take(db, shop)
    assert order.ship_by_date == date(2026, 6, 1)
    assert order.ship_by_at == datetime(2026, 6, 1, 15, 0, tzinfo=UTC)  # 24:00 JST


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (tokyo(2026, 6, 1, 13, 59, 59), date(2026, 6, 1)),  # the last second before 14:00
        (tokyo(2026, 6, 1, 14, 0), date(2026, 6, 2)),  # the cutoff minute itself is late
        (tokyo(2026, 6, 1, 14, 0, 59), date(2026, 6, 2)),
        (tokyo(2026, 6, 5, 14, 0), date(2026, 6, 8)),  # Friday after the cutoff → Monday
        (tokyo(2026, 6, 6, 9, 0), date(2026, 6, 8)),  # Saturday
        (tokyo(2026, 6, 7, 9, 0), date(2026, 6, 8)),  # Sunday
        (tokyo(2026, 7, 20, 9, 0), date(2026, 7, 21)),  # 海の日 (Monday)
        (tokyo(2026, 7, 17, 15, 0), date(2026, 7, 21)),  # Friday late, 海の日 Monday
        (tokyo(2026, 5, 1, 15, 0), date(2026, 5, 7)),  # Golden Week, 5/6 振替休日
        (tokyo(2026, 5, 6, 9, 0), date(2026, 5, 7)),  # on the 振替休日 itself
        (tokyo(2026, 9, 22, 9, 0), date(2026, 9, 24)),  # 国民の休日, then 秋分の日
    ],
)
def test_the_cutoff_weekends_and_holidays(db, shop, clock, moment, expected):
    assert _ship_by(db, shop, clock, moment) == expected


def test_the_shops_own_cutoff(db, shop, clock):
    with db.tenant_session(shop.id) as s:
        get_settings(s).same_day_cutoff = time(11, 0)
    assert _ship_by(db, shop, clock, tokyo(2026, 6, 1, 10, 59)) == date(2026, 6, 1)
    assert _ship_by(
        db,
        shop,
        clock,
        tokyo(2026, 6, 1, 11, 0),
        external_id="#2",
        customer={"email": "c2@example.jp"},
    ) == date(2026, 6, 2)


def test_a_shop_closed_day(db, shop, world, clock):
    with db.tenant_session(shop.id) as s:
        get_settings(s).closed_days = [date(2026, 6, 2)]
    assert _ship_by(db, shop, clock, tokyo(2026, 6, 1, 15, 0)) == date(2026, 6, 3)
    assert _ship_by(
        db,
        shop,
        clock,
        tokyo(2026, 6, 2, 9, 0),
        external_id="#2",
        customer={"email": "c2@example.jp"},
    ) == date(2026, 6, 3)
    # Another shop is open that day.
    clock.set(tokyo(2026, 6, 1, 15, 0))
    assert take(db, world.shop_b).ship_by_date == date(2026, 6, 2)


def test_an_agency_closed_day_closes_every_shop(db, shop, world, clock):
    with db.platform_session() as s:
        s.add(AgencyClosedDay(day=date(2026, 6, 2), note="棚卸し"))
    assert _ship_by(db, shop, clock, tokyo(2026, 6, 1, 15, 0)) == date(2026, 6, 3)
    assert take(db, world.shop_b).ship_by_date == date(2026, 6, 3)


def test_a_shop_in_another_time_zone(db, shop, clock):
    with db.platform_session() as s:
        s.get(Tenant, shop.id).timezone = "America/Los_Angeles"
    # 05:30 on Tuesday in Tokyo is 13:30 on Monday in Los Angeles: before its cutoff.
    clock.set(tokyo(2026, 6, 2, 5, 30))
    order = take(db, shop)
    assert order.ship_by_date == date(2026, 6, 1)
    assert order.ship_by_at == datetime(2026, 6, 2, 7, 0, tzinfo=UTC)  # 24:00 PDT
    # 07:00 in Tokyo is 15:00 in Los Angeles: after the cutoff, Tuesday.
    clock.set(tokyo(2026, 6, 2, 7, 0))
    assert take(
        db, shop, order_body(external_id="#2", customer={"email": "c2@example.jp"})
    ).ship_by_date == date(2026, 6, 2)
    # A naive ordered_at is read in the shop's zone.
    naive = take(
        db,
        shop,
        order_body(
            external_id="#3", ordered_at="2026-06-01 10:00", customer={"email": "c3@example.jp"}
        ),
    )
    assert naive.ordered_at == datetime(2026, 6, 1, 17, 0, tzinfo=UTC)


@pytest.mark.parametrize("method", ["bank_transfer", "konbini"])
def test_a_prepaid_order_waits_for_its_payment(db, shop, clock, method):
    order = take(db, shop, order_body(payment_method=method, payment_status="unpaid"))
    assert (order.status, order.ship_by_at, order.shippable_at) == ("confirmed", None, None)
    clock.set(tokyo(2026, 6, 2, 15, 30))  # paid on Tuesday after the cutoff
    with db.tenant_session(shop.id) as s:
        same = services.record_payment(
            s, actor=OPERATOR, order_id=order.id, version=order.version, status="unpaid"
        )
        assert same.version == order.version  # nothing changed, nothing recorded
        order = services.record_payment(
            s, actor=OPERATOR, order_id=order.id, version=order.version, status="paid"
        )
    assert (order.status, order.payment_status) == ("released", "paid")
    assert order.shippable_at == tokyo(2026, 6, 2, 15, 30)
    assert order.ship_by_date == date(2026, 6, 3)
    assert actions(db, shop, order.id) == [
        "order.received", "order.confirmed", "order.payment_recorded", "order.released",
    ]  # fmt: skip


def test_a_prepaid_order_marked_paid_on_intake_ships(db, shop, clock):
    order = take(db, shop, order_body(payment_method="bank_transfer", payment_status="paid"))
    assert order.status == "released"


@pytest.mark.parametrize(
    ("method", "status", "released"),
    [
        ("card", "authorized", True),
        ("card", "paid", True),
        ("card", "unpaid", False),
        ("cod", "unpaid", True),
        ("cod", "paid", True),
        ("atobarai", "unpaid", False),
        ("atobarai", "authorized", True),
        ("other", "unpaid", True),
        ("bank_transfer", "authorized", False),
        ("konbini", "unpaid", False),
        ("card", "refunded", False),
    ],
)
def test_when_payment_clears(db, shop, clock, method, status, released):
    assert services.payment_clears(method, status) is released
    order = take(db, shop, order_body(payment_method=method, payment_status=status))
    assert order.status == ("released" if released else "confirmed")
    assert (order.ship_by_at is not None) is released


def test_a_card_authorised_later_is_released_then(db, shop, clock):
    order = take(db, shop, order_body(payment_status="unpaid"))
    clock.set(tokyo(2026, 6, 6, 12, 0))  # Saturday
    with db.tenant_session(shop.id) as s:
        order = services.record_payment(
            s, actor=OPERATOR, order_id=order.id, version=None, status="authorized"
        )
    assert (order.status, order.ship_by_date) == ("released", date(2026, 6, 8))


def test_a_held_order_gets_its_clock_when_released(db, shop, clock):
    order = take(db, shop, order_body(total_yen=1))
    assert order.ship_by_at is None
    clock.set(tokyo(2026, 6, 2, 16, 0))
    with db.tenant_session(shop.id) as s:
        order = services.release(
            s, actor=OPERATOR, order_id=order.id, version=order.version, overrides=["totals"]
        )
    assert order.ship_by_date == date(2026, 6, 3)


def test_a_paid_order_on_hold_stays_held(db, shop, clock):
    order = take(db, shop, order_body(payment_method="bank_transfer", payment_status="unpaid",
                                      total_yen=1))  # fmt: skip
    with db.tenant_session(shop.id) as s:
        order = services.record_payment(
            s, actor=OPERATOR, order_id=order.id, version=order.version, status="paid"
        )
    assert (order.status, order.ship_by_at) == ("on_hold", None)


def test_a_refund_stops_a_released_order(db, shop, clock):
    order = take(db, shop)
    with db.tenant_session(shop.id) as s:
        order = services.record_payment(
            s, actor=OPERATOR, order_id=order.id, version=order.version, status="refunded"
        )
    assert (order.status, order.hold_codes) == ("on_hold", ["payment"])
    assert actions(db, shop, order.id)[-2:] == ["order.payment_recorded", "order.held"]
    # Released from the hold, it waits (confirmed) until the payment clears again.
    with db.tenant_session(shop.id) as s:
        order = services.release(s, actor=OPERATOR, order_id=order.id, version=order.version)
    assert order.status == "confirmed"


def test_an_unknown_payment_status_is_refused(db, shop, clock):
    order = take(db, shop)
    with pytest.raises(services.OrderInvalid) as caught, db.tenant_session(shop.id) as s:
        services.record_payment(
            s, actor=OPERATOR, order_id=order.id, version=order.version, status="settled"
        )
    assert list(caught.value.errors) == ["payment_status"]
