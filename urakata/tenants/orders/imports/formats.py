"""The order files shops download from their carts, read into order bodies.

Each format turns a file's records (one row per order line, as every cart exports them)
into :class:`FileOrder` values: the body the order service takes (``load_order``'s
shape), the rows it came from, and where each field was read (so an error in
``ship_to.postal_code`` or ``lines[1].quantity`` names the file's row and column).

- **Shopify orders CSV** (Admin → Orders → Export): one row per line item; the order's
  columns only on its first row; rows of one order share ``Name`` (#1001).
- **Rakuten RMS-style CSV** (受注データ): one row per item, the order's columns on every
  row, grouped by 受注番号; postal codes and phones split in parts as RMS writes them.
- **Amazon JP order report** (tab-separated): one row per item, grouped by ``order-id``;
  ``Pending`` orders are not paid yet (they wait, unshippable); COD when
  ``cod-collectible-amount`` is set.
- **Generic CSV**: Urakata's own columns (Japanese or English headers), for any other
  cart; a template can be downloaded from the import page.

Nothing here touches the database; the import service checks and writes.
"""

from __future__ import annotations

import re
import unicodedata
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from urakata.platform import jpaddress
from urakata.platform.csvfiles import CellError, header_key
from urakata.platform.fields import N_


@dataclass
class FileOrder:
    """One order of a file: its body, its rows, and where each body field came from."""

    channel: str
    external_id: str
    rows: list[int]
    body: dict
    # Where each body field came from, kept as header keys (named only for an error):
    where: dict[str, tuple[int, str]] = field(default_factory=dict)  # path → (row, key)
    line_cells: list[tuple[int, dict[str, str]]] = field(default_factory=list)  # per line
    headers: dict[str, str] = field(default_factory=dict)  # header key → column name
    values: dict | None = None  # the order schema's values, once the body passed it
    conflicting: bool = False  # a later row has the number with other order details

    def cell_of(self, path: str) -> tuple[int, str]:
        """The (row, column) an error on ``path`` belongs to: the field's own cell, else the
        nearest enclosing field's (``lines[1]`` for ``lines[1].sku``), else the first row."""
        line = _LINE_PATH.match(path)
        if line and int(line[1]) < len(self.line_cells):
            row, keys = self.line_cells[int(line[1])]
            return row, self._column(keys.get(line[2] or "", ""))
        probe = path
        while probe:
            if probe in self.where:
                row, key = self.where[probe]
                return row, self._column(key)
            probe = probe.rpartition(".")[0] if "." in probe else ""
        if line and int(line[1]) < len(self.rows) - 1:
            return self.rows[int(line[1]) + 1], ""
        return self.rows[0], ""

    def _column(self, key: str) -> str:
        return self.headers.get(key, key) if key else ""


_LINE_PATH = re.compile(r"lines\[(\d+)\](?:\.(\w+))?")


@dataclass(frozen=True)
class Format:
    key: str
    label: str  # shown in the portal (translated there)
    channel: str
    required: tuple[str, ...]  # the columns every file of the format has
    group_by: str  # the header key whose value is the order id


class Header:
    """A file's header, its keys worked out once (not once for every cell of every row)."""

    def __init__(self, names: Sequence[str]):
        self.keys = [header_key(h) for h in names]
        self.names = dict(zip(self.keys, names, strict=True))


class Row:
    """One record with its header: cells by header key, and the column names to quote."""

    def __init__(self, number: int, header: Header, cells: Sequence[str]):
        self.number = number
        self.headers = header.names
        if len(cells) < len(header.keys):
            cells = [*cells, *[""] * (len(header.keys) - len(cells))]
        self.cells = dict(zip(header.keys, cells, strict=False))

    def get(self, key: str) -> str:
        cell = self.cells.get(key, "").strip()  # as _clean, inline: read for every field
        return cell[1:] if cell[:1] == "'" else cell

    def column(self, key: str) -> str:
        return self.headers.get(key, key)


def _clean(cell: str) -> str:
    """A cell as typed: spaces trimmed, a spreadsheet's text guard (a leading ') removed."""
    cell = cell.strip()
    return cell[1:] if cell.startswith("'") else cell


