"""Inbound notices and receiving: exact, over, short, damaged and unknown goods; putaway
posts receipt movements through the stock ledger; the discrepancy report; dock-to-stock;
the first receipt of a SKU asks for sasage; bad input leaves the ledger untouched."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from tests.tenants.inbound.conftest import (
    JAN_B_ONLY,
    JAN_CUP,
    JAN_POT,
    JAN_TEA,
    OPERATOR,
    SHOP,
    actions,
    levels,
    movements,
    set_settings,
)
from urakata.platform.tenancy import NotFound
from urakata.tenants.inbound import services as inbound
from urakata.tenants.inbound.models import InboundNotice
from urakata.tenants.sasage.models import SasageRequest

TOMORROW = (date.today() + timedelta(days=1)).isoformat()


def notice(db, shop, *lines, **kw):
    with db.tenant_session(shop.id) as s:
        made = inbound.create_notice(
            s,
            SHOP,
            lines=list(lines),
            expected_on=kw.pop("expected_on", TOMORROW),
            carrier=kw.pop("carrier", "ヤマト運輸"),
            tracking_number=kw.pop("tracking_number", "1234-5678-9012"),
            **kw,
        )
        return made.id


def scan(db, shop, notice_id, code, quantity=1, **kw):
    with db.tenant_session(shop.id) as s:
        return inbound.receive_item(s, OPERATOR, notice_id, code=code, quantity=quantity, **kw).id


def put_all(db, shop, notice_id, bins: dict[str, str] | None = None):
    """Put every waiting item away in its suggested bin (or ``bins[sku]``)."""
    with db.tenant_session(shop.id) as s:
        waiting = inbound.waiting_items(s, notice_id)
        placements = inbound.suggest_placements(s, waiting)
        for item in waiting:
            if item.product.sku in (bins or {}):
                placements[item.id] = bins[item.product.sku]
        return inbound.put_away(s, OPERATOR, notice_id, placements=placements)


def close(db, shop, notice_id):
    with db.tenant_session(shop.id) as s:
        n = inbound.get_notice(s, notice_id)
        done = inbound.close_notice(s, OPERATOR, notice_id, version=n.version)
        return done.discrepancy, done.dock_to_stock_seconds, done.has_discrepancy


def test_an_exact_receipt_posts_receipt_movements_and_closes_clean(db, shop_a):
    nid = notice(db, shop_a, {"sku": "CUP-1", "quantity": 12}, {"sku": "POT-1", "quantity": 3})
    scan(db, shop_a, nid, JAN_CUP, 10)
    scan(db, shop_a, nid, "４９０００００００００１６", 2)  # full-width digits typed
    for _ in range(3):
        scan(db, shop_a, nid, JAN_POT)  # a scanner sends one piece per scan
    assert movements(db, shop_a) == []  # nothing is stock before putaway
    result = put_all(db, shop_a, nid)
    assert (result.pieces, result.items) == (15, 5)
    assert levels(db, shop_a) == {("A-01-01-1", ""): 12, ("A-01-01-2", ""): 3}
    number = f"IN-{nid:06d}"
    assert sorted(movements(db, shop_a)) == sorted(
        [("receipt", 10, number), ("receipt", 2, number)] + [("receipt", 1, number)] * 3
    )
    report, dock_to_stock, flagged = close(db, shop_a, nid)
    assert [(r["sku"], r["expected"], r["received"], r["outcome"]) for r in report["lines"]] == [
        ("CUP-1", 12, 12, "exact"),
        ("POT-1", 3, 3, "exact"),
    ]
    assert flagged is False and dock_to_stock is not None and dock_to_stock >= 0
    assert actions(db, shop_a)[-1] == "inbound.notice_closed"


def test_over_short_damaged_and_unknown_goods_make_the_discrepancy_report(db, shop_a):
    nid = notice(
        db,
        shop_a,
        {"sku": "CUP-1", "quantity": 10},
        {"sku": "POT-1", "quantity": 5},
        {"sku": "TEA-100", "quantity": 20, "lot": "L-1", "best_before": "2099-01-31"},
    )
    scan(db, shop_a, nid, JAN_CUP, 12)  # two over
    scan(db, shop_a, nid, JAN_POT, 3)  # two short …
    scan(db, shop_a, nid, JAN_POT, 1, condition="damaged", note="注ぎ口が欠けている")
    scan(db, shop_a, nid, JAN_TEA, 20)  # the lot comes from the notice
    scan(db, shop_a, nid, "9999999999999", 4, condition="unknown", description="無地の箱")
    put_all(db, shop_a, nid)
    assert levels(db, shop_a, "POT-1") == {("A-01-01-2", ""): 3, ("D-01-01-1", ""): 1}
    assert levels(db, shop_a, "TEA-100") == {("R-01-01-1", "L-1"): 20}
    report, _dts, flagged = close(db, shop_a, nid)
    got = {
        r["sku"]: (r["received"], r["damaged"], r["difference"], r["outcome"])
        for r in report["lines"]
    }
    assert got == {
        "CUP-1": (12, 0, 2, "over"),
        "POT-1": (3, 1, -1, "short"),
        "TEA-100": (20, 0, 0, "exact"),
    }
    assert report["unknown"][0]["code"] == "9999999999999"
    assert report["totals"]["unknown"] == 4 and report["totals"]["damaged"] == 1
    assert flagged is True
    with db.tenant_session(shop_a.id) as s:
        page = inbound.list_notices(s, state="discrepancy")
        assert [n.id for n in page.items] == [nid]


def test_a_sku_not_on_the_notice_counts_as_over(db, shop_a):
    nid = notice(db, shop_a, {"sku": "CUP-1", "quantity": 1})
    scan(db, shop_a, nid, JAN_CUP)
    scan(db, shop_a, nid, JAN_POT, 2)
    put_all(db, shop_a, nid)
    report, _dts, flagged = close(db, shop_a, nid)
    assert report["not_on_notice"] == [
        {"sku": "POT-1", "name": "常滑焼 急須", "lot_no": "", "received": 2, "damaged": 0}
    ]
    assert report["totals"]["over"] == 2 and flagged


def test_the_first_receipt_of_a_sku_requests_sasage_when_the_shop_wants_it(db, shop_a):
    set_settings(db, shop_a, sasage_on_first_receipt=True)
    first = notice(db, shop_a, {"sku": "CUP-1", "quantity": 2})
    scan(db, shop_a, first, JAN_CUP, 2)
    result = put_all(db, shop_a, first)
    assert result.sasage_requested == ["CUP-1"]
    second = notice(db, shop_a, {"sku": "CUP-1", "quantity": 1})
    scan(db, shop_a, second, JAN_CUP)
    assert put_all(db, shop_a, second).sasage_requested == []  # received before
    with db.tenant_session(shop_a.id) as s:
        requests = s.scalars(select(SasageRequest)).all()
        assert [r.product_id for r in requests] == [shop_a.products["CUP-1"]]
    assert "sasage.requested" in actions(db, shop_a)


def test_without_the_setting_a_first_receipt_requests_nothing(db, shop_a):
    nid = notice(db, shop_a, {"sku": "CUP-1", "quantity": 1})
    scan(db, shop_a, nid, JAN_CUP)
    assert put_all(db, shop_a, nid).sasage_requested == []


def test_putaway_suggests_the_skus_pick_face_then_an_empty_bin(db, shop_a):
    with db.tenant_session(shop_a.id) as s:
        assert inbound.suggest_bin(s, shop_a.products["CUP-1"], "good") == "A-01-01-1"
    nid = notice(db, shop_a, {"sku": "CUP-1", "quantity": 1})
    scan(db, shop_a, nid, JAN_CUP)
    put_all(db, shop_a, nid, {"CUP-1": "A-01-01-2"})
    with db.tenant_session(shop_a.id) as s:
        assert inbound.suggest_bin(s, shop_a.products["CUP-1"], "good") == "A-01-01-2"
        assert inbound.suggest_bin(s, shop_a.products["POT-1"], "good") == "A-01-01-1"
        assert inbound.suggest_bin(s, shop_a.products["POT-1"], "damaged") == "D-01-01-1"


# --- bad input: clear errors, the ledger untouched ---------------------------------------------


def test_receiving_against_a_closed_notice_is_refused(db, shop_a):
    nid = notice(db, shop_a, {"sku": "CUP-1", "quantity": 1})
    scan(db, shop_a, nid, JAN_CUP)
    put_all(db, shop_a, nid)
    close(db, shop_a, nid)
    before = movements(db, shop_a)
    with pytest.raises(inbound.NoticeClosed) as exc:
        scan(db, shop_a, nid, JAN_CUP)
    assert "closed" in str(exc.value.errors["notice"][0])
    assert movements(db, shop_a) == before


def test_another_shops_barcode_is_not_taken_into_this_notice(db, shop_a, shop_b):
    nid = notice(db, shop_a, {"sku": "CUP-1", "quantity": 1})
    with pytest.raises(inbound.InboundInvalid) as exc:
        scan(db, shop_a, nid, JAN_B_ONLY)
    assert JAN_B_ONLY in str(exc.value.errors["code"][0])
    with db.tenant_session(shop_a.id) as s:
        assert inbound.items_of(s, nid) == []
    assert movements(db, shop_a) == [] and movements(db, shop_b) == []


@pytest.mark.parametrize("quantity", [-1, 0, "abc", 1.5])
def test_a_negative_or_odd_count_is_refused(db, shop_a, quantity):
    nid = notice(db, shop_a, {"sku": "CUP-1", "quantity": 1})
    with pytest.raises(inbound.InboundInvalid) as exc:
        scan(db, shop_a, nid, JAN_CUP, quantity)
    assert list(exc.value.errors) == ["quantity"]


def test_a_notice_with_unknown_skus_names_each_line_and_writes_nothing(db, shop_a):
    with pytest.raises(inbound.InboundInvalid) as exc:
        notice(
            db,
            shop_a,
            {"sku": "CUP-1", "quantity": 1},
            {"sku": "NOPE-9", "quantity": 2},
            {"sku": "B-ONLY", "quantity": -1},
        )
    assert set(exc.value.errors) == {"lines[1].sku", "lines[2].sku", "lines[2].quantity"}
    with db.tenant_session(shop_a.id) as s:
        assert s.scalars(select(InboundNotice)).all() == []


def test_a_lot_on_a_sku_without_lots_and_a_missing_date_are_refused(db, shop_a):
    with pytest.raises(inbound.InboundInvalid) as exc, db.tenant_session(shop_a.id) as s:
        inbound.create_notice(
            s, SHOP, lines=[{"sku": "CUP-1", "quantity": 1, "lot": "L-1"}], expected_on=""
        )
    assert set(exc.value.errors) == {"lines[0].lot", "expected_on"}


def test_good_pieces_do_not_go_into_another_shops_bin_or_the_damaged_bin(db, shop_a):
    nid = notice(db, shop_a, {"sku": "CUP-1", "quantity": 1})
    item = scan(db, shop_a, nid, JAN_CUP)
    for code in ("B-01-01-1", "D-01-01-1"):
        with pytest.raises(inbound.InboundInvalid) as exc, db.tenant_session(shop_a.id) as s:
            inbound.put_away(s, OPERATOR, nid, placements={item: code})
        assert list(exc.value.errors) == [f"items[{item}].location"]
    assert movements(db, shop_a) == []


def test_closing_with_good_pieces_not_put_away_is_refused(db, shop_a):
    nid = notice(db, shop_a, {"sku": "CUP-1", "quantity": 1})
    scan(db, shop_a, nid, JAN_CUP)
    with pytest.raises(inbound.InboundInvalid) as exc:
        close(db, shop_a, nid)
    assert "items" in exc.value.errors


def test_a_putaway_sent_twice_posts_once(db, shop_a):
    nid = notice(db, shop_a, {"sku": "CUP-1", "quantity": 1})
    item = scan(db, shop_a, nid, JAN_CUP)
    with db.tenant_session(shop_a.id) as s:
        inbound.put_away(s, OPERATOR, nid, placements={item: "A-01-01-1"})
    with pytest.raises(inbound.InboundInvalid), db.tenant_session(shop_a.id) as s:
        inbound.put_away(s, OPERATOR, nid, placements={item: "A-01-01-1"})
    assert len(movements(db, shop_a)) == 1


# --- isolation ---------------------------------------------------------------------------------


def test_another_shops_notice_is_not_found(db, shop_a, shop_b):
    nid = notice(db, shop_a, {"sku": "CUP-1", "quantity": 1})
    with db.tenant_session(shop_b.id) as s:
        with pytest.raises(NotFound):
            inbound.get_notice(s, nid)
        with pytest.raises(NotFound):
            inbound.receive_item(s, OPERATOR, nid, code="4900000000092")
        assert inbound.list_notices(s).items == []


def test_comments_on_the_report_are_kept_in_order(db, shop_a):
    nid = notice(db, shop_a, {"sku": "CUP-1", "quantity": 1})
    with db.tenant_session(shop_a.id) as s:
        inbound.add_comment(s, SHOP, nid, side="shop", body="1個足りません。")
        inbound.add_comment(s, OPERATOR, nid, side="agency", body="箱を再確認します。")
        with pytest.raises(inbound.InboundInvalid):
            inbound.add_comment(s, SHOP, nid, side="shop", body="   ")
        assert [c.side for c in inbound.comments_of(s, nid)] == ["shop", "agency"]


def test_the_same_sku_and_lot_twice_is_refused(db, shop_a):
    with pytest.raises(inbound.InboundInvalid) as exc:
        notice(db, shop_a, {"sku": "CUP-1", "quantity": 1}, {"sku": "CUP-1", "quantity": 2})
    assert list(exc.value.errors) == ["lines[1].sku"]
    nid = notice(
        db,
        shop_a,
        {"sku": "TEA-100", "quantity": 1, "lot": "L-1", "best_before": "2099-01-01"},
        {"sku": "TEA-100", "quantity": 2, "lot": "L-2", "best_before": "2099-02-01"},
    )
    assert nid
