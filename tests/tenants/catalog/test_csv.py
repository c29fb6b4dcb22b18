"""CSV import and export: encodings, header mapping, every error by row and column with
nothing written, set-based imports on the ledger, neutralised exports, two shops apart,
and the fast validator agreeing with the catalog schema."""

from __future__ import annotations

import csv
import io
import random
import string
from datetime import UTC, datetime

import pytest
from marshmallow import ValidationError
from sqlalchemy import func, select

from urakata.platform.audit import AuditEvent, user_actor
from urakata.platform.codes import gtin_check_digit, gtin_problem, itf14_for
from urakata.tenants.catalog import csvio
from urakata.tenants.catalog.models import Product, ProductBarcode
from urakata.tenants.catalog.schemas import load_product
from urakata.tenants.catalog.services import create_product, get_product

HEADER = [
    "商品コード",
    "JANコード",
    "商品名",
    "販売価格",
    "税率",
    "状態",
    "縦(mm)",
    "横(mm)",
    "高さ(mm)",
    "重量(g)",
    "温度帯",
    "ロット管理",
    "ケース入数",
    "ITF-14",
    "バーコード",
]


def jan(n: int) -> str:
    body = f"4569951{n:05d}"
    return body + str(gtin_check_digit(body))


def row(sku, n, **cells):
    code = jan(n)
    values = {
        "商品コード": sku,
        "JANコード": code,
        "商品名": f"抹茶 {n} 番",
        "販売価格": "1,200",
        "税率": "8",
        "状態": "販売中",
        "縦(mm)": "150",
        "横(mm)": "100",
        "高さ(mm)": "30",
        "重量(g)": "120",
        "温度帯": "常温",
        "ロット管理": "はい",
        "ケース入数": "40",
        "ITF-14": itf14_for(code, 1),
        "バーコード": f"MC{n}",
    }
    values.update(cells)
    return values


def csv_bytes(rows, *, header=HEADER, encoding="utf-8") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for r in rows:
        writer.writerow([r.get(h, "") for h in header])
    return buffer.getvalue().encode(encoding)


def check(db, shop, data: bytes, **kw) -> csvio.ImportCheck:
    with db.tenant_session(shop.id) as s:
        return csvio.check_import(s, csvio.read_csv(data), **kw)


def run_import(db, world, shop, data: bytes, **kw) -> csvio.ImportResult:
    with db.tenant_session(shop.id) as s:
        checked = csvio.check_import(s, csvio.read_csv(data), lock=True, **kw)
        return csvio.import_products(s, actor=user_actor(world.shop_admin_a), check=checked)


def count(db, shop) -> int:
    with db.tenant_session(shop.id) as s:
        return s.scalar(select(func.count()).select_from(Product))


def errors_of(checked) -> list[tuple[int, str, str]]:
    return [(e.row, e.column, str(e.message)) for e in checked.errors]


# -- encodings and headers --------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "detected"),
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("cp932", "cp932")],
)
def test_utf8_with_or_without_bom_and_cp932_are_read(db, world, encoding, detected):
    data = csv_bytes(
        [row("MC-1", 1), row("MC-2", 2, 商品名="ほうじ茶 ティーバッグ")], encoding=encoding
    )
    parsed = csvio.read_csv(data)
    assert parsed.encoding == detected
    assert parsed.mapping.pairs[0] == ("商品コード", "sku")
    checked = check(db, world.shop_a, data)
    assert checked.ok, errors_of(checked)
    assert [r.values["name"] for r in checked.rows] == ["抹茶 1 番", "ほうじ茶 ティーバッグ"]
    first = checked.rows[0].values
    assert (first["price_yen"], first["tax_rate"], first["status"]) == (1200, 8, "active")
    assert (first["temperature_zone"], first["lot_tracked"]) == ("ambient", True)