def _yen(text: str) -> str | int:
    """Money cells: "1,080", "¥1080", "1080.00" → 1080; anything else as written (the
    order schema then names the field)."""
    plain = unicodedata.normalize("NFKC", text).replace(",", "").replace("¥", "").strip()
    whole, dot, cents = plain.partition(".")
    if whole.lstrip("-").isdigit() and (not dot or set(cents) <= {"0"}):
        return int(whole)
    return text


_ZONED = re.compile(r"(.+?)\s*([+-]\d{2}):?(\d{2})")
_CLOCK = re.compile(r"\d:\d")


def _when(text: str) -> str:
    """ "2026-11-20 10:15:30 +0900" (Shopify) → ISO 8601 the schema reads."""
    text = text.strip()
    match = _ZONED.fullmatch(text)
    if match and _CLOCK.search(match.group(1)):
        return f"{match.group(1)}{match.group(2)}:{match.group(3)}"
    return text


# -- Shopify ------------------------------------------------------------------------------

SHOPIFY_PAYMENT = (
    # (a word in "Payment Method" / gateway, our payment method); first match wins
    ("cash on delivery", "cod"),
    ("代金引換", "cod"),
    ("代引", "cod"),
    ("bank", "bank_transfer"),
    ("振込", "bank_transfer"),
    ("konbini", "konbini"),
    ("コンビニ", "konbini"),
    ("後払い", "atobarai"),
    ("atobarai", "atobarai"),
    ("np", "atobarai"),
    ("shopify payments", "card"),
    ("credit", "card"),
    ("card", "card"),
    ("クレジット", "card"),
)
SHOPIFY_STATUS = {
    "paid": "paid",
    "authorized": "authorized",
    "pending": "unpaid",
    "partially_paid": "unpaid",
    "partially_refunded": "paid",
    "refunded": "refunded",
    "voided": "unpaid",
    "unpaid": "unpaid",
}


def payment_method_from(text: str, table=SHOPIFY_PAYMENT) -> str:
    lowered = unicodedata.normalize("NFKC", text).lower()
    for word, method in table:
        if word in lowered:
            return method
    return "other"


_PATHS: dict[str, tuple[tuple[str, ...], str]] = {}  # "ship_to.city" → (("ship_to",), "city")


def _parts(path: str) -> tuple[tuple[str, ...], str]:
    *parents, name = path.split(".")
    return tuple(parents), name


class _Builder:
    """Puts one order together from its rows, remembering where each field was read."""

    def __init__(self, channel: str, external_id: str, row: Row):
        self.order = FileOrder(channel, external_id, [row.number], {"external_id": external_id,
                               "customer": {}, "ship_to": {}, "lines": []},
                               headers=row.headers)  # fmt: skip
        self.order.where["external_id"] = (row.number, "")

    def put(self, path: str, value, row: Row, key: str) -> None:
        """Set ``path`` (``ship_to.city``) from ``row``'s column ``key``."""
        target = self.order.body
        parents, name = _PATHS.get(path) or _PATHS.setdefault(path, _parts(path))
        for parent in parents:
            target = target.setdefault(parent, {})
        target[name] = value
        self.order.where[path] = (row.number, key)

    def line(self, row: Row, values: dict[str, tuple[object, str]]) -> None:
        self.order.body["lines"].append({name: value for name, (value, _k) in values.items()})
        self.order.line_cells.append((row.number, {name: key for name, (_v, key) in
                                                   values.items()}))  # fmt: skip
        if row.number not in self.order.rows:
            self.order.rows.append(row.number)


def _shopify_order(b: _Builder, row: Row) -> None:
    b.put("ordered_at", _when(row.get("createdat")), row, "createdat")
    name = row.get("shippingname") or row.get("billingname")
    b.put("customer.name", row.get("billingname") or name, row, "billingname")
    b.put("customer.email", row.get("email"), row, "email")
    b.put("customer.phone", row.get("phone") or row.get("billingphone"), row, "billingphone")
    b.put("ship_to.name", name, row, "shippingname")
    b.put("ship_to.postal_code", row.get("shippingzip"), row, "shippingzip")
    province = row.get("shippingprovincename") or row.get("shippingprovince")
    b.put("ship_to.prefecture", province, row, "shippingprovince")
    b.put("ship_to.city", row.get("shippingcity"), row, "shippingcity")
    b.put("ship_to.street", row.get("shippingaddress1"), row, "shippingaddress1")
    b.put("ship_to.building", row.get("shippingaddress2"), row, "shippingaddress2")
    b.put("ship_to.phone", row.get("shippingphone") or row.get("billingphone"), row,
          "shippingphone")  # fmt: skip
    b.put("payment_method", payment_method_from(row.get("paymentmethod")), row, "paymentmethod")
    status = SHOPIFY_STATUS.get(row.get("financialstatus").lower(), row.get("financialstatus"))
    b.put("payment_status", status, row, "financialstatus")
    b.put("shipping_fee_yen", _yen(row.get("shipping") or "0"), row, "shipping")
    b.put("discount_yen", _yen(row.get("discountamount") or "0"), row, "discountamount")
    if row.get("total"):
        b.put("total_yen", _yen(row.get("total")), row, "total")
    if row.get("notes"):
        b.put("notes", row.get("notes"), row, "notes")


