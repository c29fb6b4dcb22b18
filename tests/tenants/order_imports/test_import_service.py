"""A cart's file checked whole, then imported all at once (or only its valid orders), with
the order service's own checks; the same file again changes nothing; shop B sees none."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.tenants.orders.conftest import OPERATOR, tokyo
from urakata.platform.audit import AuditEvent
from urakata.platform.csvfiles import CsvUnreadable
from urakata.tenants.orders.imports import service
from urakata.tenants.orders.imports.service import ImportInvalid, check_file, import_orders
from urakata.tenants.orders.models import Order

from .conftest import sample

NOW = tokyo(2026, 11, 20, 15, 0)


def _check(db, shop, key, data):
    with db.tenant_session(shop.id) as s:
        return check_file(s, key, data, zone="Asia/Tokyo")


def _import(db, shop, key, data, **kwargs):
    with db.tenant_session(shop.id) as s:
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
def test_each_sample_file_imports_cleanly_into_one_shop_only(db, shops, key, name, count):
    shop_a, shop_b = shops
    check, done = _import(db, shop_a, key, sample(name))
    assert check.ok and done.created == count and done.existing == 0
    orders = _orders(db, shop_a)
    assert len(orders) == count and _orders(db, shop_b) == {}
    assert {o.channel for o in orders.values()} == {check.format.channel}
    # The same file again: nothing new, and it says how many were there already.
    again, second = _import(db, shop_a, key, sample(name))
    assert (second.created, second.existing) == (0, count)
    assert len(_orders(db, shop_a)) == count


def test_the_orders_get_the_same_checks_and_states_as_the_api(db, shops):
    shop_a, _ = shops
    _import(db, shop_a, "shopify", sample("shopify_orders.csv"))
    orders = _orders(db, shop_a)
    assert orders["#2001"].status == "released"  # paid by card
    assert orders["#2002"].status == "confirmed"  # bank transfer, not paid yet
    assert orders["#2001"].ship_by_date is not None
    assert orders["#2001"].ordered_at == tokyo(2026, 11, 20, 10, 15, 30)
    assert orders["#2002"].ship_postal_code == "1500001" and orders["#2002"].ship_prefecture == "13"
    assert [line.tax_rate for line in orders["#2001"].lines] == [8, 8]  # from the catalog


def test_the_ledger_gets_one_import_event_and_each_orders_moves(db, shops):
    shop_a, _ = shops
    before = len(_events(db, shop_a))
    _import(db, shop_a, "amazon", sample("amazon_orders.txt"))
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


def test_only_the_valid_orders_when_the_user_says_so_and_the_ledger_says_so(db, shops):
    shop_a, _ = shops
    check, done = _import(db, shop_a, "generic", _broken_generic(), only_valid=True)
    assert (done.created, done.skipped_invalid) == (1, 1)
    assert set(_orders(db, shop_a)) == {"TEL-20261120-0001"}
    with db.tenant_session(shop_a.id) as s:
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "orders.imported"))
    assert event.payload["data"]["only_valid"] is True
    assert event.payload["data"]["invalid"] == 1


def test_an_unknown_sku_is_a_hold_not_an_error(db, shops):
    shop_a, _ = shops
    data = sample("generic_orders.csv").decode().replace("HT-KYU-TOK", "HT-NOPE-1").encode()
    check, done = _import(db, shop_a, "generic", data)
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


def test_formula_looking_cells_are_kept_as_text_not_run(db, shops):
    shop_a, _ = shops
    data = sample("generic_orders.csv").decode().replace("電話注文", '=HYPERLINK("x")').encode()
    _import(db, shop_a, "generic", data)
    assert _orders(db, shop_a)["TEL-20261120-0001"].notes == '=HYPERLINK("x")'


def test_the_same_number_in_the_other_shop_is_that_shops_own_order(db, shops):
    shop_a, shop_b = shops
    _import(db, shop_a, "rakuten", sample("rakuten_orders.csv"))
    _check_b, done = _import(db, shop_b, "rakuten", sample("rakuten_orders.csv"))
    assert (done.created, done.existing) == (2, 0)  # shop A's orders are not "existing" for B
    with db.tenant_session(shop_b.id) as s:
        assert s.scalar(select(func.count()).select_from(Order)) == 2


def test_a_discount_over_the_total_is_an_error_at_import_too(db, shops):
    shop_a, _ = shops
    data = sample("generic_orders.csv").decode().replace(",0,500,,HT-KYU", ",0,9999,,HT-KYU")
    check = _check(db, shop_a, "generic", data.encode())
    assert check.ok  # a rule across fields: the order service applies it
    # The session rolls back when the import raises, as the job's transaction does.
    with pytest.raises(ImportInvalid) as caught, db.tenant_session(shop_a.id) as s:
        import_orders(s, actor=OPERATOR, check=check, filename="x.csv", now=NOW)
    assert [(e.row, e.column) for e in caught.value.errors] == [(4, "値引き")]
    assert _orders(db, shop_a) == {}
    _c, done = _import(db, shop_a, "generic", data.encode(), only_valid=True)
    assert (done.created, done.skipped_invalid) == (1, 1)


def test_the_same_order_twice_in_one_file_holds_the_second_as_a_duplicate(db, shops):
    """A batch sees its own earlier orders, as one order at a time would."""
    shop_a, _ = shops
    lines = sample("generic_orders.csv").decode().splitlines()
    again = lines[3].replace("TEL-20261120-0002", "TEL-20261120-0003")
    data = "\n".join([*lines, again]).encode()
    _c, done = _import(db, shop_a, "generic", data)
    assert (done.created, done.held) == (3, 1)
    orders = _orders(db, shop_a)
    assert orders["TEL-20261120-0003"].hold_codes == ["duplicate"]
    assert orders["TEL-20261120-0002"].hold_codes == []


def test_a_batch_keeps_the_order_of_the_file_and_the_clock_of_each_order(db, shops, monkeypatch):
    shop_a, _ = shops
    monkeypatch.setattr(service, "INTAKE_BATCH", 2)  # several batches for a small file
    _import(db, shop_a, "shopify", sample("shopify_orders.csv"))
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
