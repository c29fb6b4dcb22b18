"""From an inspected shipment to a shipped one: packed in the suggested box, its label in
the carrier's file, its tracking number from the carrier's export, handed over with a
manifest; the stock left once, the customer got the mail with the tracking link, and
every step is on the shop's ledger chain. Doing a step twice changes nothing."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from tests.tenants.shipping.conftest import (
    PACKER,
    actions,
    inspected,
    labelled,
    movements,
    number,
    order_status,
    package,
    packed,
    shipment,
)
from tests.tenants.stock.conftest import PICK_1, levels
from urakata.platform.outbox import OutboxMessage
from urakata.tenants.fulfilment.models import Shipment
from urakata.tenants.shipping import documents, handover, labels, packing, tracking
from urakata.tenants.shipping.errors import DuplicateSubmission, NotReady, ShippingInvalid
from urakata.tenants.shipping.models import ShippedMail


def b2_export(*rows: tuple[str, str]) -> bytes:
    """An issued-label export as B2クラウド writes it (CP932, a header row)."""
    lines = ["お客様管理番号,送り状種類,クール区分,伝票番号,出荷予定日"]
    lines += [f"{ref},0,0,{num},2026/12/01" for ref, num in rows]
    return ("\r\n".join(lines) + "\r\n").encode("cp932")


def test_inspected_to_shipped_with_movements_mail_and_ledger(db, stocked, spine, mailbox):
    shop_a, _ = stocked
    shipment_id = inspected(db, shop_a, ("CUP-1", 2))
    order_id = shipment(db, shop_a, shipment_id).order_id
    assert movements(db, shop_a, order_id) == [("allocation", 0, 2), ("pick", -2, -2)]

    with db.tenant_session(shop_a.id) as s:
        view = packing.suggest_box(s, shipment_id)
        assert view.suggestion.size == 60 and view.suggestion.weight_g == 2 * 300 + 150
        assert view.suggestion.guessed == ("CUP-1",)  # the catalog has no measures for it
        done = packing.pack_shipment(s, actor=PACKER, shipment_id=shipment_id, key="pack-1",
                                     materials={"bubble_wrap": 2, "flyer": 1})  # fmt: skip
        assert (done.box_size, done.weight_g, done.weight_source) == (60, 750, "products")
        assert done.materials == [{"code": "box_60", "quantity": 1},
                                  {"code": "bubble_wrap", "quantity": 2},
                                  {"code": "flyer", "quantity": 1}]  # fmt: skip
    assert shipment(db, shop_a, shipment_id).status == "packed"
    assert order_status(db, shop_a, order_id) == "packed"

    wave_id = shipment(db, shop_a, shipment_id).wave_id
    with db.tenant_session(shop_a.id) as s:
        made = labels.wave_carrier_file(s, actor=PACKER, wave_id=wave_id, carrier="yamato")
    reference = f"SH{shipment_id:010d}"
    assert made.shipments == 1 and made.data.decode("cp932").splitlines()[1].startswith(reference)

    with db.tenant_session(shop_a.id) as s:
        result = tracking.import_export(s, actor=PACKER, carrier="yamato", filename="b2.csv",
                                        data=b2_export((reference, number(1))))  # fmt: skip
        assert result.applied and result.record.applied_count == 1

    with db.tenant_session(shop_a.id) as s:
        handed = handover.hand_over(s, actor=PACKER, carrier="yamato", key="ho-1")
        assert (handed.label, handed.parcel_count, handed.size_counts) == ("HO-000001", 1,
                                                                          {"60": 1})  # fmt: skip
        manifest = documents.manifest_html(s, handed.id)
        assert number(1) in manifest and "ドライバー署名" in manifest
    gone = shipment(db, shop_a, shipment_id)
    assert gone.status == "shipped" and gone.shipped_at is not None
    assert order_status(db, shop_a, order_id) == "shipped"
    assert package(db, shop_a, shipment_id).status == "shipped"
    # The stock left once, at the pick; handing over posts nothing twice.
    assert movements(db, shop_a, order_id) == [("allocation", 0, 2), ("pick", -2, -2)]
    assert levels(db, shop_a, "CUP-1")[(PICK_1, "")] == (38, 0)

    spine.run()
    [mail] = [m for m in mailbox if "発送しました" in str(m["Subject"])]
    text = mail.get_content()
    assert str(mail["To"]).endswith("@example.jp")
    assert f"お問い合わせ番号：{number(1)}" in text
    assert f"id={number(1)}" in text and "ヤマト運輸" in text
    with db.tenant_session(shop_a.id) as s:
        assert s.get(ShippedMail, (shop_a.id, shipment_id)).status == "sent"

    done_actions = actions(db, shop_a)
    for action in ("shipment.packed", "shipping.carrier_file", "shipping.tracking_import_applied",
                   "shipment.shipped", "shipping.handed_over", "shipment.shipped_mail_sent",
                   "order.shipped"):  # fmt: skip
        assert action in done_actions, action


def test_every_step_twice_changes_nothing(db, stocked, spine, mailbox):
    shop_a, _ = stocked
    shipment_id = inspected(db, shop_a, ("CUP-1", 1))
    with db.tenant_session(shop_a.id) as s:
        packing.pack_shipment(s, actor=PACKER, shipment_id=shipment_id, key="k1")
    with pytest.raises(DuplicateSubmission), db.tenant_session(shop_a.id) as s:
        packing.pack_shipment(s, actor=PACKER, shipment_id=shipment_id, key="k1")
    with pytest.raises(NotReady), db.tenant_session(shop_a.id) as s:
        packing.pack_shipment(s, actor=PACKER, shipment_id=shipment_id, key="k2")
    export = b2_export((f"SH{shipment_id:010d}", number(2)))
    for _ in range(2):
        with db.tenant_session(shop_a.id) as s:
            result = tracking.import_export(s, actor=PACKER, carrier="yamato", filename="x.csv",
                                            data=export)  # fmt: skip
            assert result.applied
    assert result.record.unchanged_count == 1 and result.record.applied_count == 0
    with db.tenant_session(shop_a.id) as s:
        first = handover.hand_over(s, actor=PACKER, carrier="yamato", key="ho-twice").id
    with pytest.raises(DuplicateSubmission), db.tenant_session(shop_a.id) as s:
        try:
            handover.hand_over(s, actor=PACKER, carrier="yamato", key="ho-twice")
        except DuplicateSubmission as exc:
            assert exc.found.id == first
            raise
    with pytest.raises(NotReady), db.tenant_session(shop_a.id) as s:
        handover.hand_over(s, actor=PACKER, carrier="yamato", key="ho-other")
    spine.run()
    spine.run()  # a second delivery of the jobs sends nothing more
    assert len([m for m in mailbox if "発送しました" in str(m["Subject"])]) == 1


def test_handover_waits_for_tracking_numbers_and_takes_only_its_carrier(db, stocked):
    shop_a, _ = stocked
    with_number, _n = labelled(db, shop_a, ("CUP-1", 1), n=3)
    without = packed(db, shop_a, ("CUP-1", 1))
    with pytest.raises(ShippingInvalid) as refused, db.tenant_session(shop_a.id) as s:
        handover.hand_over(s, actor=PACKER, carrier="yamato", key=uuid.uuid4().hex)
    assert f"SH{without:010d}" in str(refused.value.errors["shipments"][0])
    with db.tenant_session(shop_a.id) as s:
        chosen = handover.hand_over(s, actor=PACKER, carrier="yamato", key=uuid.uuid4().hex,
                                    shipment_ids=[with_number])  # fmt: skip
        assert chosen.parcel_count == 1
    with pytest.raises(NotReady), db.tenant_session(shop_a.id) as s:
        handover.hand_over(s, actor=PACKER, carrier="sagawa", key=uuid.uuid4().hex)
    assert shipment(db, shop_a, without).status == "packed"


def test_box_override_entered_weight_and_bad_packing_input(db, stocked):
    shop_a, _ = stocked
    shipment_id = inspected(db, shop_a, ("POT-1", 1))  # no weight in the catalog
    with pytest.raises(ShippingInvalid) as no_weight, db.tenant_session(shop_a.id) as s:
        packing.pack_shipment(s, actor=PACKER, shipment_id=shipment_id, key="p1")
    assert "POT-1" in str(no_weight.value.errors["weight_g"][0])
    for bad in ({"box_size": 70}, {"weight_g": "0"}, {"materials": {"glitter": 1}},
                {"materials": {"tape": 100}}):  # fmt: skip
        with pytest.raises(ShippingInvalid), db.tenant_session(shop_a.id) as s:
            packing.pack_shipment(s, actor=PACKER, shipment_id=shipment_id, key="p1",
                                  **{"weight_g": 800, **bad})  # fmt: skip
    with db.tenant_session(shop_a.id) as s:
        done = packing.pack_shipment(s, actor=PACKER, shipment_id=shipment_id, key="p1",
                                     box_size="100", weight_g="1,200".replace(",", ""))  # fmt: skip
        assert (done.box_size, done.suggested_size, done.weight_g, done.weight_source) == (
            100, 60, 1200, "entered")  # fmt: skip


def test_a_wave_slip_job_renders_one_page_per_shipment(db, stocked, spine):
    shop_a, _ = stocked
    first = inspected(db, shop_a, ("CUP-1", 1), ("ICE-1", 2))
    wave_id = shipment(db, shop_a, first).wave_id
    with db.tenant_session(shop_a.id) as s:
        document = documents.request_wave_slips(s, actor=PACKER, wave_id=wave_id)
        document_id = document.id
    spine.run()
    with db.tenant_session(shop_a.id) as s:
        document = documents.get_slips(s, document_id)
        assert document.status == "ready" and document.pages == 1
        assert document.pdf.startswith(b"%PDF")
    with db.tenant_session(shop_a.id) as s:
        outbox = s.scalars(select(OutboxMessage.job)).all()
    assert "shipping.render_slips" in outbox
    assert Shipment  # the model is importable beside ours


def test_asking_twice_for_a_waves_slips_follows_one_rendering(db, stocked):
    shop_a, _ = stocked
    wave_id = shipment(db, shop_a, inspected(db, shop_a, ("CUP-1", 1))).wave_id
    with db.tenant_session(shop_a.id) as s:
        first = documents.request_wave_slips(s, actor=PACKER, wave_id=wave_id).id
        second = documents.request_wave_slips(s, actor=PACKER, wave_id=wave_id).id
    assert first == second


def test_a_sagawa_wave_file_from_real_shipments_with_cod_and_cool(db, stocked):
    from tests.tenants.shipping.conftest import JAN, allocated, scan_code, waved
    from urakata.tenants.fulfilment import services as fulfilment

    shop_a, _ = stocked
    order_id = allocated(db, shop_a, ("ICE-1", 2), payment_method="cod", payment_status="unpaid",
                         delivery_date=None)  # fmt: skip
    with db.tenant_session(shop_a.id) as s:
        fulfilment.set_shipping_choice(s, actor=PACKER, order_id=order_id, carrier="sagawa",
                                       service="hikyaku")  # fmt: skip
        [made] = fulfilment.instruct_order(s, actor=PACKER, order_id=order_id)
        shipment_id, cod = made.id, made.cod_yen
    wave_id = waved(db, shop_a, [shipment_id])
    for _ in range(2):
        assert scan_code(db, shop_a, shipment_id, JAN["ICE-1"])[0] == "ok"
    with db.tenant_session(shop_a.id) as s:
        made = labels.wave_carrier_file(s, actor=PACKER, wave_id=wave_id, carrier="sagawa")
    [row] = [line.split(",") for line in made.data.decode("cp932").split("\r\n") if line]
    assert len(row) == 74 and made.format == "sagawa_ehiden"
    assert row[9] == f"SH{shipment_id:010d}" and row[43] == "003"  # frozen
    assert cod > 0 and row[47] == str(cod) and row[57] == "1"
    assert (row[17], row[18], row[21]) == ("03-1234-5678", "1500001", "あかり雑貨 物流センター")


def test_materials_used_add_up_for_billing(db, stocked):
    from datetime import timedelta

    from urakata.platform.db import utcnow

    shop_a, _ = stocked
    for _ in range(2):
        shipment_id = inspected(db, shop_a, ("CUP-1", 1))
        with db.tenant_session(shop_a.id) as s:
            packing.pack_shipment(s, actor=PACKER, shipment_id=shipment_id,
                                  key=uuid.uuid4().hex, materials={"tape": 2})  # fmt: skip
    now = utcnow()
    with db.tenant_session(shop_a.id) as s:
        used = packing.materials_used(s, since=now - timedelta(hours=1), until=now)
    assert used == {"box_60": 2, "tape": 4}


def test_a_handover_of_an_out_of_date_page_is_refused(db, stocked):
    shop_a, _ = stocked
    labelled(db, shop_a, ("CUP-1", 1), n=40)
    labelled(db, shop_a, ("CUP-1", 1), n=41)  # packed after the page was shown
    with pytest.raises(NotReady) as refused, db.tenant_session(shop_a.id) as s:
        handover.hand_over(s, actor=PACKER, carrier="yamato", key="late", expected=1)
    assert "2 parcels are waiting now" in str(refused.value)
    with db.tenant_session(shop_a.id) as s:
        assert handover.hand_over(s, actor=PACKER, carrier="yamato", key="late",
                                  expected=2).parcel_count == 2  # fmt: skip