def _shopify_line(b: _Builder, row: Row) -> None:
    b.line(row, {
        "sku": (row.get("lineitemsku"), "lineitemsku"),
        "name": (row.get("lineitemname"), "lineitemname"),
        "quantity": (row.get("lineitemquantity"), "lineitemquantity"),
        "unit_price_yen": (_yen(row.get("lineitemprice")), "lineitemprice"),
    })  # fmt: skip


# -- Rakuten ------------------------------------------------------------------------------

RAKUTEN_PAYMENT = (
    ("クレジット", "card"),
    ("代金引換", "cod"),
    ("銀行振込", "bank_transfer"),
    ("コンビニ", "konbini"),
    ("後払い", "atobarai"),
    ("楽天バンク", "bank_transfer"),
)


def _joined(row: Row, *keys: str, sep: str = "") -> str:
    return sep.join(part for part in (row.get(k) for k in keys) if part)


def _rakuten_order(b: _Builder, row: Row) -> None:
    b.put("ordered_at", row.get("注文日時"), row, "注文日時")
    b.put("customer.name", _joined(row, "注文者名字", "注文者名前", sep=" "), row, "注文者名字")
    b.put("customer.kana", _joined(row, "注文者名字フリガナ", "注文者名前フリガナ", sep=" "), row,
          "注文者名字フリガナ")  # fmt: skip
    b.put("customer.email", row.get("注文者メールアドレス"), row, "注文者メールアドレス")
    b.put("customer.phone", _joined(row, "注文者電話番号1", "注文者電話番号2", "注文者電話番号3",
          sep="-"), row, "注文者電話番号1")  # fmt: skip
    b.put("ship_to.name", _joined(row, "送付先名字", "送付先名前", sep=" "), row, "送付先名字")
    b.put("ship_to.postal_code", _joined(row, "送付先郵便番号1", "送付先郵便番号2", sep="-"), row,
          "送付先郵便番号1")  # fmt: skip
    b.put("ship_to.prefecture", row.get("送付先住所:都道府県"), row, "送付先住所:都道府県")
    b.put("ship_to.city", row.get("送付先住所:都市区"), row, "送付先住所:都市区")
    b.put("ship_to.street", row.get("送付先住所:町以降"), row, "送付先住所:町以降")
    b.put("ship_to.phone", _joined(row, "送付先電話番号1", "送付先電話番号2", "送付先電話番号3",
          sep="-"), row, "送付先電話番号1")  # fmt: skip
    b.put("payment_method", payment_method_from(row.get("決済方法"), RAKUTEN_PAYMENT), row,
          "決済方法")  # fmt: skip
    paid = row.get("入金日") or row.get("カード決済ステータス")
    method = b.order.body["payment_method"]
    status = "paid" if row.get("入金日") else ("authorized" if method == "card" and paid else
                                              "unpaid")  # fmt: skip
    b.put("payment_status", status, row, "入金日")
    b.put("shipping_fee_yen", _yen(row.get("送料") or "0"), row, "送料")
    b.put("fee_yen", _yen(row.get("代引料") or "0"), row, "代引料")
    if row.get("お届け日指定"):
        b.put("delivery_date", row.get("お届け日指定"), row, "お届け日指定")
    if row.get("のし"):
        b.put("noshi", row.get("のし"), row, "のし")
    if row.get("ギフトチェック(0:なし/1:あり)") == "1":
        b.put("gift_wrap", True, row, "ギフトチェック(0:なし/1:あり)")
    if row.get("合計金額"):
        b.put("total_yen", _yen(row.get("合計金額")), row, "合計金額")
    if row.get("コメント"):
        b.put("notes", row.get("コメント"), row, "コメント")


