"""Shipping instructions (carrier, service, cool type, COD, delivery, gift; split by the
shop's policy) and waves (by rules with caps, by hand; a double-clicked form makes one)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.tenants.fulfilment.conftest import (
    OPERATOR,
    actions,
    allocated,
    instructed,
    line,
    order_status,
    put_away,
    set_policy,
    shipment,
    soon,
    waved,
)
from tests.tenants.stock.conftest import PICK_1, PICK_2, RESERVE_1, RESERVE_2
from urakata.tenants.fulfilment import services as fulfilment
from urakata.tenants.fulfilment.models import Shipment, Wave


def _stock(db, shop):
    put_away(
        db,
        shop,
        line("CUP-1", 50, PICK_1),
        line("ICE-1", 20, PICK_2),
        line("POT-1", 20, RESERVE_1),
        line("TEA-100", 20, RESERVE_2, "L1", soon(120)),
    )


def test_a_frozen_and_an_ambient_item_ship_apart_when_the_shop_allows_splitting(db, shop_a):
    _stock(db, shop_a)
    set_policy(db, shop_a, split_policy="split_allowed")
    ids = instructed(db, shop_a, ("CUP-1", 1), ("ICE-1", 2))
    parts = sorted((shipment(db, shop_a, i) for i in ids), key=lambda s: s.part)
    assert [(s.part, s.cool_type, s.unit_count) for s in parts] == [
        (1, "frozen", 2),
        (2, "none", 1),
    ]


def test_one_parcel_takes_the_coldest_cool_type_when_the_shop_ships_complete(db, shop_a):
    _stock(db, shop_a)
    (sid,) = instructed(db, shop_a, ("CUP-1", 1), ("ICE-1", 2))
    made = shipment(db, shop_a, sid)
    assert (made.cool_type, made.unit_count, made.line_count) == ("frozen", 3, 2)


def test_carrier_from_the_order_choice_cod_delivery_and_gift_are_carried(db, shop_a):
    _stock(db, shop_a)
    order_id = allocated(
        db,
        shop_a,
        ("CUP-1", 2),
        payment_method="cod",
        fee_yen=330,
        delivery_date=soon(5),
        delivery_slot="14-16",
        gift_wrap=True,
        noshi="御祝",
    )
    with db.tenant_session(shop_a.id) as s:
        fulfilment.set_shipping_choice(
            s,
            actor=OPERATOR,
            order_id=order_id,
            carrier="sagawa",
            service="hikyaku",
            gift_message="お誕生日おめでとう",
        )
        (made,) = fulfilment.instruct_order(s, actor=OPERATOR, order_id=order_id)
        from urakata.tenants.orders.services import get_order

        total = get_order(s, order_id).total_yen
        assert (made.carrier, made.service, made.cod_yen) == ("sagawa", "hikyaku", total)
        assert (made.delivery_date.isoformat(), made.delivery_slot) == (soon(5), "14-16")
        assert (made.gift_wrap, made.noshi, made.gift_message) == (
            True,
            "御祝",
            "お誕生日おめでとう",
        )
    assert "order.carrier_chosen" in actions(db, shop_a)


def test_a_bad_carrier_choice_names_the_field(db, shop_a):
    _stock(db, shop_a)
    order_id = allocated(db, shop_a, ("CUP-1", 1))
    with db.tenant_session(shop_a.id) as s, pytest.raises(fulfilment.FulfilmentInvalid) as exc:
        fulfilment.set_shipping_choice(
            s, actor=OPERATOR, order_id=order_id, carrier="yamato", service="hikyaku"
        )
    assert list(exc.value.errors) == ["service"]


def test_a_cool_parcel_travels_by_the_standard_service(db, shop_a):
    _stock(db, shop_a)
    order_id = allocated(db, shop_a, ("ICE-1", 1))
    with db.tenant_session(shop_a.id) as s:
        fulfilment.set_shipping_choice(
            s, actor=OPERATOR, order_id=order_id, carrier="yamato", service="nekopos"
        )
        (made,) = fulfilment.instruct_order(s, actor=OPERATOR, order_id=order_id)
        assert (made.service, made.cool_type) == ("takkyubin", "frozen")


def test_an_order_is_instructed_once(db, shop_a):
    _stock(db, shop_a)
    order_id = allocated(db, shop_a, ("CUP-1", 1))
    with db.tenant_session(shop_a.id) as s:
        fulfilment.instruct_order(s, actor=OPERATOR, order_id=order_id)
        with pytest.raises(fulfilment.IllegalShipmentMove):
            fulfilment.instruct_order(s, actor=OPERATOR, order_id=order_id)
        assert len(fulfilment.shipments_of_order(s, order_id)) == 1
    assert order_status(db, shop_a, order_id) == "instructed"


def test_waves_by_rules_group_and_cap_and_a_second_run_makes_none(db, shop_a):
    _stock(db, shop_a)
    singles = [instructed(db, shop_a, ("CUP-1", 1))[0] for _ in range(5)]
    multis = [instructed(db, shop_a, ("CUP-1", 1), ("POT-1", 1))[0] for _ in range(2)]
    frozen = instructed(db, shop_a, ("ICE-1", 1))
    rules = fulfilment.WaveRules(max_shipments=3)
    with db.tenant_session(shop_a.id) as s:
        waves = fulfilment.build_waves(s, actor=OPERATOR, rules=rules, key="run-1")
        got = sorted((w.kind, w.cool_type, w.shipment_count) for w in waves)
    assert got == [
        ("multi", "none", 2),
        ("single", "frozen", 1),
        ("single", "none", 2),
        ("single", "none", 3),
    ]
    with db.tenant_session(shop_a.id) as s:
        again = fulfilment.build_waves(s, actor=OPERATOR, rules=rules, key="run-1")
        assert sorted(w.id for w in again) == sorted(w.id for w in waves)
        assert s.query(Wave).count() == 4
        placed = s.scalars(
            select(Shipment.wave_id).where(Shipment.id.in_(singles + multis + frozen))
        )
        assert None not in list(placed)
    assert actions(db, shop_a).count("wave.created") == 4


def test_rules_filter_by_carrier_and_refuse_bad_caps(db, shop_a):
    _stock(db, shop_a)
    instructed(db, shop_a, ("CUP-1", 1))
    with db.tenant_session(shop_a.id) as s:
        none = fulfilment.build_waves(
            s, actor=OPERATOR, rules=fulfilment.WaveRules(carrier="sagawa"), key="k"
        )
        assert none == []
        with pytest.raises(fulfilment.FulfilmentInvalid) as exc:
            fulfilment.build_waves(
                s, actor=OPERATOR, rules=fulfilment.WaveRules(max_shipments=0), key="k2"
            )
        assert list(exc.value.errors) == ["max_shipments"]


def test_a_double_clicked_create_wave_makes_one_wave(db, shop_a):
    _stock(db, shop_a)
    ids = [instructed(db, shop_a, ("CUP-1", 1))[0] for _ in range(3)]
    first = waved(db, shop_a, ids, key="form-token-1")
    with db.tenant_session(shop_a.id) as s:
        wave, created = fulfilment.create_wave(
            s, actor=OPERATOR, shipment_ids=ids, request_key="form-token-1"
        )
        assert (wave.id, created) == (first, False)
        assert s.query(Wave).count() == 1
    assert actions(db, shop_a).count("wave.created") == 1


def test_a_shipment_already_in_a_wave_is_named_and_nothing_is_made(db, shop_a):
    _stock(db, shop_a)
    ids = [instructed(db, shop_a, ("CUP-1", 1))[0] for _ in range(2)]
    waved(db, shop_a, ids[:1])
    with db.tenant_session(shop_a.id) as s:
        with pytest.raises(fulfilment.FulfilmentInvalid) as exc:
            fulfilment.create_wave(s, actor=OPERATOR, shipment_ids=ids, request_key="t2")
        assert "SH" in str(exc.value.errors["shipments"][0])
        assert s.query(Wave).count() == 1


def test_another_shops_shipments_cannot_be_waved_or_read(db, shop_a, shop_b):
    _stock(db, shop_a)
    (sid,) = instructed(db, shop_a, ("CUP-1", 1))
    wave_id = waved(db, shop_a, [sid])
    with db.tenant_session(shop_b.id) as s:
        with pytest.raises(fulfilment.FulfilmentInvalid) as exc:
            fulfilment.create_wave(s, actor=OPERATOR, shipment_ids=[sid], request_key="x")
        assert str(sid) in str(exc.value.errors["shipments"][0])
        from urakata.platform.tenancy import NotFound

        with pytest.raises(NotFound):
            fulfilment.get_shipment(s, sid)
        with pytest.raises(NotFound):
            fulfilment.get_wave(s, wave_id)
        with pytest.raises(NotFound):
            fulfilment.scan(s, actor=OPERATOR, shipment_id=sid, code="4901234567894", scan_key="z")
        assert fulfilment.list_shipments(s) == []
        assert fulfilment.find_shipment_by_label(s, f"SH{sid:010d}") is None