@pytest.mark.parametrize(
    "data",
    [
        "商品コード,商品名\nA-1,Café crème\n".encode("latin-1", errors="replace") + b"\xe9 \xff\n",
        "商品コード,商品名,販売価格\nA-1,緑茶,100\n".encode("utf-16"),
        b"PK\x03\x04\x14\x00\x06\x00binary spreadsheet",
    ],
    ids=["latin-1", "utf-16", "xlsx"],
)
def test_a_file_in_another_encoding_is_refused_clearly(data):
    with pytest.raises(csvio.CsvUnreadable) as caught:
        csvio.read_csv(data)
    assert "neither UTF-8 nor Shift_JIS (CP932)" in str(caught.value)


def test_english_headers_and_values_are_read_too():
    data = b"sku,name,price_yen,temperature_zone,status,unknown column\nA-1,x,5,frozen,draft,?\n"
    parsed = csvio.read_csv(data)
    assert parsed.mapping.fields == (
        "sku",
        "name",
        "price_yen",
        "temperature_zone",
        "status",
        None,
    )
    assert parsed.mapping.ignored == ["unknown column"]


def test_full_width_and_spaced_headers_are_recognised():
    mapping, errors = csvio.map_header(["ＳＫＵ", "商品名", "価格", "縦 (mm)", "JAN コード"])
    assert errors == []
    assert mapping.fields == ("sku", "name", "price_yen", "length_mm", "jan")


def test_missing_required_columns_are_named_and_nothing_is_written(db, world):
    data = csv_bytes([row("MC-1", 1)], header=["商品コード", "JANコード", "温度帯"])
    checked = check(db, world.shop_a, data)
    assert errors_of(checked) == [
        (1, "商品名", "The required column 商品名 (or name) is missing."),
        (1, "販売価格", "The required column 販売価格 (or price_yen) is missing."),
    ]
    with pytest.raises(csvio.ImportInvalid), db.tenant_session(world.shop_a.id) as s:
        csvio.import_products(s, actor=user_actor(world.shop_admin_a), check=checked)
    assert count(db, world.shop_a) == 0


def test_a_file_without_any_known_column_hints_at_the_encoding():
    mapping, errors = csvio.map_header(["ﾆｮｳｺ", "foo"])
    assert [str(e.message) for e in errors] == [
        "No column of the first row is a product field. The first row must be the header;"
        " check the encoding too."
    ]


def test_two_columns_for_one_field_are_an_error():
    _mapping, errors = csvio.map_header(["商品コード", "商品名", "販売価格", "価格"])
    assert [(e.row, e.column) for e in errors] == [(1, "価格")]


def test_empty_files_and_header_only_files_are_refused():
    for data in (b"", b"\xef\xbb\xbf  \r\n", "商品コード,商品名,販売価格\r\n".encode()):
        with pytest.raises(csvio.CsvUnreadable):
            csvio.read_csv(data)


# -- the whole file checked, nothing written ------------------------------------------------


def test_each_bad_cell_is_named_by_row_and_column_and_nothing_is_written(db, world):
    with db.tenant_session(world.shop_a.id) as s:
        taken = create_product(
            s,
            actor=user_actor(world.shop_admin_a),
            data={"sku": "OLD-1", "name": "既存", "price_yen": 100, "jan": jan(90)},
        )
    before = count(db, world.shop_a)
    bad_check_digit = jan(3)[:-1] + str((int(jan(3)[-1]) + 1) % 10)
    data = csv_bytes(
        [
            row("MC-1", 1),
            row("MC-2", 2, JANコード=bad_check_digit),
            row("MC-1", 3),
            row("MC-4", 90),  # the JAN of OLD-1, another product of the shop
            row("MC-5", 5, 販売価格="-100"),
            row("MC-6", 6, 税率="5%"),
        ]
    )
    checked = check(db, world.shop_a, data)
    expected = gtin_check_digit(bad_check_digit[:-1])
    assert errors_of(checked) == [
        (3, "JANコード", f"The check digit should be {expected}, not {bad_check_digit[-1]}."),
        (4, "商品コード", "The SKU MC-1 is also in row 2."),
        (5, "JANコード", f"The code {jan(90)} already belongs to OLD-1."),
        (6, "販売価格", "Enter a whole number from 0 to 100,000,000."),
        (7, "税率", "Choose one of: 10, 8."),
    ]
    with pytest.raises(csvio.ImportInvalid), db.tenant_session(world.shop_a.id) as s:
        csvio.import_products(s, actor=user_actor(world.shop_admin_a), check=checked)
    assert count(db, world.shop_a) == before
    with db.tenant_session(world.shop_a.id) as s:
        assert get_product(s, taken.id).version == 1