def _rakuten_line(b: _Builder, row: Row) -> None:
    b.line(row, {
        "sku": (row.get("商品番号"), "商品番号"),
        "name": (row.get("商品名"), "商品名"),
        "quantity": (row.get("個数"), "個数"),
        "unit_price_yen": (_yen(row.get("単価")), "単価"),
    })  # fmt: skip


# -- Amazon -------------------------------------------------------------------------------


def _amazon_order(b: _Builder, row: Row) -> None:
    b.put("ordered_at", row.get("purchase-date"), row, "purchase-date")
    b.put("customer.name", row.get("buyer-name") or row.get("recipient-name"), row, "buyer-name")
    b.put("customer.email", row.get("buyer-email"), row, "buyer-email")
    b.put("customer.phone", row.get("buyer-phone-number"), row, "buyer-phone-number")
    b.put("ship_to.name", row.get("recipient-name"), row, "recipient-name")
    b.put("ship_to.postal_code", row.get("ship-postal-code"), row, "ship-postal-code")
    b.put("ship_to.prefecture", row.get("ship-state"), row, "ship-state")
    city, street = row.get("ship-city"), row.get("ship-address-1")
    if not city:  # JP reports often leave the city empty and start address-1 with it
        city, street = split_city(row.get("ship-postal-code"), street)
    building = _joined(row, "ship-address-2", "ship-address-3", sep=" ")
    b.put("ship_to.city", city, row, "ship-city" if row.get("ship-city") else "ship-address-1")
    b.put("ship_to.street", street, row, "ship-address-1")
    b.put("ship_to.building", building, row, "ship-address-2")
    b.put("ship_to.phone", row.get("ship-phone-number"), row, "ship-phone-number")
    cod = _yen(row.get("cod-collectible-amount") or "0")
    pending = row.get("order-status").lower() == "pending"
    method = "cod" if isinstance(cod, int) and cod > 0 else "card"
    b.put("payment_method", method, row, "cod-collectible-amount")
    status = "unpaid" if pending or method == "cod" else "paid"
    b.put("payment_status", status, row, "order-status")
    if row.get("gift-wrap-type"):
        b.put("gift_wrap", True, row, "gift-wrap-type")


def _amazon_line(b: _Builder, row: Row) -> None:
    quantity = row.get("quantity-to-ship") or row.get("quantity-purchased")
    key = "quantity-to-ship" if row.get("quantity-to-ship") else "quantity-purchased"
    total = _yen(row.get("item-price"))
    unit: object = total
    if isinstance(total, int) and quantity.isdigit() and int(quantity) > 0:
        unit = total // int(quantity) if total % int(quantity) == 0 else row.get("item-price")
    b.line(row, {
        "sku": (row.get("sku"), "sku"),
        "name": (row.get("product-name"), "product-name"),
        "quantity": (quantity, key),
        "unit_price_yen": (unit, "item-price"),
    })  # fmt: skip
    shipping = _yen(row.get("shipping-price") or "0")
    if isinstance(shipping, int) and shipping:
        before = b.order.body.get("shipping_fee_yen", 0)
        b.put("shipping_fee_yen", before + shipping, row, "shipping-price")


def split_city(postal_code: str, address: str) -> tuple[str, str]:
    """ "千代田区千代田1-1" → ("千代田区", "千代田1-1") when Japan Post names that city for the
    postal code; else ("", address) and the order schema asks for the city."""
    try:
        places = jpaddress.postal_places(postal_code)
    except ValueError:
        places = []
    text = jpaddress.normalise_text(address)
    for place in places:
        if place.city and text.startswith(place.city):
            return place.city, text[len(place.city) :].strip()
    return "", address


# -- Generic ------------------------------------------------------------------------------

