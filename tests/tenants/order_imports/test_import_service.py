"""A cart's file checked whole, then imported all at once (or only its valid orders), with
the order service's own checks; the same file again changes nothing; shop B sees none."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.tenants.orders.conftest import OPERATOR, tokyo
from urakata.platform.audit import AuditEvent
from urakata.platform.csvfiles import CsvUnreadable
from urakata.tenants.orders.imports import service
from urakata.tenants.orders.imports.service import (
    ImportInvalid,
    check_file,
    import_file,
    import_orders,
)
from urakata.tenants.orders.models import Order

from .conftest import sample

NOW = tokyo(2026, 11, 20, 15, 0)


def _check(db, shop, key, data):
    with db.tenant_session(shop.id) as s:
        return check_file(s, key, data, zone="Asia/Tokyo")


@pytest.fixture(params=["checked", "in_one_go"])
def way(request, monkeypatch):
    """Each import runs both ways: checked, then imported (the portal's check, then
    ``import_orders``), and in one go (the job's ``import_file``), its check in a second
    process handing the orders out two at a time while they are taken in."""
    if request.param == "in_one_go":
        monkeypatch.setattr(service, "FORK_BYTES", 0)
        monkeypatch.setattr(service, "INTAKE_BATCH", 2)
    return request.param


def _import(way, db, shop, key, data, **kwargs):
    with db.tenant_session(shop.id) as s:
        if way == "in_one_go":
            return import_file(s, actor=OPERATOR, format_key=key, data=data, zone="Asia/Tokyo",
                               filename="orders.csv", now=NOW, **kwargs)  # fmt: skip
        check = check_file(s, key, data, zone="Asia/Tokyo")
        return check, import_orders(s, actor=OPERATOR, check=check, filename="orders.csv",
                                    now=NOW, **kwargs)  # fmt: skip


def _orders(db, shop) -> dict[str, Order]:
    with db.tenant_session(shop.id) as s:
        return {o.external_id: o for o in s.scalars(select(Order))}


def _events(db, shop) -> list[str]:
    with db.tenant_session(shop.id) as s:
        return list(s.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))


@pytest.mark.parametrize(
    "key, name, count",
    [("shopify", "shopify_orders.csv", 3), ("rakuten", "rakuten_orders.csv", 2),
     ("amazon", "amazon_orders.txt", 2), ("generic", "generic_orders.csv", 2)],
)  # fmt: skip
def test_each_sample_file_imports_cleanly_into_one_shop_only(way, db, shops, key, name, count):
    shop_a, shop_b = shops
    check, done = _import(way, db, shop_a, key, sample(name))
    assert check.ok and done.created == count and done.existing == 0
    orders = _orders(db, shop_a)
    assert len(orders) == count and _orders(db, shop_b) == {}
    assert {o.channel for o in orders.values()} == {check.format.channel}
    # The same file again: nothing new, and it says how many were there already.
    again, second = _import(way, db, shop_a, key, sample(name))
    assert (second.created, second.existing) == (0, count)
    assert len(_orders(db, shop_a)) == count


def test_the_orders_get_the_same_checks_and_states_as_the_api(way, db, shops):
    shop_a, _ = shops
    _import(way, db, shop_a, "shopify", sample("shopify_orders.csv"))
    orders = _orders(db, shop_a)
    assert orders["#2001"].status == "released"  # paid by card
    assert orders["#2002"].status == "confirmed"  # bank transfer, not paid yet
    assert orders["#2001"].ship_by_date is not None
    assert orders["#2001"].ordered_at == tokyo(2026, 11, 20, 10, 15, 30)
    assert orders["#2002"].ship_postal_code == "1500001" and orders["#2002"].ship_prefecture == "13"
    assert [line.tax_rate for line in orders["#2001"].lines] == [8, 8]  # from the catalog


def test_the_ledger_gets_one_import_event_and_each_orders_moves(way, db, shops):
    shop_a, _ = shops
    before = len(_events(db, shop_a))
    _import(way, db, shop_a, "amazon", sample("amazon_orders.txt"))
    actions = _events(db, shop_a)[before:]
    assert actions[0] == "orders.imported"
    assert actions.count("order.received") == 2
    with db.tenant_session(shop_a.id) as s:
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "orders.imported"))
    assert event.payload["data"]["created"] == 2 and event.payload["data"]["format"] == "amazon"


def _broken_generic() -> bytes:
    lines = sample("generic_orders.csv").decode().splitlines()
    bad = lines[3].replace(",1,5500", ",-1,5500")
    return "\n".join([lines[0], lines[1], lines[2], bad]).encode()


def test_errors_name_row_and_column_and_nothing_is_imported(db, shops):
    shop_a, _ = shops
    check = _check(db, shop_a, "generic", _broken_generic())
    assert not check.ok
    assert [(e.row, e.column, e.field) for e in check.errors] == [(4, "数量", "lines[0].quantity")]
    assert "1 to" in str(check.errors[0].message) or "1" in str(check.errors[0].message.params)
    assert check.invalid == {"TEL-20261120-0002"}
    with pytest.raises(ImportInvalid), db.tenant_session(shop_a.id) as s:
        import_orders(s, actor=OPERATOR, check=check, filename="x.csv", now=NOW)
    assert _orders(db, shop_a) == {}


def test_only_the_valid_orders_when_the_user_says_so_and_the_ledger_says_so(way, db, shops):
    shop_a, _ = shops
    check, done = _import(way, db, shop_a, "generic", _broken_generic(), only_valid=True)
    assert (done.created, done.skipped_invalid) == (1, 1)
    assert set(_orders(db, shop_a)) == {"TEL-20261120-0001"}
    with db.tenant_session(shop_a.id) as s:
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "orders.imported"))
    assert event.payload["data"]["only_valid"] is True
    assert event.payload["data"]["invalid"] == 1


def test_an_unknown_sku_is_a_hold_not_an_error(way, db, shops):
    shop_a, _ = shops
    data = sample("generic_orders.csv").decode().replace("HT-KYU-TOK", "HT-NOPE-1").encode()
    check, done = _import(way, db, shop_a, "generic", data)
    assert check.ok and done.held == 1
    assert _orders(db, shop_a)["TEL-20261120-0002"].hold_codes == ["sku_unknown"]


@pytest.mark.parametrize(
    "data, says",
    [
        (b"", "empty"),
        ("注文番号,SKU\n".encode(), "no order rows"),
        (b"\x00\x01\x02binary\xff\xfe", "neither UTF-8"),
        ('注文番号,SKU\n"TEL-1,HT-SEN-100\n'.encode(), "quotes"),
    ],
)
def test_unreadable_files_say_why(db, shops, data, says):
    shop_a, _ = shops
    with pytest.raises(CsvUnreadable) as caught:
        _check(db, shop_a, "generic", data)
    assert says in str(caught.value.message)


def test_a_file_over_the_limit_is_refused_before_reading(db, shops, monkeypatch):
    shop_a, _ = shops
    monkeypatch.setattr(service, "MAX_BYTES", 100)
    with pytest.raises(CsvUnreadable) as caught:
        _check(db, shop_a, "generic", sample("generic_orders.csv"))
    assert "at most" in str(caught.value.message)


def test_bom_crlf_and_mixed_line_endings_read_alike(db, shops):
    shop_a, _ = shops
    lines = sample("generic_orders.csv").decode().splitlines()
    mixed = ("\ufeff" + lines[0] + "\r\n" + lines[1] + "\n" + lines[2] + "\r\n" + lines[3]).encode()
    check = _check(db, shop_a, "generic", mixed)
    assert check.ok and check.encoding == "utf-8-sig" and len(check.orders) == 2


def test_formula_looking_cells_are_kept_as_text_not_run(way, db, shops):
    shop_a, _ = shops
    data = sample("generic_orders.csv").decode().replace("電話注文", '=HYPERLINK("x")').encode()
    _import(way, db, shop_a, "generic", data)
    assert _orders(db, shop_a)["TEL-20261120-0001"].notes == '=HYPERLINK("x")'


def test_the_same_number_in_the_other_shop_is_that_shops_own_order(way, db, shops):
    shop_a, shop_b = shops
    _import(way, db, shop_a, "rakuten", sample("rakuten_orders.csv"))
    _check_b, done = _import(way, db, shop_b, "rakuten", sample("rakuten_orders.csv"))
    assert (done.created, done.existing) == (2, 0)  # shop A's orders are not "existing" for B
    with db.tenant_session(shop_b.id) as s:
        assert s.scalar(select(func.count()).select_from(Order)) == 2


def test_a_discount_over_the_total_is_an_error_of_the_file(way, db, shops):
    """The order service's rule across fields is applied where the file is checked: the
    error names the row and column, and nothing is imported until the file is fixed."""
    shop_a, _ = shops
    data = sample("generic_orders.csv").decode().replace(",0,500,,HT-KYU", ",0,9999,,HT-KYU")
    check = _check(db, shop_a, "generic", data.encode())
    assert [(e.row, e.column, e.field) for e in check.errors] == [(4, "値引き", "discount_yen")]
    assert "9,999" in str(check.errors[0].message) and check.invalid == {"TEL-20261120-0002"}
    with pytest.raises(ImportInvalid) as caught:
        _import(way, db, shop_a, "generic", data.encode())
    assert [(e.row, e.column) for e in caught.value.errors] == [(4, "値引き")]
    assert _orders(db, shop_a) == {}
    _c, done = _import(way, db, shop_a, "generic", data.encode(), only_valid=True)
    assert (done.created, done.skipped_invalid) == (1, 1)


def test_the_same_order_twice_in_one_file_holds_the_second_as_a_duplicate(way, db, shops):
    """A batch sees its own earlier orders, as one order at a time would."""
    shop_a, _ = shops
    lines = sample("generic_orders.csv").decode().splitlines()
    again = lines[3].replace("TEL-20261120-0002", "TEL-20261120-0003")
    data = "\n".join([*lines, again]).encode()
    _c, done = _import(way, db, shop_a, "generic", data)
    assert (done.created, done.held) == (3, 1)
    orders = _orders(db, shop_a)
    assert orders["TEL-20261120-0003"].hold_codes == ["duplicate"]
    assert orders["TEL-20261120-0002"].hold_codes == []


def test_a_batch_keeps_the_order_of_the_file_and_the_clock_of_each_order(
    way, db, shops, monkeypatch
):
    shop_a, _ = shops
    monkeypatch.setattr(service, "INTAKE_BATCH", 2)  # several batches for a small file
    _import(way, db, shop_a, "shopify", sample("shopify_orders.csv"))
    orders = _orders(db, shop_a)
    ids = [orders[n].id for n in ("#2001", "#2002", "#2003")]
    assert ids == sorted(ids)
    assert [(line.line_no, line.sku) for line in orders["#2001"].lines] == [
        (1, "HT-SEN-100"), (2, "HT-GYO-50")]  # fmt: skip
    assert orders["#2003"].ship_by_date is not None and orders["#2002"].ship_by_date is None


def test_each_confirmed_order_of_a_file_gets_its_confirmation_mail_queued_once(db, shops):
    from urakata.platform.outbox import OutboxMessage
    from urakata.tenants.orders import confirmation

    shop_a, shop_b = shops
    with db.tenant_session(shop_a.id) as s:
        check = check_file(s, "shopify", sample("shopify_orders.csv"), zone="Asia/Tokyo")
        import_orders(s, actor=OPERATOR, check=check, filename="orders.csv")  # taken in now
    orders = _orders(db, shop_a)
    confirmed = {o.id for o in orders.values() if o.confirmed_at is not None}
    assert confirmed
    with db.session() as s:
        queued = s.scalars(select(OutboxMessage).where(OutboxMessage.job == confirmation.JOB))
        by_shop = [(m.shop_id, m.args["order_id"], m.args["reason"]) for m in queued]
    assert sorted(by_shop) == sorted((shop_a.id, order_id, "confirmed") for order_id in confirmed)
    assert all(shop != shop_b.id for shop, _order, _reason in by_shop)


def _many_generic(count: int, bad_at: int | None = None) -> bytes:
    """``count`` generic orders; with ``bad_at``, that order's quantity is -1."""
    lines = sample("generic_orders.csv").decode().splitlines()
    rows = []
    for n in range(count):
        row = lines[1].replace("TEL-20261120-0001", f"TEL-{n:04d}").replace("@", f"+{n}@", 1)
        rows.append(row.replace(",1,2160", ",-1,2160") if n == bad_at else row)
    return "\n".join([lines[0], *rows]).encode()


def test_in_one_go_an_error_in_the_last_piece_lists_every_error_and_writes_nothing(
    db, shops, monkeypatch
):
    """The first pieces were written by the time the error came: the savepoint takes them
    back, the session stays usable, and the other shop never saw anything."""
    shop_a, shop_b = shops
    monkeypatch.setattr(service, "FORK_BYTES", 0)
    monkeypatch.setattr(service, "INTAKE_BATCH", 2)
    data = _many_generic(7, bad_at=6)
    assert b",1,2160" in data and b",-1,2160" in data
    with db.tenant_session(shop_a.id) as s:
        with pytest.raises(ImportInvalid) as caught:
            import_file(s, actor=OPERATOR, format_key="generic", data=data, zone="Asia/Tokyo",
                        filename="x.csv", now=NOW)  # fmt: skip
        assert s.scalar(select(func.count()).select_from(Order)) == 0
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action.like("order%"))) == 0  # fmt: skip
    assert [(e.row, e.field) for e in caught.value.errors] == [(8, "lines[0].quantity")]
    assert caught.value.check.lines == 7 and caught.value.check.order_count == 7
    assert _orders(db, shop_a) == {} and _orders(db, shop_b) == {}
    # Only the valid orders, on request: the six before it.
    _c, done = _import("in_one_go", db, shop_a, "generic", data, only_valid=True)
    assert (done.created, done.skipped_invalid) == (6, 1)
    assert sorted(_orders(db, shop_a)) == [f"TEL-{n:04d}" for n in range(6)]