def test_codes_twice_in_the_file_and_within_a_row_are_errors(db, world):
    data = csv_bytes(
        [
            row("MC-1", 1),
            row("MC-2", 2, バーコード="MC1"),  # MC-1's shop code
            row("MC-3", 3, バーコード=jan(3)),  # its own JAN again
        ]
    )
    assert errors_of(check(db, world.shop_a, data)) == [
        (3, "バーコード", "The code MC1 is also given in row 2."),
        (4, "バーコード", f"The code {jan(3)} is given twice."),
    ]


def test_a_known_sku_is_an_error_when_updates_are_not_wanted(db, world):
    run_import(db, world, world.shop_a, csv_bytes([row("MC-1", 1)]))
    checked = check(db, world.shop_a, csv_bytes([row("MC-1", 1)]), update_existing=False)
    assert errors_of(checked) == [(2, "商品コード", "The SKU MC-1 is already used in this shop.")]


def test_a_row_with_more_cells_than_the_header_is_an_error(db, world):
    data = csv_bytes([row("MC-1", 1)]) + "MC-2,,緑茶,100,,,,,,,,,,,,surplus\r\n".encode()
    assert errors_of(check(db, world.shop_a, data)) == [
        (3, "", "This row has 16 cells but the header only 15.")
    ]


def test_rows_are_numbered_as_in_a_spreadsheet_even_after_blank_lines(db, world):
    data = csv_bytes([row("MC-1", 1)]) + b"\r\n,,,\r\n" + "MC-2,,緑茶,x\r\n".encode()
    assert errors_of(check(db, world.shop_a, data)) == [
        (5, "販売価格", "Enter a whole number from 0 to 100,000,000."),
    ]


# -- importing ------------------------------------------------------------------------------


def test_a_clean_import_creates_and_updates_products_and_records_events(db, world):
    actor = user_actor(world.shop_admin_a)
    with db.tenant_session(world.shop_a.id) as s:
        old = create_product(
            s,
            actor=actor,
            data={"sku": "MC-1", "name": "抹茶 旧", "price_yen": 900, "barcodes": "OLD-CODE"},
        )
    data = csv_bytes([row("MC-1", 1, **{"縦(mm)": "400"}), row("MC-2", 2, 温度帯="冷蔵")])
    result = run_import(db, world, world.shop_a, data)
    assert result.as_dict() == {"created": 1, "updated": 1, "unchanged": 0}
    with db.tenant_session(world.shop_a.id) as s:
        updated = get_product(s, old.id)
        assert (updated.name, updated.price_yen, updated.version) == ("抹茶 1 番", 1200, 2)
        assert updated.size_class == 60 and updated.lot_tracked is True
        assert sorted((b.kind, b.code) for b in updated.barcodes) == [
            ("itf14", itf14_for(jan(1), 1)),
            ("jan", jan(1)),
            ("shop", "MC1"),
        ]
        new = s.scalar(select(Product).where(Product.sku == "MC-2"))
        assert (new.version, new.temperature_zone, new.size_class) == (1, "chilled", 60)
        events = s.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "product.imported")
            .order_by(AuditEvent.seq)
        ).all()
    assert [e.object_id for e in events] == [str(old.id), str(new.id)]
    changes = events[0].payload["changes"]
    assert changes["price_yen"] == [900, 1200] and changes["barcodes"] == [["OLD-CODE"], ["MC1"]]
    assert events[0].payload["data"] == {"version": 2, "row": 2}
    assert events[1].payload["changes"]["sku"] == [None, "MC-2"]
    assert events[0].payload["actor"]["id"] == str(world.shop_admin_a.id)