# (field path, Japanese header, English header); the template is written from these.
GENERIC_COLUMNS = (
    ("external_id", "注文番号", "order_id"),
    ("ordered_at", "注文日時", "ordered_at"),
    ("customer.name", "注文者名", "customer_name"),
    ("customer.kana", "注文者カナ", "customer_kana"),
    ("customer.email", "注文者メール", "customer_email"),
    ("customer.phone", "注文者電話", "customer_phone"),
    ("ship_to.name", "送付先名", "ship_name"),
    ("ship_to.postal_code", "送付先郵便番号", "ship_postal_code"),
    ("ship_to.prefecture", "送付先都道府県", "ship_prefecture"),
    ("ship_to.city", "送付先市区町村", "ship_city"),
    ("ship_to.street", "送付先番地", "ship_street"),
    ("ship_to.building", "送付先建物名", "ship_building"),
    ("ship_to.phone", "送付先電話", "ship_phone"),
    ("delivery_date", "お届け希望日", "delivery_date"),
    ("delivery_slot", "お届け時間帯", "delivery_slot"),
    ("gift_wrap", "ギフト包装", "gift_wrap"),
    ("noshi", "のし", "noshi"),
    ("payment_method", "支払方法", "payment_method"),
    ("payment_status", "入金状況", "payment_status"),
    ("shipping_fee_yen", "送料", "shipping_fee_yen"),
    ("fee_yen", "手数料", "fee_yen"),
    ("discount_yen", "値引き", "discount_yen"),
    ("notes", "備考", "notes"),
    ("lines.sku", "SKU", "sku"),
    ("lines.name", "商品名", "item_name"),
    ("lines.quantity", "数量", "quantity"),
    ("lines.unit_price_yen", "単価", "unit_price_yen"),
)
_GENERIC_KEYS = {header_key(h): path for path, ja, en in GENERIC_COLUMNS for h in (ja, en)}
_GENERIC_MONEY = {"shipping_fee_yen", "fee_yen", "discount_yen"}
_GENERIC_OPTIONAL = {"delivery_date", "delivery_slot"}


def _generic_key(row: Row, path: str) -> str:
    for key, mapped in _GENERIC_KEYS.items():
        if mapped == path and key in row.cells:
            return key
    return ""


def _generic_order(b: _Builder, row: Row) -> None:
    for path, _ja, _en in GENERIC_COLUMNS:
        if path.startswith("lines.") or path == "external_id":
            continue
        key = _generic_key(row, path)
        value: object = row.get(key) if key else ""
        if path in _GENERIC_MONEY:
            value = _yen(value or "0")
        elif path == "gift_wrap":
            value = value or "0"
        elif not value and (path in _GENERIC_OPTIONAL or path == "ordered_at"):
            continue
        if key:
            b.put(path, value, row, key)


def _generic_line(b: _Builder, row: Row) -> None:
    values = {}
    for name in ("sku", "name", "quantity", "unit_price_yen"):
        key = _generic_key(row, f"lines.{name}")
        cell = row.get(key) if key else ""
        if name == "name" and not cell:
            continue
        values[name] = (_yen(cell) if name == "unit_price_yen" else cell, key)
    b.line(row, values)


FORMATS = {
    "shopify": Format("shopify", "Shopify orders CSV", "shopify",
                      ("Name", "Lineitem quantity", "Lineitem sku", "Lineitem price",
                       "Shipping Zip"), "name"),
    "rakuten": Format("rakuten", "Rakuten RMS order CSV", "rakuten",
                      ("受注番号", "商品番号", "個数", "単価", "送付先郵便番号1"), "受注番号"),
    "amazon": Format("amazon", "Amazon JP order report (tab-separated)", "amazon",
                     ("order-id", "sku", "item-price", "ship-postal-code"), "order-id"),
    "generic": Format("generic", "Urakata order CSV (template)", "csv",
                      ("注文番号", "SKU"), header_key("注文番号")),
}  # fmt: skip
_READERS = {
    "shopify": (_shopify_order, _shopify_line),
    "rakuten": (_rakuten_order, _rakuten_line),
    "amazon": (_amazon_order, _amazon_line),
    "generic": (_generic_order, _generic_line),
}


def _required_present(fmt: Format, headers: Sequence[str]) -> list[CellError]:
    keys = {header_key(h) for h in headers}
    if fmt.key == "generic":
        keys = {_GENERIC_KEYS.get(k, k) for k in keys}
        needed = ("external_id", "lines.sku", "lines.quantity", "lines.unit_price_yen",
                  "ship_to.postal_code")  # fmt: skip
        names = {path: ja for path, ja, _en in GENERIC_COLUMNS}
        return [
            CellError(
                1,
                names[path],
                path,
                N_("The required column %(column)s is missing.", column=names[path]),
            )  # fmt: skip
            for path in needed
            if path not in keys
        ]
    return [
        CellError(1, name, "", N_("The required column %(column)s is missing.", column=name))
        for name in fmt.required
        if header_key(name) not in keys
    ]