def test_in_one_go_the_checking_process_says_why_a_file_is_unreadable(db, shops, monkeypatch):
    shop_a, _ = shops
    monkeypatch.setattr(service, "FORK_BYTES", 0)
    with pytest.raises(CsvUnreadable) as caught, db.tenant_session(shop_a.id) as s:
        broken = '注文番号,SKU\n"TEL-1,HT-SEN-100\n'.encode()
        import_file(s, actor=OPERATOR, format_key="generic", zone="Asia/Tokyo", data=broken,
                    filename="x.csv")  # fmt: skip
    assert "quotes" in str(caught.value.message)
    assert caught.value.message.msgid.startswith("The file is not valid CSV")  # translatable


def test_an_order_repeated_with_other_details_is_left_out_with_only_the_valid(way, db, shops):
    """Not taken in with its first row's lines only: the order is in error as a whole."""
    shop_a, _ = shops
    lines = sample("generic_orders.csv").decode().splitlines()
    changed = lines[2].replace("渡辺 恵子,ワタナベ", "渡辺 恵太,ワタナベ", 1)
    data = "\n".join([lines[0], lines[1], changed, lines[3]]).encode()
    check, done = _import(way, db, shop_a, "generic", data, only_valid=True)
    assert [(e.row, e.field) for e in check.errors] == [(3, "external_id")]
    assert (done.created, done.skipped_invalid) == (1, 1)
    assert set(_orders(db, shop_a)) == {"TEL-20261120-0002"}


