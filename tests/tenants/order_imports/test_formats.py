"""Each cart's file read into order bodies, with every field traced to its row and column."""

from __future__ import annotations

from urakata.platform.csvfiles import decode
from urakata.tenants.orders.imports.formats import FORMATS, iter_orders, read_orders, split_city
from urakata.tenants.orders.imports.service import read_file
from urakata.tenants.orders.schemas import load_order

from .conftest import sample


def _read(key: str, name: str):
    _encoding, _sha, header, records = read_file(sample(name))
    return read_orders(FORMATS[key], header, records)


def test_shopify_rows_of_one_order_make_one_order_with_its_lines():
    orders, errors = _read("shopify", "shopify_orders.csv")
    assert errors == []
    assert [o.external_id for o in orders] == ["#2001", "#2002", "#2003"]
    first = orders[0]
    assert first.rows == [2, 3] and first.channel == "shopify"
    assert [(line["sku"], line["unit_price_yen"]) for line in first.body["lines"]] == [
        ("HT-SEN-100", 1080), ("HT-GYO-50", 2160)]  # fmt: skip
    assert first.body["ship_to"]["postal_code"] == "100-0001"  # the text guard ' is gone
    assert first.body["ordered_at"] == "2026-11-20 10:15:30+09:00"
    assert (first.body["payment_method"], first.body["payment_status"]) == ("card", "paid")
    second = orders[1]
    assert (second.body["payment_method"], second.body["payment_status"]) == (
        "bank_transfer", "unpaid")  # fmt: skip
    assert second.body["shipping_fee_yen"] == 660 and second.body["total_yen"] == 1956
    values = load_order({**second.body, "channel": "shopify"})
    assert values["ship_to"]["street"] == "神宮前4-5-6"  # full-width digits normalised
    assert values["ship_to"]["prefecture"] == "13"
    assert second.cell_of("lines[0].quantity") == (4, "Lineitem quantity")
    assert second.cell_of("ship_to.postal_code") == (4, "Shipping Zip")


def test_rakuten_cp932_is_read_and_split_fields_joined():
    assert decode(sample("rakuten_orders.csv"))[1] == "cp932"
    orders, errors = _read("rakuten", "rakuten_orders.csv")
    assert errors == []
    card, cod = orders
    assert card.external_id == "301234-20261120-0000000101" and len(card.body["lines"]) == 2
    assert card.body["ship_to"]["postal_code"] == "530-0001"
    assert card.body["customer"]["kana"] == "コバヤシ マコト"
    assert card.body["ship_to"]["phone"] == "090-3333-4444"
    assert (card.body["payment_status"], card.body["noshi"], card.body["gift_wrap"]) == (
        "authorized", "御歳暮", True)  # fmt: skip
    assert (cod.body["payment_method"], cod.body["fee_yen"], cod.body["delivery_date"]) == (
        "cod", 330, "2026-11-25")  # fmt: skip
    assert cod.cell_of("ship_to.prefecture") == (4, "送付先住所：都道府県")


def test_amazon_report_pending_waits_and_address_one_holding_the_city_is_split():
    orders, errors = _read("amazon", "amazon_orders.txt")
    assert errors == []
    paid, pending = orders
    assert paid.external_id == "250-1234567-7654321" and paid.channel == "amazon"
    assert [(line["quantity"], line["unit_price_yen"]) for line in paid.body["lines"]] == [
        ("2", 1620), ("1", 756)]  # fmt: skip
    assert paid.body["ship_to"]["building"] == "グランフロント 12F"
    assert (pending.body["payment_method"], pending.body["payment_status"]) == ("card", "unpaid")
    assert (pending.body["ship_to"]["city"], pending.body["ship_to"]["street"]) == (
        "千代田区", "千代田1-1")  # fmt: skip
    assert pending.body["shipping_fee_yen"] == 500


def test_split_city_leaves_an_unknown_city_to_the_schema():
    assert split_city("100-0001", "千代田区千代田1-1") == ("千代田区", "千代田1-1")
    assert split_city("100-0001", "どこか1-1") == ("", "どこか1-1")
    assert split_city("not a code", "千代田区千代田1-1") == ("", "千代田区千代田1-1")


def test_generic_template_with_japanese_headers():
    orders, errors = _read("generic", "generic_orders.csv")
    assert errors == []
    phone_order, web = orders
    assert phone_order.channel == "csv" and len(phone_order.body["lines"]) == 2
    values = load_order({**phone_order.body, "channel": "csv"})
    assert values["ship_to"]["postal_code"] == "100-0001"  # １００－０００１ read as digits
    assert (values["gift_wrap"], values["noshi"], values["fee_yen"]) == (True, "御歳暮", 330)
    assert web.body["delivery_slot"] == "18-20" and web.body["discount_yen"] == 500


def test_missing_columns_are_named_and_nothing_is_read():
    header = ["Name", "Email", "Lineitem quantity", "Lineitem price"]
    orders, errors = read_orders(FORMATS["shopify"], header, [(2, ["#1", "a@b.jp", "1", "1"])])
    assert orders == []
    assert {e.column for e in errors} == {"Lineitem sku", "Shipping Zip"}
    assert all(e.row == 1 for e in errors)


def test_an_order_number_repeated_with_other_details_is_an_error_on_that_row():
    data = sample("generic_orders.csv").decode("utf-8").splitlines()
    changed = data[2].replace("渡辺 恵子,ワタナベ", "渡辺 恵太,ワタナベ", 1)
    _e, _s, header, records = read_file("\n".join([data[0], data[1], changed]).encode())
    orders, errors = read_orders(FORMATS["generic"], header, records)
    assert [(e.row, e.column, e.field) for e in errors] == [(3, "注文番号", "external_id")]
    assert "row 2" in str(errors[0].message) or "2" in str(errors[0].message.params)
    assert len(orders[0].body["lines"]) == 1


def test_a_row_without_an_order_number_is_named():
    _e, _s, header, records = read_file(
        "注文番号,SKU,数量,単価,送付先郵便番号\n,HT-SEN-100,1,1080,100-0001\n".encode()
    )
    orders, errors = read_orders(FORMATS["generic"], header, records)
    assert orders == [] and [(e.row, e.column) for e in errors] == [(2, "注文番号")]


def test_orders_are_handed_out_in_pieces_in_file_order_once_their_last_row_is_read():
    """An order's rows far apart still make one order, handed out after its last row; the
    orders after it wait for it, so the pieces keep the file's order."""
    _e, _s, header, records = read_file(sample("shopify_orders.csv"))
    first_row, *rest = records  # #2001's first line; its second line goes last
    second_line = next(r for r in rest if r[1][0] == "#2001")
    others = [r for r in rest if r is not second_line]
    moved = [first_row, *others, second_line]
    errors: list = []
    pieces = list(iter_orders(FORMATS["shopify"], header, moved, errors, chunk=1))
    assert errors == []
    assert [[o.external_id for o in piece] for piece in pieces] == [["#2001", "#2002", "#2003"]]
    assert len(pieces[0][0].body["lines"]) == 2
    in_order = list(iter_orders(FORMATS["shopify"], header, records, [], chunk=1))
    assert [[o.external_id for o in piece] for piece in in_order] == [
        ["#2001"], ["#2002"], ["#2003"]]  # fmt: skip
