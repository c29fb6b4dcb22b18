"""Bad input: a malformed carrier export, a bad check digit, a number already used, a
shipment cancelled after packing, an address too long for B2. Each gets a clear error or
the right reversal, and nothing is half-applied or posted twice."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select, update

from tests.tenants.shipping.conftest import (
    PACKER,
    actions,
    inspected,
    labelled,
    movements,
    number,
    package,
    packed,
    shipment,
)
from tests.tenants.shipping.test_flow import b2_export
from tests.tenants.stock.conftest import PICK_1, levels
from urakata.tenants.fulfilment.models import Shipment
from urakata.tenants.shipping import handover, labels, packing, tracking, tracking_numbers
from urakata.tenants.shipping.carrier_files import CarrierFileBlocked
from urakata.tenants.shipping.errors import DuplicateSubmission, NotReady, ShippingInvalid
from urakata.tenants.shipping.models import ShipmentTracking, TrackingImport, UnpackTask


def _numbers(db, shop) -> dict[int, str]:
    with db.tenant_session(shop.id) as s:
        return {t.shipment_id: t.tracking_no for t in s.scalars(select(ShipmentTracking))}


def _import(db, shop, data: bytes, carrier: str = "yamato"):
    with db.tenant_session(shop.id) as s:
        result = tracking.import_export(s, actor=PACKER, carrier=carrier, filename="b2.csv",
                                        data=data)  # fmt: skip
        return result.record.status, [(p.row, p.code) for p in result.problems], result


def test_check_digits():
    assert tracking_numbers.problem("444413758703") is None  # japan.md's Yamato sample
    assert tracking_numbers.problem("5125-4751-4334") is None  # Sagawa's, as printed
    assert tracking_numbers.problem("４４４４１３７５８７０３") is None  # full-width digits
    assert "check digit" in tracking_numbers.problem("444413758704")
    assert "12 digits" in tracking_numbers.problem("44441375870")
    assert "12 digits" in tracking_numbers.problem("AA123456789JP")


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00\x01\x02 not text \xff\xfe",
        "品名,数量\r\nお茶,1\r\n".encode("cp932"),  # a CSV, but not a label export
        b'"unterminated,quote\r\n',
    ],
)
def test_a_malformed_export_is_refused_as_a_whole(db, stocked, data):
    shop_a, _ = stocked
    with pytest.raises(ShippingInvalid) as refused, db.tenant_session(shop_a.id) as s:
        tracking.import_export(s, actor=PACKER, carrier="yamato", filename="x.csv", data=data)
    assert refused.value.errors["file"]
    assert _numbers(db, shop_a) == {}


def test_a_row_without_its_columns_or_reference_names_the_row(db, stocked):
    shop_a, _ = stocked
    ok = packed(db, shop_a, ("CUP-1", 1))
    data = b2_export((f"SH{ok:010d}", number(1))) + "\r\n短い行\r\n".encode("cp932")
    status, problems, _ = _import(db, shop_a, data)
    assert status == "refused" and problems == [(3, "malformed")]
    assert _numbers(db, shop_a) == {}  # the good row was not applied either


def test_one_bad_check_digit_refuses_the_file_and_names_its_row(db, stocked):
    shop_a, _ = stocked
    first, second = packed(db, shop_a, ("CUP-1", 1)), packed(db, shop_a, ("CUP-1", 1))
    bad = number(2)[:-1] + str((int(number(2)[-1]) + 1) % 10)
    status, problems, result = _import(db, shop_a, b2_export(
        (f"SH{first:010d}", number(1)), (f"SH{second:010d}", bad)))  # fmt: skip
    assert status == "refused" and problems == [(3, "check_digit")]
    assert "Row 3" in result.problems[0].message and bad in result.problems[0].message
    assert _numbers(db, shop_a) == {}
    with db.tenant_session(shop_a.id) as s:
        kept = s.scalars(select(TrackingImport)).one()
        assert (kept.status, kept.problem_count, kept.applied_count) == ("refused", 1, 0)
    assert "shipping.tracking_import_refused" in actions(db, shop_a)
    # Fixed, the same file goes in whole.
    status, problems, _ = _import(db, shop_a, b2_export(
        (f"SH{first:010d}", number(1)), (f"SH{second:010d}", number(2))))  # fmt: skip
    assert status == "applied" and _numbers(db, shop_a) == {first: number(1), second: number(2)}


def test_unknown_references_duplicates_and_mismatches_are_reported(db, stocked):
    shop_a, shop_b = stocked
    first, n1 = labelled(db, shop_a, ("CUP-1", 1), n=1)
    second = packed(db, shop_a, ("CUP-1", 1))
    theirs = packed(db, shop_b, ("CUP-1", 1))
    status, problems, _ = _import(db, shop_a, b2_export(
        (f"SH{first:010d}", number(5)),  # first has n1 already: a mismatch
        (f"SH{second:010d}", n1),  # n1 is first's: used
        (f"SH{theirs:010d}", number(6)),  # another shop's shipment: unknown here
        ("ORDER-1234", number(7)),  # not a reference of ours at all
        (f"SH{second:010d}", number(8)),
        (f"SH{second:010d}", number(8)),  # the same number twice in the file
    ))  # fmt: skip
    assert status == "refused"
    assert problems == [(2, "mismatch"), (3, "used"), (4, "unknown"), (5, "unknown"),
                        (6, "duplicate"), (7, "duplicate")]  # fmt: skip
    assert _numbers(db, shop_a) == {first: n1}
    with db.tenant_session(shop_b.id) as s:  # nothing reached the other shop either
        assert s.scalars(select(ShipmentTracking)).all() == []


def test_a_number_already_used_is_refused_when_typed_too(db, stocked):
    shop_a, _ = stocked
    first, n1 = labelled(db, shop_a, ("CUP-1", 1), n=1)
    second = packed(db, shop_a, ("CUP-1", 1))
    with pytest.raises(ShippingInvalid) as used, db.tenant_session(shop_a.id) as s:
        tracking.set_tracking(s, actor=PACKER, shipment_id=second, number=n1)
    assert f"SH{first:010d}" in str(used.value.errors["tracking_no"][0])
    with pytest.raises(ShippingInvalid), db.tenant_session(shop_a.id) as s:
        tracking.set_tracking(s, actor=PACKER, shipment_id=second, number="444413758704")
    assert _numbers(db, shop_a) == {first: n1}


def test_a_shipment_cancelled_after_packing_is_unpacked_and_its_stock_goes_back(db, stocked):
    shop_a, _ = stocked
    shipment_id, _n = labelled(db, shop_a, ("CUP-1", 3), n=4)
    order_id = shipment(db, shop_a, shipment_id).order_id
    assert levels(db, shop_a, "CUP-1")[(PICK_1, "")] == (37, 0)
    with pytest.raises(ShippingInvalid), db.tenant_session(shop_a.id) as s:
        packing.cancel_packed(s, actor=PACKER, shipment_id=shipment_id, reason="  ")
    with db.tenant_session(shop_a.id) as s:
        task = packing.cancel_packed(s, actor=PACKER, shipment_id=shipment_id,
                                     reason="お客様都合のキャンセル")  # fmt: skip
        task_id = task.id
        assert task.lines == [{"sku": "CUP-1", "name": "有田焼 湯呑み", "quantity": 3,
                               "bin_code": PICK_1, "lot_no": ""}]  # fmt: skip
    assert shipment(db, shop_a, shipment_id).status == "cancelled"
    with pytest.raises(NotReady), db.tenant_session(shop_a.id) as s:
        handover.hand_over(s, actor=PACKER, carrier="yamato", key=uuid.uuid4().hex)
    assert levels(db, shop_a, "CUP-1")[(PICK_1, "")] == (37, 0)  # still in the parcel
    with db.tenant_session(shop_a.id) as s:
        packing.complete_unpack(s, actor=PACKER, task_id=task_id)
    with pytest.raises(DuplicateSubmission), db.tenant_session(shop_a.id) as s:
        packing.complete_unpack(s, actor=PACKER, task_id=task_id)
    assert levels(db, shop_a, "CUP-1")[(PICK_1, "")] == (40, 0)  # back in its bin, once
    assert movements(db, shop_a, order_id) == [("allocation", 0, 3), ("pick", -3, -3),
                                               ("return", 3, 0)]  # fmt: skip
    assert package(db, shop_a, shipment_id).status == "unpacked"
    assert {"shipping.unpack_requested", "shipping.unpacked", "putback.done"} <= set(
        actions(db, shop_a))  # fmt: skip


def test_an_order_cancelled_elsewhere_leaves_an_unpack_task_once(db, stocked):
    shop_a, _ = stocked
    shipment_id = packed(db, shop_a, ("CUP-1", 1))
    with db.tenant_session(shop_a.id) as s:  # as fulfilment's order cancellation does it
        from urakata.tenants.fulfilment import services as fulfilment

        fulfilment.advance_shipment(s, actor=PACKER, shipment_id=shipment_id,
                                    status="cancelled",
                                    data={"reason": "order cancelled"})  # fmt: skip
    for expected in (1, 0):
        with db.tenant_session(shop_a.id) as s:
            assert packing.sweep_cancelled(s, actor=PACKER) == expected
    with db.tenant_session(shop_a.id) as s:
        assert len(s.scalars(select(UnpackTask)).all()) == 1


def test_an_address_too_long_for_b2_blocks_the_wave_file(db, stocked):
    shop_a, _ = stocked
    fine = packed(db, shop_a, ("CUP-1", 1))
    long = inspected(db, shop_a, ("CUP-1", 1))
    with db.tenant_session(shop_a.id) as s:  # an address corrected by hand after intake
        street = "千代田一丁目一番一号" + "皇居東御苑内管理事務所別棟" * 2
        s.execute(update(Shipment).where(Shipment.id == long).values(ship_street=street))
        s.execute(update(Shipment).where(Shipment.id == fine).values(
            wave_id=s.scalar(select(Shipment.wave_id).where(Shipment.id == long))))  # fmt: skip
        wave_id = s.scalar(select(Shipment.wave_id).where(Shipment.id == long))
    with pytest.raises(CarrierFileBlocked) as blocked, db.tenant_session(shop_a.id) as s:
        labels.wave_carrier_file(s, actor=PACKER, wave_id=wave_id, carrier="yamato")
    [problem] = blocked.value.problems
    assert problem.reference == f"SH{long:010d}" and problem.title == "お届け先住所"
    assert "32 full-width" in problem.message
    assert "shipping.carrier_file" not in actions(db, shop_a)


def test_a_stale_form_is_refused_and_nothing_is_packed(db, stocked):
    from urakata.tenants.shipping import settings
    from urakata.tenants.shipping.errors import StaleShipping

    shop_a, _ = stocked
    shipment_id = inspected(db, shop_a, ("CUP-1", 1))
    stale = shipment(db, shop_a, shipment_id).version - 1
    with pytest.raises(StaleShipping), db.tenant_session(shop_a.id) as s:
        packing.pack_shipment(s, actor=PACKER, shipment_id=shipment_id, key="stale",
                              version=stale)  # fmt: skip
    assert package(db, shop_a, shipment_id) is None
    with db.tenant_session(shop_a.id) as s:
        settings.update_options(s, actor=PACKER, version=0, data={"slip_message": "一"})
    with pytest.raises(StaleShipping), db.tenant_session(shop_a.id) as s:
        settings.update_options(s, actor=PACKER, version=0, data={"slip_message": "二"})


def test_a_number_set_by_a_racing_upload_undoes_this_one_whole(db, stocked):
    from urakata.tenants.shipping.errors import StaleShipping

    shop_a, _ = stocked
    first, n1 = labelled(db, shop_a, ("CUP-1", 1), n=1)
    second = packed(db, shop_a, ("CUP-1", 1))
    with db.tenant_session(shop_a.id) as s:
        rows = [{"tenant_id": shop_a.id, "shipment_id": second, "carrier": "yamato",
                 "tracking_no": n1, "source": "import", "import_id": None,
                 "set_at": tracking.utcnow(), "set_by": "race"}]  # fmt: skip
        with pytest.raises(StaleShipping):
            tracking._insert_numbers(s, rows)
        assert s.scalars(select(ShipmentTracking)).all()  # the transaction still answers
    assert _numbers(db, shop_a) == {first: n1}


def test_exports_are_read_by_header_or_by_the_carriers_positions():
    sagawa = [""] * 74
    sagawa[9], sagawa[61] = "SH0000000007", "5125-4751-4334"
    rows, problems = tracking_numbers.read_export((",".join(sagawa) + "\r\n").encode(), "sagawa")
    assert [(r.row, r.reference, r.number) for r in rows] == [(1, "SH0000000007", "512547514334")]
    assert problems == []
    post = "お問い合わせ番号,お客様側管理番号\r\n123456789013,SH0000000008\r\n".encode("cp932")
    rows, _ = tracking_numbers.read_export(post, "japan_post")
    assert [(r.row, r.reference, r.number) for r in rows] == [(2, "SH0000000008", "123456789013")]
    utf8 = "\ufeffお客様管理番号,伝票番号\n SH0000000009 ,４４４４-１３７５-８７０３\n".encode()
    rows, _ = tracking_numbers.read_export(utf8, "yamato")
    assert [(r.reference, r.number) for r in rows] == [("SH0000000009", "444413758703")]