def test_an_unchanged_row_is_left_alone(db, world):
    data = csv_bytes([row("MC-1", 1), row("MC-2", 2)])
    run_import(db, world, world.shop_a, data)
    again = run_import(db, world, world.shop_a, data)
    assert again.as_dict() == {"created": 0, "updated": 0, "unchanged": 2}
    with db.tenant_session(world.shop_a.id) as s:
        assert s.scalar(select(func.max(Product.version))) == 1
        imported = select(func.count()).where(AuditEvent.action == "product.imported")
        assert s.scalar(imported) == 2


def test_missing_columns_keep_values_and_blank_cells_clear_them(db, world):
    run_import(db, world, world.shop_a, csv_bytes([row("MC-1", 1)]))
    header = ["商品コード", "商品名", "販売価格", "重量(g)", "JANコード", "状態"]
    data = csv_bytes([{"商品コード": "MC-1", "商品名": "抹茶", "販売価格": "1300"}], header=header)
    run_import(db, world, world.shop_a, data)
    with db.tenant_session(world.shop_a.id) as s:
        product = s.scalar(select(Product).where(Product.sku == "MC-1"))
        # Blank weight and JAN: cleared. Blank status: as it was. No ITF column: kept.
        assert (product.weight_g, product.jan, product.status) == (None, None, "active")
        assert product.case_itf14 == itf14_for(jan(1), 1) and product.size_class is None
        codes = sorted(b.kind for b in product.barcodes)
    assert codes == ["itf14", "shop"]


def test_a_code_may_move_between_two_products_of_the_file(db, world):
    run_import(db, world, world.shop_a, csv_bytes([row("MC-1", 1), row("MC-2", 2)]))
    moved = csv_bytes([row("MC-1", 1, バーコード=""), row("MC-2", 2, バーコード="MC2,MC1")])
    result = run_import(db, world, world.shop_a, moved)
    assert result.updated == 2
    with db.tenant_session(world.shop_a.id) as s:
        owner = s.scalar(
            select(Product.sku).join(ProductBarcode).where(ProductBarcode.code == "MC1")
        )
    assert owner == "MC-2"


def test_the_same_sku_and_codes_in_two_shops_are_fine_and_stay_apart(db, world):
    data = csv_bytes([row("MC-1", 1), row("MC-2", 2)])
    run_import(db, world, world.shop_a, data)
    checked = check(db, world.shop_b, data)
    assert checked.ok and len(checked.new) == 2  # shop A's products are not "existing" here
    run_import(db, world, world.shop_b, csv_bytes([row("MC-1", 1, 販売価格="999")]))
    with db.tenant_session(world.shop_a.id) as s:
        assert s.scalar(select(Product.price_yen).where(Product.sku == "MC-1")) == 1200
    assert (count(db, world.shop_a), count(db, world.shop_b)) == (2, 1)


def test_a_sku_created_meanwhile_stops_the_import(db, world):
    with db.tenant_session(world.shop_a.id) as s:
        checked = csvio.check_import(s, csvio.read_csv(csv_bytes([row("MC-1", 1)])))
        create_product(
            s,
            actor=user_actor(world.shop_admin_a),
            data={"sku": "MC-1", "name": "x", "price_yen": 1},
        )
        with pytest.raises(csvio.ImportConflict):
            csvio.import_products(s, actor=user_actor(world.shop_admin_a), check=checked)