def test_in_one_go_matches_checked_then_imported(db, world, monkeypatch):
    """The same file both ways, one per shop: the same orders, holds, totals, lines and
    ledger actions (a duplicate across pieces, an unknown SKU, a repeat of a number the
    shop has)."""
    from tests.tenants.order_imports.conftest import add_sample_products

    add_sample_products(db, world.shop_a)
    add_sample_products(db, world.shop_b)
    lines = sample("generic_orders.csv").decode().splitlines()
    again = lines[3].replace("TEL-20261120-0002", "TEL-20261120-0003")
    unknown = lines[1].replace("TEL-20261120-0001", "TEL-20261120-0004").replace(
        "HT-GYO-50", "HT-NOPE-1")  # fmt: skip
    data = "\n".join([*lines, again, unknown]).encode()
    first = "\n".join(lines[:2]).encode()
    figures = {}
    for way, shop in (("checked", world.shop_a), ("in_one_go", world.shop_b)):
        if way == "in_one_go":
            monkeypatch.setattr(service, "FORK_BYTES", 0)
            monkeypatch.setattr(service, "INTAKE_BATCH", 1)
        _import(way, db, shop, "generic", first)
        _c, done = _import(way, db, shop, "generic", data)
        orders = _orders(db, shop)
        figures[way] = (
            done,
            {n: (o.status, o.hold_codes, o.total_yen, [(li.sku, li.quantity) for li in o.lines])
             for n, o in orders.items()},
            [a for a in _events(db, shop) if a.startswith("order")],
        )  # fmt: skip
    assert figures["checked"] == figures["in_one_go"]
    done, orders, _actions = figures["checked"]
    assert (done.created, done.existing, done.held) == (3, 1, 2)
    assert orders["TEL-20261120-0003"][1] == ["duplicate"]
    assert "sku_unknown" in orders["TEL-20261120-0004"][1]
