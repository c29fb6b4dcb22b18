"""A notice from CSV (Shift_JIS or UTF-8, Japanese or English headers) with each problem
named by spreadsheet row and the file's column; photos of damaged goods; stale versions."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.tenants.inbound.conftest import JAN_CUP, OPERATOR, SHOP
from urakata.tenants.inbound import services as inbound
from urakata.tenants.inbound.csvimport import NoticeFileInvalid, notice_from_csv
from urakata.tenants.inbound.models import InboundNotice
from urakata.tenants.stocktake import services as st


def _png() -> bytes:
    from io import BytesIO

    from PIL import Image

    buffer = BytesIO()
    Image.new("RGB", (8, 8), (255, 0, 0)).save(buffer, "PNG")
    return buffer.getvalue()


PNG = _png()


def from_csv(db, shop, data: bytes):
    with db.tenant_session(shop.id) as s:
        return notice_from_csv(s, SHOP, data, expected_on="2026-12-10", carrier="西濃運輸").id


def test_a_shift_jis_file_with_japanese_headers_makes_a_notice(db, shop_a):
    data = "商品コード,数量,ロット,賞味期限\r\nCUP-1,12,,\r\n\r\nTEA-100,40,L-9,2099/03/31\r\n"
    nid = from_csv(db, shop_a, data.encode("cp932"))
    with db.tenant_session(shop_a.id) as s:
        notice = inbound.get_notice(s, nid)
        assert notice.source == "csv"
        assert [(li.product.sku, li.quantity, li.lot_no) for li in notice.lines] == [
            ("CUP-1", 12, ""),
            ("TEA-100", 40, "L-9"),
        ]


def test_every_bad_row_is_named_by_row_and_column_and_nothing_is_written(db, shop_a):
    data = b"sku,quantity\nCUP-1,1\n\nNOPE-1,2\nPOT-1,-5\n"
    with pytest.raises(NoticeFileInvalid) as exc:
        from_csv(db, shop_a, data)
    assert [(e.row, e.column) for e in exc.value.errors] == [(4, "sku"), (5, "quantity")]
    with db.tenant_session(shop_a.id) as s:
        assert s.scalars(select(InboundNotice)).all() == []


@pytest.mark.parametrize(
    "data",
    [b"name,qty\nCUP-1,1\n", b"\xff\xfe\x00\x00garbage\x00", b"sku,quantity\n"],
)
def test_an_unusable_file_says_why(db, shop_a, data):
    with pytest.raises(NoticeFileInvalid) as exc:
        from_csv(db, shop_a, data)
    assert exc.value.errors and all(str(e.message) for e in exc.value.errors)


def test_a_damaged_piece_keeps_its_photo_and_a_wrong_file_is_refused(db, shop_a):
    with db.tenant_session(shop_a.id) as s:
        notice = inbound.create_notice(
            s, SHOP, lines=[{"sku": "CUP-1", "quantity": 2}], expected_on="2026-12-10"
        )
        item = inbound.receive_item(
            s,
            OPERATOR,
            notice.id,
            code=JAN_CUP,
            condition="damaged",
            photo=PNG,
            photo_mime="image/png",
        )
        assert item.photo == PNG
        with pytest.raises(inbound.InboundInvalid) as exc:
            inbound.receive_item(
                s, OPERATOR, notice.id, code=JAN_CUP, photo=b"%PDF", photo_mime="application/pdf"
            )
        assert list(exc.value.errors) == ["photo"]


def test_a_decision_on_a_stale_version_is_refused(db, shop_a):
    with db.tenant_session(shop_a.id) as s:
        notice = inbound.create_notice(
            s, SHOP, lines=[{"sku": "CUP-1", "quantity": 2}], expected_on="2026-12-10"
        )
        with pytest.raises(inbound.StaleInbound):
            inbound.close_notice(s, OPERATOR, notice.id, version=notice.version + 7)
        assert (
            inbound.cancel_notice(s, SHOP, notice.id, version=notice.version).status == "cancelled"
        )
        with pytest.raises(inbound.NoticeClosed):
            inbound.receive_item(s, OPERATOR, notice.id, code=JAN_CUP)


def test_a_stocktake_decision_on_a_stale_version_is_refused(db, shop_a):
    from tests.tenants.stock.conftest import line, put_away

    put_away(db, shop_a, line("CUP-1", 3, "A-01-01-1"))
    with db.tenant_session(shop_a.id) as s:
        made = st.plan_stocktake(s, OPERATOR, scope="full")
        st.record_count(s, OPERATOR, made.id, made.lines[0].id, 3)
        with pytest.raises(st.StaleStocktake):
            st.submit_stocktake(s, OPERATOR, made.id, version=1)
