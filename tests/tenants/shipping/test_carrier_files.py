"""Carrier files checked column by column against shared/domain/japan.md ("Carriers"):
encoding, line endings, header, column count, the key columns, and the carriers' field
widths counted in full-width characters. A value over a limit blocks the whole file with
a message naming the shipment and the field; nothing is cut."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import date

import pytest

from urakata.tenants.shipping.carrier_files import (
    CarrierFileBlocked,
    LabelData,
    build_rows,
    carrier_file,
    load_map,
    tracking_url,
    width,
)

SHIP = date(2026, 12, 1)
BASE = LabelData(
    reference="SH0000000042",
    ship_date=SHIP,
    to_postal_code="1000001",
    to_address="東京都千代田区千代田1-1",
    to_address_1="東京都千代田区",
    to_address_2="千代田1-1",
    to_building="皇居ビル101",
    to_name="山田 太郎",
    to_phone="090-1234-5678",
    sender_postal_code="1500001",
    sender_address="東京都渋谷区神宮前1-2-3",
    sender_address_1="東京都渋谷区神宮前1-2-3",
    sender_address_2="",
    sender_name="あかり雑貨",
    sender_phone="03-1234-5678",
    invoice_kind="takkyubin",
    cool="none",
    item_name_1="雑貨",
    billing_customer_code="012345678901",
    freight_code="01",
    ehiden_customer_code="123456789012",
)
COD = replace(BASE, reference="SH0000000043", invoice_kind="takkyubin_cod", cod_amount_yen=5400,
              cod_tax_yen=490, cool="chilled", delivery_date=date(2026, 12, 3),
              delivery_slot="14-16")  # fmt: skip


SAGAWA = replace(BASE, invoice_kind="hikyaku")
SAGAWA_COD = replace(COD, invoice_kind="hikyaku_cod")


def _rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("cp932"), newline="")))


def test_b2_is_cp932_crlf_with_its_header_and_97_columns():
    data = carrier_file(load_map("yamato_b2"), [BASE, COD])
    assert data.count(b"\r\n") == 3 and b"\n" not in data.replace(b"\r\n", b"")
    assert data.endswith(b"\r\n")
    data.decode("cp932")  # strictly CP932
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    header, plain, cod = _rows(data)
    assert len(header) == len(plain) == len(cod) == 97
    assert (
        header[0] == "お客様管理番号"
        and header[3] == "伝票番号"
        and header[39] == "請求先顧客コード"
    )


def test_b2_key_columns_as_japan_md_numbers_them():
    _, plain, cod = _rows(carrier_file(load_map("yamato_b2"), [BASE, COD]))
    col = lambda row, n: row[n - 1]  # noqa: E731 - 1-based, as japan.md numbers them
    assert col(plain, 1) == "SH0000000042"
    assert col(plain, 2) == "0" and col(cod, 2) == "2"  # 発払い / コレクト
    assert col(plain, 3) == "0" and col(cod, 3) == "2"  # 通常 / 冷蔵
    assert col(plain, 4) == ""  # 伝票番号: blank on input
    assert col(plain, 5) == "2026/12/01"
    assert col(plain, 6) == "" and col(cod, 6) == "2026/12/03"
    assert col(plain, 7) == "" and col(cod, 7) == "1416"
    assert col(plain, 9) == "090-1234-5678"
    assert col(plain, 11) == "100-0001"
    assert col(plain, 12) == "東京都千代田区千代田1-1"
    assert col(plain, 13) == "皇居ビル101"
    assert col(plain, 16) == "山田 太郎"
    assert (col(plain, 20), col(plain, 22), col(plain, 23), col(plain, 25)) == (
        "03-1234-5678", "150-0001", "東京都渋谷区神宮前1-2-3", "あかり雑貨")  # fmt: skip
    assert col(plain, 28) == "雑貨"
    assert col(plain, 34) == "" and col(cod, 34) == "5400"
    assert col(plain, 35) == "" and col(cod, 35) == "490"
    assert col(plain, 40) == "012345678901"
    assert col(plain, 42) == "01"


def test_b2_cool_codes_and_the_other_services():
    rows = _rows(carrier_file(load_map("yamato_b2"), [
        replace(BASE, reference="F", cool="frozen"),
        replace(BASE, reference="C", invoice_kind="compact"),
        replace(BASE, reference="N", invoice_kind="nekopos"),
    ]))[1:]  # fmt: skip
    assert [(r[1], r[2]) for r in rows] == [("0", "1"), ("8", "0"), ("A", "0")]


def test_ehiden_has_no_header_no_quoting_and_74_columns():
    data = carrier_file(load_map("sagawa_ehiden"), [SAGAWA, SAGAWA_COD])
    assert data.count(b"\r\n") == 2 and b'"' not in data
    plain, cod = _rows(data)
    assert len(plain) == len(cod) == 74
    col = lambda row, n: row[n - 1]  # noqa: E731
    assert col(plain, 3) == "090-1234-5678"
    assert col(plain, 4) == "1000001"
    assert (col(plain, 5), col(plain, 6), col(plain, 7)) == ("東京都千代田区", "千代田1-1",
                                                             "皇居ビル101")  # fmt: skip
    assert col(plain, 8) == "山田 太郎"
    assert col(plain, 10) == "SH0000000042"
    assert col(plain, 25) == "雑貨"
    assert col(plain, 42) == "1"
    assert col(plain, 44) == "001" and col(cod, 44) == "002"
    assert col(plain, 45) == "" and col(cod, 45) == "20261203"
    assert col(plain, 46) == "" and col(cod, 46) == "14"
    assert col(plain, 48) == "" and col(cod, 48) == "5400"
    assert col(cod, 49) == "490"
    assert col(plain, 58) == "1"
    assert col(plain, 61) == "20261201"


def test_widths_are_counted_in_full_width_characters():
    assert width("山田") == 4 and width("ﾔﾏﾀﾞ") == 4 and width("abc") == 3
    at_limit = "あ" * 32  # B2 住所: 32 全角
    rows = build_rows(load_map("yamato_b2"), [replace(BASE, to_address=at_limit)])
    assert rows[1][11] == at_limit
    half = "a" * 64  # the same width in ASCII
    assert build_rows(load_map("yamato_b2"), [replace(BASE, to_address=half)])[1][11] == half


def test_an_address_too_long_for_b2_blocks_the_file_naming_shipment_and_field():
    long = replace(BASE, reference="SH0000000099", to_address="東" * 33)
    with pytest.raises(CarrierFileBlocked) as blocked:
        carrier_file(load_map("yamato_b2"), [BASE, long])
    [problem] = blocked.value.problems
    assert (problem.reference, problem.column, problem.title) == (
        "SH0000000099",
        12,
        "お届け先住所",
    )
    assert "66 half-width" in problem.message and "32 full-width" in problem.message


def test_every_field_over_its_limit_is_named_and_ehiden_is_stricter():
    wide = replace(BASE, to_name="あ" * 17, to_building="い" * 17, item_name_1="う" * 26,
                   to_address_2="え" * 17)  # fmt: skip
    with pytest.raises(CarrierFileBlocked) as b2:
        carrier_file(load_map("yamato_b2"), [wide])
    assert [p.column for p in b2.value.problems] == [13, 16, 28]
    with pytest.raises(CarrierFileBlocked) as ehiden:
        carrier_file(load_map("sagawa_ehiden"), [replace(wide, invoice_kind="hikyaku")])
    assert [p.column for p in ehiden.value.problems] == [6, 7, 8, 25]


def test_values_the_carrier_has_no_code_for_or_cannot_hold_are_refused():
    noon = replace(BASE, delivery_slot="12-14")  # Yamato has no 12–14 slot
    comma = replace(BASE, reference="SH0000000077", to_building="ビル, 2F")
    cod_over = replace(COD, cod_amount_yen=300_001)
    with pytest.raises(CarrierFileBlocked) as b2:
        carrier_file(load_map("yamato_b2"), [noon, cod_over])
    found = [(p.column, p.title) for p in b2.value.problems]
    assert found == [(7, "配達時間帯"), (34, "コレクト代金引換額（税込）")]
    assert _rows(carrier_file(load_map("yamato_b2"), [comma]))[1][12] == "ビル, 2F"  # quoted
    with pytest.raises(CarrierFileBlocked) as ehiden:
        carrier_file(load_map("sagawa_ehiden"), [replace(comma, invoice_kind="hikyaku")])
    assert ehiden.value.problems[0].column == 7
    missing = replace(BASE, billing_customer_code="")
    with pytest.raises(CarrierFileBlocked) as required:
        carrier_file(load_map("yamato_b2"), [missing])
    assert required.value.problems[0].title == "請求先顧客コード"


def test_a_character_cp932_lacks_blocks_the_file():
    with pytest.raises(CarrierFileBlocked) as blocked:
        carrier_file(load_map("yamato_b2"), [replace(BASE, to_name="𠮷田 太郎")])
    assert blocked.value.problems[0].column == 16 and "𠮷" in blocked.value.problems[0].message


def test_tracking_links():
    assert tracking_url("yamato", "444413758703").endswith("id=444413758703")
    assert "okurijoNo=512547514334" in tracking_url("sagawa", "512547514334")
    assert "reqCodeNo1=" in tracking_url("japan_post", "123456789013")
