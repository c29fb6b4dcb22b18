"""The demo's shipping seed on a test world, the unpack sweep job and the column map."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from tests.tenants.shipping.conftest import ADMIN, PACKER, allocated, packed
from urakata.tenants.fulfilment import services as fulfilment
from urakata.tenants.shipping import column_maps, labels
from urakata.tenants.shipping.carrier_files import load_map
from urakata.tenants.shipping.demo import seed_shipping
from urakata.tenants.shipping.errors import ShippingInvalid
from urakata.tenants.shipping.models import (
    Handover,
    ShipmentPackage,
    ShipmentTracking,
    UnpackTask,
)


def test_the_demo_seed_packs_labels_hands_over_and_leaves_one_to_unpack(db, stocked):
    shop_a, shop_b = stocked
    for _ in range(8):
        allocated(db, shop_a, ("CUP-1", 1))
    seed_shipping(db, {"shop-a": shop_a.tenant})
    with db.tenant_session(shop_a.id) as s:
        packages = s.scalars(select(ShipmentPackage)).all()
        assert len(packages) == 8
        assert {p.status for p in packages} == {"shipped", "packed"}
        assert len(s.scalars(select(ShipmentTracking)).all()) == 6
        assert len(s.scalars(select(Handover)).all()) == 1
        assert len(s.scalars(select(UnpackTask)).all()) == 1
    with db.tenant_session(shop_b.id) as s:
        assert s.scalars(select(ShipmentPackage)).all() == []


def test_the_unpack_sweep_runs_per_shop_through_the_worker(db, stocked, spine):
    shop_a, _ = stocked
    shipment_id = packed(db, shop_a, ("CUP-1", 1))
    with db.tenant_session(shop_a.id) as s:
        reason = {"reason": "order cancelled"}
        fulfilment.advance_shipment(s, actor=PACKER, shipment_id=shipment_id,
                                    status="cancelled", data=reason)  # fmt: skip
    from urakata.worker.runtime import run

    run("shipping.sweep_unpack", None, None, None, {})
    spine.run()
    with db.tenant_session(shop_a.id) as s:
        assert [t.shipment_id for t in s.scalars(select(UnpackTask))] == [shipment_id]


def test_a_shop_edits_its_japan_post_layout_and_files_follow_it(db, stocked):
    shop_a, shop_b = stocked
    shipment_id = packed(db, shop_a, ("CUP-1", 1))
    columns = [
        {"title": "管理番号", "source": "reference", "limit": 20, "unit": "half"},
        {"title": "お届け先名", "source": "to_name", "limit": 5, "unit": "full"},
        {"title": "空欄"},
    ]
    for bad in ("not json", json.dumps({"a": 1}),
                json.dumps([{"title": "x", "source": "password"}])):  # fmt: skip
        with pytest.raises(ShippingInvalid), db.tenant_session(shop_a.id) as s:
            column_maps.save_map(s, actor=ADMIN, fmt="japanpost_yupack", columns_json=bad,
                                 version=0)  # fmt: skip
    with pytest.raises(ShippingInvalid), db.tenant_session(shop_a.id) as s:
        column_maps.save_map(s, actor=ADMIN, fmt="yamato_b2", columns_json="[]", version=0)
    with db.tenant_session(shop_a.id) as s:
        column_maps.save_map(s, actor=ADMIN, fmt="japanpost_yupack",
                             columns_json=json.dumps(columns), version=0)  # fmt: skip
        mine = column_maps.map_for(s, "japanpost_yupack")
        assert mine.titles == ["管理番号", "お届け先名", "空欄"]
        assert mine.encoding == "cp932" and mine.header
        shipment = fulfilment.get_shipment(s, shipment_id)
        [label] = labels.labels_for(s, [shipment], labels.shop_today(s))
    from urakata.tenants.shipping.carrier_files import carrier_file

    data = carrier_file(mine, [label]).decode("cp932")
    assert data == f"管理番号,お届け先名,空欄\r\nSH{shipment_id:010d},山田 太郎,\r\n"
    with db.tenant_session(shop_b.id) as s:  # the other shop keeps the data file's layout
        assert column_maps.map_for(s, "japanpost_yupack") == load_map("japanpost_yupack")


def test_the_demo_seed_follows_fulfilments_seed(db):
    from tests.tenants.sasage.test_demo import _demo_shops
    from tests.tenants.stock.test_demo import _orders
    from urakata.tenants.fulfilment.demo import seed_fulfilment
    from urakata.tenants.stock.demo import seed_stock

    tenants = _demo_shops(db)
    _orders(db, tenants["hanabi-tea"], ["HT-SEN-100", "HT-YUN-ARI"], 8)
    seed_stock(db, tenants)
    seed_fulfilment(db, tenants)
    seed_shipping(db, tenants)
    with db.tenant_session(tenants["hanabi-tea"].id) as s:
        assert s.scalars(select(ShipmentPackage)).all()
        assert s.scalars(select(Handover)).all()
        assert s.scalars(select(ShipmentTracking)).all()
