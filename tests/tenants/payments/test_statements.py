"""Reading a bank statement: the encodings and column names banks use, withdrawals and
deposits seen before skipped, and every problem named by row and column with nothing
imported."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from tests.tenants.payments.conftest import statement_csv, take, tokyo, upload
from urakata.platform.csvfiles import CsvUnreadable
from urakata.tenants.payments import statements
from urakata.tenants.payments.models import BankStatement, BankStatementLine

TODAY = date(2026, 6, 3)


def read(data: bytes):
    return statements.read_statement(data, today=TODAY)


@pytest.mark.parametrize("encoding", ["cp932", "utf-8", "utf-8-sig"])
def test_a_statement_reads_in_shift_jis_and_utf8(encoding):
    parsed = read(
        statement_csv(
            ("2026/06/01", "3,260", "ﾔﾏﾀﾞ ﾀﾛｳ"), ("2026/06/01", "-5000", "ﾃｽｳﾘﾖｳ"), encoding=encoding
        )
    )
    assert parsed.encoding == encoding
    assert [(d.row, d.value_date, d.amount_yen, d.remitter) for d in parsed.deposits] == [
        (2, date(2026, 6, 1), 3_260, "ﾔﾏﾀﾞ ﾀﾛｳ")
    ]
    assert parsed.withdrawals == 1


def test_banks_column_names_and_formats():
    data = (
        "お取引日\tお預入金額\tお引出金額\t摘要\t差引残高\tメモ\r\n"
        "令和8年6月1日\t¥12,000\t\tﾌﾘｺﾐ ｶ)ﾔﾏﾀﾞｼﾖｳｼﾞ\t100000\tx\r\n"
        "R08.06.02\t１，０８０円\t\t振込　サトウ　ハナコ\t101080\t\r\n"
        "20260603\t5000.00\t\tﾘｿｸ\t106080\t\r\n"
    ).encode()
    parsed = read(data)
    assert [(d.value_date.isoformat(), d.amount_yen) for d in parsed.deposits] == [
        ("2026-06-01", 12_000),
        ("2026-06-02", 1_080),
        ("2026-06-03", 5_000),
    ]
    assert [d.name.name for d in parsed.deposits] == ["ヤマダシヨウジ", "サトウハナコ", "リソク"]
    assert parsed.ignored_columns == ["メモ"]


def test_one_signed_amount_column_with_a_deposit_withdrawal_column():
    data = (
        "日付,区分,金額,振込依頼人名\r\n"
        "2026-06-01,入金,3260,ﾔﾏﾀﾞ ﾀﾛｳ\r\n"
        "2026-06-01,出金,800,ｿｳｷﾝ\r\n"
    )
    parsed = read(data.encode("cp932"))
    assert [d.amount_yen for d in parsed.deposits] == [3_260] and parsed.withdrawals == 1


def _errors(data: bytes) -> list[tuple[int, str, str]]:
    with pytest.raises(statements.StatementInvalid) as refused:
        read(data)
    return [(e.row, e.column, str(e.message)) for e in refused.value.errors]


def test_bad_rows_are_named_by_row_and_column():
    errors = _errors(
        statement_csv(
            ("2026/06/01", "3,260", "ﾔﾏﾀﾞ ﾀﾛｳ"),
            ("2026/02/30", "1000", "ｻﾄｳ"),  # no such day
            ("2026/06/01", "12.5", "ｽｽﾞｷ"),  # not whole yen
            ("2026/06/01", "abc", "ﾀﾅｶ"),
            ("2026/06/01", "0", "ｲﾄｳ"),
            ("2026/12/24", "500", "ﾐﾗｲ"),  # in the future
            ("2026/06/01", "", ""),  # neither a deposit nor a withdrawal
        )
    )
    assert [(row, column) for row, column, _m in errors] == [
        (3, "取引日"),
        (4, "入金額"),
        (5, "入金額"),
        (6, "入金額"),
        (7, "取引日"),
        (8, "入金額"),
    ]
    assert "2026/02/30 is not a date" in errors[0][2]
    assert "2026-12-24 is in the future" in errors[4][2]


def test_a_file_that_is_no_statement_is_refused_as_a_whole():
    products = "商品コード,商品名,販売価格\r\nTEA-001,煎茶,1080\r\n".encode("cp932")
    assert _errors(products)[0][:2] == (1, "商品コード")
    missing = "取引日,入金額\r\n2026/06/01,1000\r\n".encode("cp932")
    assert _errors(missing) == [(1, "振込依頼人名", "The required column 振込依頼人名 is missing.")]
    with pytest.raises(CsvUnreadable):
        read(b"\x00\x01\x02\xff\xfe binary")
    with pytest.raises(CsvUnreadable):
        read(b"")
    with pytest.raises(CsvUnreadable):
        read("取引日,入金額,振込依頼人名\r\n".encode())  # a header and nothing else


def test_a_long_remitter_is_refused_not_cut():
    errors = _errors(statement_csv(("2026/06/01", "1000", "ｱ" * 101)))
    assert errors == [(2, "振込依頼人名", "Use at most 100 characters (this has 101).")]


def test_nothing_is_imported_from_a_file_with_one_bad_row(db, shop, clock):
    take(db, shop)
    data = statement_csv(("2026/06/01", "3,260", "ﾔﾏﾀﾞ ﾀﾛｳ"), ("2026/06/01", "x", "ｻﾄｳ"))
    with pytest.raises(statements.StatementInvalid):
        upload(db, shop, data)
    with db.tenant_session(shop.id) as s:
        assert s.scalar(select(func.count()).select_from(BankStatement)) == 0
        assert s.scalar(select(func.count()).select_from(BankStatementLine)) == 0


def test_an_overlapping_statement_imports_each_deposit_once(db, shop, clock):
    first = upload(
        db,
        shop,
        statement_csv(("2026/06/01", "1000", "ｻﾄｳ ﾊﾅｺ"), ("2026/06/01", "1000", "ｻﾄｳ ﾊﾅｺ")),
    )
    assert (first.new, first.known) == (2, 0)
    again = upload(
        db,
        shop,
        statement_csv(
            ("2026/06/01", "1000", "ｻﾄｳ ﾊﾅｺ"),
            ("2026/06/01", "1000", "ｻﾄｳ ﾊﾅｺ"),
            ("2026/06/01", "1000", "ｻﾄｳ ﾊﾅｺ"),
            ("2026/06/02", "2000", "ｽｽﾞｷ"),
        ),
    )
    assert (again.new, again.known) == (2, 2)  # the third twin and the new day are new
    same = upload(db, shop, statement_csv(("2026/06/01", "1000", "ｻﾄｳ ﾊﾅｺ")))
    assert (same.statement, same.new, same.known) == (None, 0, 1)


def test_a_bank_reference_identifies_a_deposit(db, shop, clock):
    header = "取引日,入金額,出金額,振込依頼人名,取引番号"
    rows = "\r\n".join([header, "2026/06/01,1000,,ｻﾄｳ,A1", "2026/06/01,1000,,ｻﾄｳ,A2"]) + "\r\n"
    assert upload(db, shop, rows.encode("cp932")).new == 2
    assert upload(db, shop, rows.encode("cp932")).new == 0


def test_statements_and_deposits_are_the_shops_own(db, shop, world, clock):
    data = statement_csv(("2026/06/01", "1000", "ｻﾄｳ ﾊﾅｺ"))
    mine = upload(db, shop, data)
    theirs = upload(db, world.shop_b, data)  # the same deposit in another shop's account
    assert theirs.new == 1
    with db.tenant_session(world.shop_b.id) as s:
        rows, _next = statements.list_statements(s)
        assert [r.statement.id for r in rows] == [theirs.statement.id]
        assert statements.statement_lines(s, mine.statement.id) == []
        assert statements.review_count(s) == 1


def test_a_deposit_list_shows_the_review_reason(db, shop, clock):
    result = upload(
        db, shop, statement_csv(("2026/06/01", "1000", "ﾀﾞﾚｶ")), now=tokyo(2026, 6, 2, 9, 0)
    )
    with db.tenant_session(shop.id) as s:
        (line,) = statements.review_queue(s)
    assert (line.statement_id, line.review_reason, line.status) == (
        result.statement.id,
        "unknown",
        "review",
    )