def test_import_in_chunks_reports_progress(db, world):
    data = csv_bytes([row(f"MC-{n}", n) for n in range(1, 8)])
    seen = []
    with db.tenant_session(world.shop_a.id) as s:
        checked = csvio.check_import(s, csvio.read_csv(data), progress=lambda d, t: None)
        csvio.import_products(
            s,
            actor=user_actor(world.shop_admin_a),
            check=checked,
            chunk=3,
            progress=lambda done, total: seen.append((done, total)),
        )
    assert seen == [(3, 8), (6, 8), (7, 8), (8, 8)]
    assert count(db, world.shop_a) == 7


# -- exporting ------------------------------------------------------------------------------


def export(db, shop, **kw) -> bytes:
    with db.tenant_session(shop.id) as s:
        return b"".join(csvio.export_csv(s, **kw))


def test_export_neutralises_formulas_and_reads_back_unchanged(db, world):
    actor = user_actor(world.shop_admin_a)
    names = ['=HYPERLINK("http://x")', "+81 お茶", "-割引品", "@SUM(A1)", "普通の名前"]
    with db.tenant_session(world.shop_a.id) as s:
        for n, name in enumerate(names):
            create_product(
                s,
                actor=actor,
                data={
                    "sku": f"-X{n}" if n == 2 else f"X{n}",
                    "name": name,
                    "price_yen": 100,
                    "sale_starts_at": "2026-12-01 10:00",
                },
            )
    data = export(db, world.shop_a)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == [c.ja for c in csvio.COLUMNS]
    assert [r[2] for r in rows[1:]] == [
        '\'=HYPERLINK("http://x")',
        "'+81 お茶",
        "'-割引品",
        "'@SUM(A1)",
        "普通の名前",
    ]
    assert rows[3][0] == "'-X2" and rows[1][6] == "2026-12-01 10:00"
    again = check(db, world.shop_a, data)
    assert again.ok and again.unchanged_count == 5, errors_of(again)


def test_export_in_cp932_and_with_english_headers(db, world):
    run_import(db, world, world.shop_a, csv_bytes([row("MC-1", 1, 商品名="抹茶 🍵 缶")]))
    data = export(db, world.shop_a, encoding="cp932", language="en")
    text = data.decode("cp932")
    assert text.splitlines()[0].startswith("sku,jan,name,name_en,price_yen")
    assert "抹茶 〓 缶" in text and "ambient" in text and ",true," in text


def test_export_holds_only_the_shops_products(db, world):
    run_import(db, world, world.shop_a, csv_bytes([row("MC-A", 1)]))
    run_import(db, world, world.shop_b, csv_bytes([row("MC-B", 2)]))
    text = export(db, world.shop_b).decode("utf-8-sig")
    assert "MC-B" in text and "MC-A" not in text


# -- the fast validator keeps the schema's rules ---------------------------------------------

CORPUS = {
    "sku": ["A-1", "ａ-1", " A-1 ", "A 1", "", "x" * 64, "x" * 65, "商品", "A_1./b", "-A"],
    "jan": [
        jan(1),
        jan(1)[:-1] + "0",
        "49123456",
        "4912345",
        "４９１２３４５６",
        "",
        None,
        "45-69",
    ],
    "name": ["抹茶", " 抹茶 ", "ﾏｯﾁｬ", "a\tb", "", "x" * 200, "x" * 201, "ｘ", "a\u3000b"],
    "name_en": ["Matcha", "", " x", "ｍａｔｃｈａ"],
    "price_yen": ["0", "1,200", "１２００", "-1", "1.5", "", "100000001", "9" * 19, " 5"],
    "tax_rate": ["10", "8", "8%", "５", "10.0"],
    "sale_starts_at": ["2026-12-01 10:00", "2026/12/01 10:00", "2026-12-01T01:00Z", "soon", None],
    "status": ["draft", "ACTIVE", "sold"],
    "length_mm": ["1", "3000", "3001", "0", None, "１０"],
    "weight_g": ["1", "0", "1000000", None],
    "temperature_zone": ["ambient", "Chilled", "cold"],
    "lot_tracked": ["はい", "no", "", "maybe", "TRUE"],
    "case_quantity": ["1", "0", None],
    "case_itf14": [itf14_for(jan(1), 1), "14569951116175", "", None],
    "barcodes": ["A1", "A1,B2", "A1, B2", "A1\nB2", "A1,A1", ",".join(f"C{n}" for n in range(21))]
    + ["x" * 33, "ｘ１", "", "-A"],
}