def read_orders(
    fmt: Format, headers: Sequence[str], records: Sequence[tuple[int, list[str]]]
) -> tuple[list[FileOrder], list[CellError]]:
    """The file's orders, in file order, and problems the rows show before any check: a
    missing column, a row without an order id, an order id repeated with other order
    details (two different orders under one number; the order is marked ``conflicting``)."""
    errors: list[CellError] = []
    return [o for orders in iter_orders(fmt, headers, records, errors) for o in orders], errors


def iter_orders(
    fmt: Format,
    headers: Sequence[str],
    records: Sequence[tuple[int, list[str]]],
    errors: list[CellError],
    chunk: int = 2_000,
    first: int | None = None,
) -> Iterator[list[FileOrder]]:
    """:func:`read_orders`'s orders ``chunk`` at a time, in file order, with its problems
    appended to ``errors`` as the rows are read.

    An order is handed out once the file has no row of it left: one pass over the order
    numbers first finds each one's last row, so a file whose orders' rows are together (as
    every cart writes them) streams from its first rows, while rows of one order far
    apart still make one order. A chunk's orders' problems are in ``errors`` when it is
    handed out. ``first``: a smaller first chunk, for a consumer that should start soon."""
    errors.extend(_required_present(fmt, headers))
    if errors:
        return
    read_order, read_line = _READERS[fmt.key]
    header = Header(headers)
    group_key = _generic_key(Row(1, header, []), "external_id") if fmt.key == "generic" \
        else fmt.group_by  # fmt: skip
    last = _last_rows(header, group_key, records)
    builders: dict[str, _Builder] = {}
    waiting: deque[_Builder] = deque()  # in file order, not handed out yet
    ready: list[FileOrder] = []
    size = first or chunk
    seen: dict[str, tuple] = {}
    for index, (number, cells) in enumerate(records):
        row = Row(number, header, cells)
        external_id = row.get(group_key)
        if not external_id:
            errors.append(CellError(number, row.column(group_key), "external_id",
                                    N_("This row has no order number.")))  # fmt: skip
        elif (builder := builders.get(external_id)) is None:
            builder = builders[external_id] = _Builder(fmt.channel, external_id, row)
            waiting.append(builder)
            read_order(builder, row)
            if fmt.key != "shopify":  # (its later rows leave the order columns blank)
                seen[external_id] = _order_signature(fmt, row)
            read_line(builder, row)
        elif fmt.key != "shopify" and _order_signature(fmt, row) != seen[external_id]:
            errors.append(CellError(number, row.column(group_key), "external_id", N_(
                "Order %(order)s appears again with other order details (customer, address"
                " or payment) than on row %(first)d.",
                order=external_id, first=builder.order.rows[0])))  # fmt: skip
            builder.order.conflicting = True
        else:
            read_line(builder, row)
        while waiting and last[waiting[0].order.external_id] <= index:
            ready.append(waiting.popleft().order)
        if len(ready) >= size:
            yield ready
            ready, size = [], chunk
    ready.extend(b.order for b in waiting)
    if ready:
        yield ready


def _last_rows(header: Header, key: str, records: Sequence[tuple[int, list[str]]]) -> dict:
    """Each order number's last record (its index), read as :meth:`Row.get` reads it."""
    column = len(header.keys) - 1 - header.keys[::-1].index(key) if key in header.keys else -1
    last: dict[str, int] = {}
    for index, (_number, cells) in enumerate(records):
        if 0 <= column < len(cells):
            last[_clean(cells[column])] = index
    return last


_SIGNATURE_SKIP = {
    "rakuten": {"商品番号", "商品名", "個数", "単価", "商品id", "項目・選択肢", "商品url"},
    "amazon": {"order-item-id", "sku", "product-name", "quantity-purchased", "quantity-to-ship",
               "item-price", "item-tax", "shipping-price", "shipping-tax"},
    "generic": {header_key(h) for path, ja, en in GENERIC_COLUMNS if path.startswith("lines.")
                for h in (ja, en)},
}  # fmt: skip


def _order_signature(fmt: Format, row: Row) -> tuple:
    """The order-level cells of a row (every cell but the line's own)."""
    skip = _SIGNATURE_SKIP.get(fmt.key, set())
    return tuple(sorted((k, v.strip()) for k, v in row.cells.items() if k not in skip))