def _schema_says(data: dict):
    try:
        return load_product(data, zone="Asia/Tokyo"), {}
    except ValidationError as exc:
        return None, exc.messages


def test_the_row_loader_agrees_with_load_product_on_every_value():
    loader = csvio.RowLoader("Asia/Tokyo")
    base = {"sku": "A-1", "name": "抹茶", "price_yen": "100"}
    for name, values in CORPUS.items():
        for value in values:
            data = {**base, name: value}
            values_, errors = loader.load(data)
            expected, messages = _schema_says(data)
            if messages:
                assert errors == messages, (name, value)
            else:
                assert (values_, errors) == (expected, {}), (name, value)


@pytest.mark.parametrize(
    "data",
    [
        {"sku": "A-1", "name": "", "price_yen": "-1"},  # the name rule waits for the fields
        {"sku": "A-1", "name": " ", "price_yen": "1"},
        {"sku": "", "name": "", "price_yen": ""},
        {"sku": "A-1", "name": "x", "price_yen": "1", "tax_rate": "8", "jan": "4912345"},
    ],
)
def test_the_row_loader_agrees_with_load_product_on_whole_rows(data):
    values, errors = csvio.RowLoader("Asia/Tokyo").load(data)
    expected, messages = _schema_says(data)
    assert (values if not errors else None, errors) == (expected, messages)


def test_the_fast_paths_agree_with_the_fields_on_random_input():
    rng = random.Random(20261127)
    loader = csvio.RowLoader("Asia/Tokyo")
    alphabet = string.ascii_letters + string.digits + "-_./, ０１ａ抹茶ｶﾞ\t" + "\u3000"
    for _ in range(3_000):
        length = rng.choice([0, 1, 2, 8, 13, 14, 20, 40])
        value = "".join(rng.choice(alphabet) for _ in range(length))
        if rng.random() < 0.3:
            digits = "".join(rng.choice(string.digits) for _ in range(rng.choice([8, 12, 13])))
            value = digits + (str(gtin_check_digit(digits)) if rng.random() < 0.5 else "")
        for name in loader.fast:
            fast = loader.load_column(name, [value])[0]
            try:
                expected = loader.fields[name].deserialize(value, name, None)
            except ValidationError as exc:
                assert isinstance(fast, csvio._Failed) and fast.messages == exc.messages, (
                    name,
                    value,
                )
            else:
                assert fast == expected, (name, value)


def test_gtin_ok_is_the_check_digit_rule():
    rng = random.Random(7)
    for _ in range(2_000):
        code = "".join(rng.choice(string.digits) for _ in range(rng.choice([8, 13, 14])))
        assert csvio.gtin_ok(code) == (gtin_problem(code, (8, 13, 14)) is None), code


def test_formula_guards_are_taken_off_on_import(db, world):
    data = csv_bytes([row("'-MC-1", 1, 商品名="'=抹茶")])
    checked = check(db, world.shop_a, data)
    assert checked.ok and (checked.rows[0].sku, checked.rows[0].values["name"]) == (
        "-MC-1",
        "=抹茶",
    )


def test_a_naive_sale_start_is_read_in_the_shops_zone(db, world):
    data = csv_bytes(
        [row("MC-1", 1, 販売開始日時="2026-12-01 10:00")], header=[*HEADER, "販売開始日時"]
    )
    checked = check(db, world.shop_a, data, zone="Asia/Tokyo")
    assert checked.rows[0].values["sale_starts_at"] == datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
