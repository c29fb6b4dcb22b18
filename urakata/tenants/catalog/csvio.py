"""CSV import and export of a shop's products.

Import is two steps over the same code: :func:`check_import` reads the file (UTF-8 with or
without BOM, or CP932), maps its header to product fields and validates every row, with
the same field rules and messages as ``schemas.load_product``, against the shop's other
products; :func:`import_products` then writes a clean check set-based: the rows are
COPYed into a TEMP staging table and merged with ``INSERT … ON CONFLICT (tenant_id, sku)
DO UPDATE``, barcodes in SQL, one ledger event per product created or changed. Nothing
is written while any row has an error. Services never commit.

Export writes the same headers (Japanese or English), UTF-8 with BOM or CP932, and
neutralises cells a spreadsheet would run as a formula.
"""

from __future__ import annotations

import csv
import functools
import io
import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from marshmallow import ValidationError
from sqlalchemy import text

from urakata.platform import audit, tasks
from urakata.platform.audit import Actor, PendingEvent
from urakata.platform.bulk import paused_gc
from urakata.platform.csvfiles import (
    FORMULA_START,
    CellError,
    CsvUnreadable,
    decode,
    delimiter,
    encode_csv,
    header_key,
    neutralise,
)
from urakata.platform.db import UrakataSession
from urakata.platform.fields import N_, Message
from urakata.tenants.catalog.models import Product
from urakata.tenants.catalog.schemas import BARCODES_MAX, SKU_MAX, ProductIn
from urakata.tenants.catalog.services import FIELDS, size_class

MAX_ROWS = 100_000
CHUNK_ROWS = 5_000  # rows per COPY + merge batch (and per progress report)
IMPORT_ACTION = "product.imported"
REQUIRED = ("sku", "name", "price_yen")
# A blank cell clears these; a blank tax rate, status or temperature zone keeps the value
# (a new product takes the default); a blank name, SKU or price is an error.
NULLABLE = frozenset(
    {
        "jan",
        "sale_starts_at",
        "length_mm",
        "width_mm",
        "height_mm",
        "weight_g",
        "case_quantity",
        "case_itf14",
    }
)
KEEP_WHEN_BLANK = frozenset({"tax_rate", "status", "temperature_zone"})


@dataclass(frozen=True)
class Column:
    field: str
    ja: str  # the header written by a Japanese export
    aliases: tuple[str, ...] = ()

    @property
    def en(self) -> str:
        return self.field


COLUMNS = (
    Column("sku", "商品コード", ("sku", "品番", "商品番号")),
    Column("jan", "JANコード", ("jan", "gtin", "jan/gtin", "janコード(gtin)")),
    Column("name", "商品名", ()),
    Column("name_en", "商品名(英語)", ("英語商品名", "商品名(英)", "name(english)")),
    Column("price_yen", "販売価格", ("価格", "売価", "price", "販売価格(円)", "価格(円)")),
    Column("tax_rate", "税率", ("消費税率", "税率(%)")),
    Column("sale_starts_at", "販売開始日時", ("販売開始日", "販売開始")),
    Column("status", "状態", ("ステータス",)),
    Column("length_mm", "縦(mm)", ("縦", "length")),
    Column("width_mm", "横(mm)", ("横", "width")),
    Column("height_mm", "高さ(mm)", ("高さ", "height")),
    Column("weight_g", "重量(g)", ("重量", "重さ(g)", "weight")),
    Column("temperature_zone", "温度帯", ("温度区分",)),
    Column("lot_tracked", "ロット管理", ("ロット・賞味期限管理",)),
    Column("case_quantity", "ケース入数", ("入数",)),
    Column("case_itf14", "ITF-14", ("itf14", "ケースitf-14", "ケースコード(itf-14)")),
    Column("barcodes", "バーコード", ("その他バーコード", "自社バーコード")),
)
COLUMN_OF = {c.field: c for c in COLUMNS}

# Japanese cell values an export writes and an import reads, beside the English ones.
VALUES_JA = {
    "status": {"draft": "下書き", "active": "販売中", "discontinued": "販売終了"},
    "temperature_zone": {"ambient": "常温", "chilled": "冷蔵", "frozen": "冷凍"},
}
VALUES_FROM_JA = {f: {ja: en for en, ja in m.items()} for f, m in VALUES_JA.items()}
HEADER_FIELDS: dict[str, str] = {}
for _column in COLUMNS:
    for _name in (_column.field, _column.ja, *_column.aliases):
        HEADER_FIELDS[header_key(_name)] = _column.field


@dataclass(frozen=True)
class HeaderMapping:
    headers: tuple[str, ...]
    fields: tuple[str | None, ...]  # the product field of each column, None: not imported

    @property
    def index(self) -> dict[str, int]:
        return {f: i for i, f in enumerate(self.fields) if f is not None}

    @property
    def pairs(self) -> list[tuple[str, str | None]]:
        return list(zip(self.headers, self.fields, strict=True))

    @property
    def ignored(self) -> list[str]:
        return [h for h, f in self.pairs if f is None]

    def header_of(self, field_name: str) -> str:
        index = self.index.get(field_name)
        return self.headers[index] if index is not None else COLUMN_OF[field_name].ja


@dataclass
class CsvFile:
    encoding: str  # utf-8, utf-8-sig or cp932
    mapping: HeaderMapping
    records: list[tuple[int, list[str]]]  # (spreadsheet row, cells), blank lines left out
    errors: list[CellError] = field(default_factory=list)  # header and shape problems


@dataclass
class Existing:
    id: int
    version: int
    values: dict[str, Any]
    codes: set[tuple[str, str]] = field(default_factory=set)  # (code, kind) rows it has


@dataclass
class PlannedRow:
    row: int
    sku: str
    values: dict[str, Any]  # every field after the row is applied (barcodes: shop codes)
    existing: Existing | None

    @functools.cached_property
    def codes(self) -> list[tuple[str, str, str]]:
        return _codes(self.values)

    @functools.cached_property
    def changes(self) -> dict[str, tuple[Any, Any]]:
        if self.existing is None:  # as create_product records a new product
            values = self.values.items()
            return {k: (None, v) for k, v in values if v is not None and v != "" and v != []}
        return audit.diff(self.existing.values, self.values)


@dataclass
class ImportCheck:
    """The whole file checked: what would be created and changed, or every error."""

    encoding: str
    mapping: HeaderMapping
    rows: list[PlannedRow]
    errors: list[CellError]
    row_count: int

    @property
    def ok(self) -> bool:
        return not self.errors

    @functools.cached_property
    def new(self) -> list[PlannedRow]:
        return [r for r in self.rows if r.existing is None]

    @functools.cached_property
    def changed(self) -> list[PlannedRow]:
        return [r for r in self.rows if r.existing is not None and r.changes]

    @property
    def unchanged_count(self) -> int:
        return len(self.rows) - len(self.new) - len(self.changed)

    def summary(self) -> dict[str, int]:
        return {
            "rows": self.row_count,
            "created": len(self.new),
            "updated": len(self.changed),
            "unchanged": self.unchanged_count,
        }


class ImportInvalid(ValueError):
    """The file has errors; nothing was written."""

    def __init__(self, check: ImportCheck):
        super().__init__(f"{len(check.errors)} errors in the file")
        self.check = check


class ImportConflict(RuntimeError):
    """Another change to the same products landed meanwhile; check and import again."""


Progress = Callable[[int, int], None]


# -- reading ------------------------------------------------------------------------------


def map_header(headers: Sequence[str]) -> tuple[HeaderMapping, list[CellError]]:
    """Which field each column fills; missing required columns and duplicates are errors."""
    fields: list[str | None] = []
    errors: list[CellError] = []
    seen: dict[str, str] = {}
    for header in headers:
        name = HEADER_FIELDS.get(header_key(header))
        if name is not None and name in seen:
            errors.append(
                CellError(
                    1,
                    header,
                    name,
                    N_(
                        "The columns %(first)s and %(second)s are the same field; keep one.",
                        first=seen[name],
                        second=header,
                    ),
                )
            )
            name = None
        elif name is not None:
            seen[name] = header
        fields.append(name)
    mapping = HeaderMapping(tuple(headers), tuple(fields))
    if not seen:
        first = headers[0] if headers else ""
        message = N_(
            "No column of the first row is a product field. The first row must be the"
            " header; check the encoding too."
        )
        return mapping, [CellError(1, first, "", message)]
    for name in REQUIRED:
        if name not in seen:
            column = COLUMN_OF[name]
            errors.append(
                CellError(
                    1,
                    column.ja,
                    name,
                    N_(
                        "The required column %(ja)s (or %(en)s) is missing.",
                        ja=column.ja,
                        en=column.en,
                    ),
                )
            )
    return mapping, errors


def read_csv(data: bytes) -> CsvFile:
    """Decode, split into records and map the header. Raises :class:`CsvUnreadable`."""
    return parse_text(*decode(data))


def parse_text(decoded: str, encoding: str) -> CsvFile:
    """Split decoded text into records and map the header."""
    if not decoded.strip():
        raise CsvUnreadable(N_("The file is empty."))
    reader = csv.reader(
        io.StringIO(decoded, newline=""),
        delimiter=delimiter(decoded.split("\n", 1)[0]),
        strict=True,
    )
    try:
        headers = [h.strip() for h in next(reader)]
        mapping, errors = map_header(headers)
        records = []
        for number, cells in enumerate(reader, start=2):
            if "".join(cells).strip():
                records.append((number, cells))
    except csv.Error as exc:
        raise CsvUnreadable(
            N_(
                "The file is not valid CSV near line %(line)d: check its quotes.",
                line=reader.line_num,
            )
        ) from exc
    if len(records) > MAX_ROWS:
        limit, count = format(MAX_ROWS, ","), format(len(records), ",")
        raise CsvUnreadable(
            N_(
                "A file may hold at most %(limit)s products; this one has %(count)s.",
                limit=limit,
                count=count,
            )
        )
    if not records and not errors:
        raise CsvUnreadable(N_("The file has a header but no product rows."))
    return CsvFile(encoding, mapping, records, errors)


# -- checking -----------------------------------------------------------------------------


def _defaults() -> dict[str, Any]:
    """A new product's values where the file says nothing (the model's defaults)."""
    values = {name: None for name in FIELDS}
    for name in FIELDS:
        default = Product.__table__.c[name].default
        if default is not None and not callable(default.arg):
            values[name] = default.arg
    values["barcodes"] = []
    return values


_ABSENT = object()  # a blank cell of a field that keeps its value (or takes the default)
_SLOW = object()  # the fast path declines: the schema's field decides


@dataclass(frozen=True)
class _Failed:
    messages: list


def _cell_value(name: str, cell: str) -> Any:
    """A cell as the schema expects it: blank → None (or absent), Japanese values read,
    an export's formula guard (a leading apostrophe) taken off again."""
    if cell[:1] == "'" and cell[1:2] and cell[1:2] in FORMULA_START:
        cell = cell[1:]
    stripped = cell.strip()
    if not stripped:
        if name in NULLABLE:
            return None
        if name in KEEP_WHEN_BLANK:
            return _ABSENT
        return cell
    if name in VALUES_FROM_JA:
        return VALUES_FROM_JA[name].get(unicodedata.normalize("NFKC", stripped), cell)
    return cell


def _column(name: str, index: int, records: list[tuple[int, list[str]]]) -> list[Any]:
    """One column of every record, prepared by :func:`_cell_value` (plain cells pass as is)."""
    try:
        raw = [cells[index] for _row, cells in records]
    except IndexError:  # a short row: its missing cells are blank
        raw = [cells[index] if index < len(cells) else "" for _row, cells in records]
    if name in VALUES_FROM_JA:
        return [_cell_value(name, cell) for cell in raw]
    return [
        cell if cell and cell[0] != "'" and not cell[0].isspace() else _cell_value(name, cell)
        for cell in raw
    ]


# Fast paths for the common, canonical spellings. Each accepts only values the schema's
# field would accept unchanged and returns exactly what the field would (ASCII is NFKC
# stable; a printable, NFKC-normalised text without edge spaces is its own normal form);
# anything else goes to the field itself. tests/tenants/catalog/test_csv.py proves it.
_SKU_FAST = re.compile(rf"[A-Za-z0-9\-_./]{{1,{SKU_MAX}}}")
_CODE_FAST = r"[A-Za-z0-9][A-Za-z0-9\-_./]{0,31}"
_CODES_FAST = re.compile(rf"{_CODE_FAST}(?:,{_CODE_FAST})*")


def gtin_ok(code: str) -> bool:
    """``codes.gtin_check_digit`` for a string of ASCII digits, in C-speed slices."""
    body = code[:-1]
    total = 3 * sum(map(int, body[-1::-2])) + sum(map(int, body[-2::-2]))
    return (10 - total % 10) % 10 == ord(code[-1]) - 48


def _fast_sku(value):
    return value if _SKU_FAST.fullmatch(value) else _SLOW


def _fast_gtin(lengths: tuple[int, ...]):
    def fast(value):
        if value.isascii() and value.isdigit() and len(value) in lengths and gtin_ok(value):
            return value
        return _SLOW

    return fast


def _fast_text(max_length: int):
    def fast(value):
        if (
            0 < len(value) <= max_length
            and value.isprintable()
            and value[0] != " "
            and value[-1] != " "
            and unicodedata.is_normalized("NFKC", value)
        ):
            return value
        return _SLOW

    return fast


def _fast_whole(minimum: int, maximum: int):
    def fast(value):
        if value.isascii() and value.isdigit() and len(value) <= 18:
            number = int(value)
            if minimum <= number <= maximum:
                return number
        return _SLOW

    return fast


def _fast_codes(limit: int):
    def fast(value):
        if _CODES_FAST.fullmatch(value):
            codes = list(dict.fromkeys(value.split(",")))
            if len(codes) <= limit:
                return codes
        return _SLOW

    return fast


class RowLoader:
    """``schemas.load_product`` for the rows of a file, column by column.

    Every value goes through the very field objects of ``ProductIn`` (bound to one schema
    instance carrying the shop's zone), so the rules and messages are the schema's own.
    Two shortcuts keep 50,000 rows fast: a repeated value (a tax rate, a date) is decided
    once per column, and common canonical spellings take an exact fast path. The one
    schema-level rule (a given name is not blank) is repeated here and, as marshmallow
    does, checked only when every field passed. tests/tenants/catalog/test_csv.py proves
    the loader and ``load_product`` agree.
    """

    def __init__(self, zone: str):
        self.schema = ProductIn()
        self.schema.context_zone = zone
        self.fields = self.schema.fields
        f = self.fields
        self.fast: dict[str, Callable[[str], Any]] = {
            "sku": _fast_sku,
            "jan": _fast_gtin(f["jan"].lengths),
            "case_itf14": _fast_gtin(f["case_itf14"].lengths),
            "name": _fast_text(f["name"].max_length),
            "name_en": _fast_text(f["name_en"].max_length),
            "price_yen": _fast_whole(f["price_yen"].minimum, f["price_yen"].maximum),
            "barcodes": _fast_codes(BARCODES_MAX),
        }
        for name in ("length_mm", "width_mm", "height_mm", "weight_g", "case_quantity"):
            self.fast[name] = _fast_whole(f[name].minimum, f[name].maximum)

    def _field(self, name: str, value: Any) -> Any:
        try:
            return self.fields[name].deserialize(value, name, None)
        except ValidationError as exc:
            messages = exc.messages
            return _Failed(messages if isinstance(messages, list) else [messages])

    def load_column(self, name: str, values: list[Any]) -> list[Any]:
        """Each value loaded, or :class:`_Failed` with the field's messages."""
        fast = self.fast.get(name)
        decided: dict[Any, Any] = {}
        out = []
        for value in values:
            if value is _ABSENT:
                out.append(_ABSENT)
                continue
            if fast is not None and value.__class__ is str:
                result = fast(value)
                if result is not _SLOW:
                    out.append(result)
                    continue
            try:
                result = decided[value]
            except KeyError:
                result = decided[value] = self._field(name, value)
            out.append(list(result) if result.__class__ is list else result)
        return out

    def load(self, data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, list]]:
        """One record: ``(values, errors)`` as ``load_product`` would decide them."""
        names = list(data)
        return next(self.rows(names, [self.load_column(n, [data[n]]) for n in names]))

    def rows(self, names: list[str], columns: list[list[Any]]):
        """``(values, errors)`` of each record from its loaded columns."""
        failed = {i for column in columns for i, v in enumerate(column) if v.__class__ is _Failed}
        gaps = [n for n, column in zip(names, columns, strict=True) if _ABSENT in column]
        for i, loaded in enumerate(zip(*columns, strict=True)):
            values = dict(zip(names, loaded, strict=True))
            errors = {}
            if i in failed:
                errors = {n: v.messages for n, v in values.items() if v.__class__ is _Failed}
                values = {n: v for n, v in values.items() if n not in errors}
            for name in gaps:
                if values.get(name) is _ABSENT:
                    del values[name]
            if not errors and "name" in values and not values["name"]:
                errors["name"] = [N_("This field cannot be empty.")]
            yield values, errors


def _codes(values: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(field, code, kind) of every code a product answers to (as services._codes_of)."""
    codes = []
    if values.get("jan"):
        codes.append(("jan", values["jan"], "jan" if len(values["jan"]) == 13 else "gtin8"))
    if values.get("case_itf14"):
        codes.append(("case_itf14", values["case_itf14"], "itf14"))
    codes.extend(("barcodes", code, "shop") for code in values.get("barcodes") or [])
    return codes


# Arrays are joined through unnest(): "= ANY(:array)" filters every row against the whole
# array, which for 50,000 SKUs takes seconds instead of milliseconds.
_EXISTING = (
    "SELECT p.id, p.version, p.sku, p.jan, p.name, p.name_en, p.price_yen, p.tax_rate,"
    " p.sale_starts_at, p.status, p.length_mm, p.width_mm, p.height_mm, p.weight_g,"
    " p.temperature_zone, p.lot_tracked, p.case_quantity, p.case_itf14 FROM product p"
    " JOIN unnest(CAST(:skus AS text[])) AS f(sku) ON p.sku = f.sku"
    " WHERE p.tenant_id = :tenant ORDER BY p.id"
)
_EXISTING_CODES = text(
    "SELECT b.product_id, b.code, b.kind FROM product_barcode b"
    " JOIN unnest(CAST(:ids AS bigint[])) AS f(id) ON b.product_id = f.id"
    " WHERE b.tenant_id = :tenant ORDER BY b.id"
)
_CODE_OWNERS = text(
    "SELECT b.code, p.sku FROM product_barcode b"
    " JOIN unnest(CAST(:codes AS text[])) AS f(code) ON b.code = f.code"
    " JOIN product p ON p.tenant_id = b.tenant_id AND p.id = b.product_id"
    " WHERE b.tenant_id = :tenant"
)


def _existing(session: UrakataSession, skus: list[str], lock: bool) -> dict[str, Existing]:
    tenant = session.tenant_id
    query = text(_EXISTING + (" FOR UPDATE OF p" if lock else ""))
    rows = session.execute(query, {"tenant": tenant, "skus": skus}).mappings().all()
    found = {
        r["sku"]: Existing(r["id"], r["version"], {n: r[n] for n in FIELDS} | {"barcodes": []})
        for r in rows
    }
    by_id = {e.id: e for e in found.values()}
    if by_id:
        codes = session.execute(_EXISTING_CODES, {"tenant": tenant, "ids": list(by_id)})
        for product_id, code, kind in codes:
            existing = by_id[product_id]
            existing.codes.add((code, kind))
            if kind == "shop":
                existing.values["barcodes"].append(code)
    return found


class _Checker:
    """Validates the rows of one file and plans each one; collects every error."""

    def __init__(self, csv_file: CsvFile, zone: str, update_existing: bool):
        self.file = csv_file
        self.mapping = csv_file.mapping
        self.loader = RowLoader(zone)
        self.update_existing = update_existing
        self.errors: list[CellError] = list(csv_file.errors)
        self.defaults = _defaults()

    def error(self, row: int, name: str, message: Message) -> None:
        column = self.mapping.header_of(name) if name in COLUMN_OF else ""
        self.errors.append(CellError(row, column, name, message))

    def _shaped(self) -> list[tuple[int, list[str]]]:
        """The records whose cells fit under the header (extra blank cells are fine)."""
        width = len(self.mapping.headers)
        shaped = []
        for row, cells in self.file.records:
            if len(cells) > width and "".join(cells[width:]).strip():
                message = N_(
                    "This row has %(count)d cells but the header only %(expected)d.",
                    count=len(cells),
                    expected=width,
                )
                self.errors.append(CellError(row, "", "", message))
            else:
                shaped.append((row, cells))
        return shaped

    def load_rows(self, progress: Progress | None) -> list[tuple[int, dict[str, Any], bool]]:
        """Each row through the field rules: ``(row, values, valid)``; a row with errors
        keeps the values that passed (its SKU still counts for duplicates)."""
        records = self._shaped()
        names = list(self.mapping.index)
        columns = {}
        for done, name in enumerate(names, start=1):
            column = _column(name, self.mapping.index[name], records)
            columns[name] = self.loader.load_column(name, column)
            if progress:
                progress(len(records) * done // len(names), len(records))
        loaded = []
        rows = self.loader.rows(names, [columns[name] for name in names])
        for (row, _cells), (values, errors) in zip(records, rows, strict=True):
            for name, messages in errors.items():
                for message in messages:
                    self.error(row, name, message)
            loaded.append((row, values, not errors))
        return loaded

    def plan(
        self, loaded: list[tuple[int, dict, bool]], existing: dict[str, Existing]
    ) -> list[PlannedRow]:
        planned: list[PlannedRow] = []
        first_row: dict[str, int] = {}
        for row, values, valid in loaded:
            sku = values.get("sku")
            if sku is None:
                continue
            if sku in first_row:
                self.error(
                    row,
                    "sku",
                    N_("The SKU %(sku)s is also in row %(row)d.", sku=sku, row=first_row[sku]),
                )
                continue
            first_row[sku] = row
            if not valid:
                continue
            before = existing.get(sku)
            if before is not None and not self.update_existing:
                self.error(row, "sku", N_("The SKU %(sku)s is already used in this shop.", sku=sku))
                continue
            base = before.values if before is not None else self.defaults
            merged = {**base, **values}
            if before is not None and set(merged["barcodes"]) == set(base["barcodes"]):
                merged["barcodes"] = base["barcodes"]  # the same codes in another order
            planned.append(PlannedRow(row, sku, merged, before))
        return planned

    def check_codes(self, session: UrakataSession, planned: list[PlannedRow]) -> None:
        """A code belongs to one product: within a row, across rows, against the shop."""
        claimed: dict[str, PlannedRow] = {}
        for p in planned:
            seen: dict[str, str] = {}
            for name, code, _kind in p.codes:
                if code in seen and seen[code] != name:
                    self.error(p.row, name, N_("The code %(code)s is given twice.", code=code))
                seen[code] = name
                first = claimed.setdefault(code, p)
                if first.sku != p.sku:
                    self.error(
                        p.row,
                        name,
                        N_(
                            "The code %(code)s is also given in row %(row)d.",
                            code=code,
                            row=first.row,
                        ),
                    )
        if not claimed:
            return
        in_file = {p.sku for p in planned}
        owners = session.execute(
            _CODE_OWNERS, {"tenant": session.tenant_id, "codes": list(claimed)}
        )
        for code, owner_sku in owners:
            p = claimed[code]
            # A code may move between two products of the file: its owner lets it go.
            if owner_sku == p.sku or owner_sku in in_file:
                continue
            name = next(n for n, c, _k in p.codes if c == code)
            self.error(
                p.row,
                name,
                N_("The code %(code)s already belongs to %(sku)s.", code=code, sku=owner_sku),
            )


def check_import(
    session: UrakataSession,
    csv_file: CsvFile,
    *,
    zone: str = "Asia/Tokyo",
    update_existing: bool = True,
    lock: bool = False,
    progress: Progress | None = None,
) -> ImportCheck:
    """Validate every row and plan it against the shop's products; writes nothing.

    ``lock`` takes the products the file changes FOR UPDATE (the import's own check).
    """
    if session.tenant_id is None:
        raise ValueError("bind the session to the shop first")
    with paused_gc():
        return _check_import(session, csv_file, zone, update_existing, lock, progress)


def _check_import(session, csv_file, zone, update_existing, lock, progress) -> ImportCheck:
    checker = _Checker(csv_file, zone, update_existing)
    loaded = checker.load_rows(progress) if not csv_file.errors else []
    skus = sorted({values["sku"] for _row, values, valid in loaded if valid})
    existing = _existing(session, skus, lock) if skus else {}
    planned = checker.plan(loaded, existing)
    checker.check_codes(session, planned)
    order = {name: i for i, name in enumerate(csv_file.mapping.fields) if name}
    errors = sorted(checker.errors, key=lambda e: (e.row, order.get(e.field, -1)))
    return ImportCheck(csv_file.encoding, csv_file.mapping, planned, errors, len(csv_file.records))


# -- importing ----------------------------------------------------------------------------

_STAGE_COLUMNS = ("row_no", *FIELDS, "size_class")
_CREATE_STAGING = """
CREATE TEMP TABLE catalog_import_row (
    row_no integer NOT NULL,
    sku text NOT NULL, jan text, name text NOT NULL, name_en text NOT NULL,
    price_yen integer NOT NULL, tax_rate integer NOT NULL, sale_starts_at timestamptz,
    status text NOT NULL, length_mm integer, width_mm integer, height_mm integer,
    weight_g integer, temperature_zone text NOT NULL, lot_tracked boolean NOT NULL,
    case_quantity integer, case_itf14 text, size_class integer
) ON COMMIT DROP;
CREATE TEMP TABLE catalog_import_code (
    product_id bigint NOT NULL, code text NOT NULL, kind text NOT NULL
) ON COMMIT DROP
"""
_SET = ", ".join(f"{name} = EXCLUDED.{name}" for name in (*FIELDS[1:], "size_class"))
_COLUMNS = ", ".join((*FIELDS, "size_class"))
_MERGE = text(
    f"""
    INSERT INTO product AS p (tenant_id, {_COLUMNS}, version, created_at, updated_at)
    SELECT :tenant, {_COLUMNS}, 1, :now, :now FROM catalog_import_row
    ON CONFLICT (tenant_id, sku) DO UPDATE SET {_SET},
        version = p.version + 1, updated_at = EXCLUDED.updated_at
    RETURNING p.sku, p.id, p.version, (p.xmax = 0) AS inserted
    """
)
_DROP_CODES = text(
    "DELETE FROM product_barcode WHERE tenant_id = :tenant AND (product_id, code) IN"
    " (SELECT * FROM unnest(CAST(:ids AS bigint[]), CAST(:codes AS text[])))"
)
_ADD_CODES_SQL = (
    "INSERT INTO product_barcode (tenant_id, product_id, code, kind)"
    " SELECT %s, product_id, code, kind FROM catalog_import_code"
)


def _stage(session: UrakataSession, rows: list[PlannedRow]) -> None:
    driver = session.connection().connection.driver_connection
    with driver.cursor() as cursor:
        cursor.execute("TRUNCATE catalog_import_row")
        with cursor.copy(f"COPY catalog_import_row ({', '.join(_STAGE_COLUMNS)}) FROM STDIN") as cp:
            for r in rows:
                v = r.values
                cp.write_row(
                    (
                        r.row,
                        *[v[name] for name in FIELDS],
                        size_class(v["length_mm"], v["width_mm"], v["height_mm"], v["weight_g"]),
                    )
                )


def _drop_codes(session: UrakataSession, released: list[tuple[int, str, str]]) -> None:
    if released:
        ids, codes, _kinds = zip(*released, strict=True)
        params = {"tenant": session.tenant_id, "ids": list(ids), "codes": list(codes)}
        session.execute(_DROP_CODES, params)


def _stage_codes(session: UrakataSession, added: list[tuple[int, str, str]]):
    """COPY the new codes (its rows are written in C, unlike array parameters); returns
    the INSERT that moves them, for :func:`audit.record_many` to run alongside the
    ledger's hashing (the foreign-key checks of 150,000 codes take the database about as
    long as the hashing of 50,000 events takes Python)."""
    if not added:
        return None
    driver = session.connection().connection.driver_connection
    sql = "COPY catalog_import_code (product_id, code, kind) FROM STDIN"
    with driver.cursor() as cursor, cursor.copy(sql) as cp:
        for triple in added:
            cp.write_row(triple)
    tenant = session.tenant_id

    def move(connection) -> None:
        with connection.cursor() as cursor:
            cursor.execute(_ADD_CODES_SQL, (tenant,))

    return move


def _events(rows: list[PlannedRow], merged: dict[str, tuple], task_id) -> list[PendingEvent]:
    events = []
    for r in rows:
        product_id, version, _inserted = merged[r.sku]
        data = {"version": version, "row": r.row}
        if task_id:
            data["task"] = str(task_id)
        events.append(PendingEvent(IMPORT_ACTION, "product", product_id, r.changes, data))
    return events


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    unchanged: int

    def as_dict(self) -> dict[str, int]:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged}


def import_products(
    session: UrakataSession,
    *,
    actor: Actor,
    check: ImportCheck,
    task_id=None,
    chunk: int = CHUNK_ROWS,
    progress: Progress | None = None,
) -> ImportResult:
    """Write a clean check: new SKUs inserted, changed ones updated (version + 1), barcodes
    synced, one ``product.imported`` event each. Unchanged rows are left alone.

    Runs in the caller's tenant-bound transaction; raises :class:`ImportInvalid` for a
    check with errors and :class:`ImportConflict` when a SKU planned as new was created
    meanwhile (the caller rolls back and checks again).
    """
    if not check.ok:
        raise ImportInvalid(check)
    if session.tenant_id is None:
        raise ValueError("bind the session to the shop first")
    with paused_gc():
        return _import_products(session, actor, check, task_id, chunk, progress)


def _import_products(session, actor, check, task_id, chunk, progress) -> ImportResult:
    work = sorted(check.new + check.changed, key=lambda r: r.row)
    if not work:
        return ImportResult(0, 0, check.unchanged_count)
    # Codes the changed products give up go first: another row may take them over.
    released = [
        (r.existing.id, code, kind)
        for r in check.changed
        for code, kind in r.existing.codes - {(c, k) for _n, c, k in r.codes}
    ]
    _drop_codes(session, released)
    session.connection().exec_driver_sql(_CREATE_STAGING)
    now = datetime.now(UTC)
    created, events, added = 0, [], []
    for start in range(0, len(work), chunk):
        rows = work[start : start + chunk]
        _stage(session, rows)
        returned = session.execute(_MERGE, {"tenant": session.tenant_id, "now": now})
        merged = {sku: (pid, version, inserted) for sku, pid, version, inserted in returned}
        planned_new = {r.sku for r in rows if r.existing is None}
        if {sku for sku, m in merged.items() if m[2]} != planned_new or len(merged) != len(rows):
            raise ImportConflict("products of the file were created or removed meanwhile")
        created += len(planned_new)
        added.extend(
            (merged[r.sku][0], code, kind)
            for r in rows
            for _n, code, kind in r.codes
            if r.existing is None or (code, kind) not in r.existing.codes
        )
        events.extend(_events(rows, merged, task_id))
        if progress:
            progress(start + len(rows), len(work) + 1)
    move_codes = _stage_codes(session, added)
    # Last: appending locks the shop's chain head until commit, stalling its other writers.
    audit.record_many(session, actor, events, alongside=move_codes)
    session.connection().exec_driver_sql("DROP TABLE catalog_import_row, catalog_import_code")
    if progress:
        progress(len(work) + 1, len(work) + 1)
    return ImportResult(created, len(work) - created, check.unchanged_count)


# -- the import as a shop task ----------------------------------------------------------

IMPORT_KIND = "catalog.import"
IMPORT_JOB = "catalog.import_products"
IMPORT_QUEUE = "default"


def start_import(
    session: UrakataSession,
    *,
    actor: Actor,
    csv_file: CsvFile,
    decoded: str,
    filename: str,
    update_existing: bool = True,
) -> tasks.ShopTask:
    """Start the import job of a checked file (after commit).

    The task's row holds the upload until the job is done: it is the shop's own row,
    written in the same transaction as the job's outbox row, and the job replaces it with
    the figures (there is no other tenant-owned place for a file yet).
    """
    task = tasks.start_task(
        session, kind=IMPORT_KIND, actor=actor, job=IMPORT_JOB, queue=IMPORT_QUEUE
    )
    task.progress_total = 2 * len(csv_file.records)
    task.result = {
        "upload": {
            "text": decoded,
            "encoding": csv_file.encoding,
            "filename": filename[:200],
            "update_existing": update_existing,
        }
    }
    return task


# -- exporting ----------------------------------------------------------------------------

EXPORT_BATCH = 1_000
_EXPORT = text(
    "SELECT id, sku, jan, name, name_en, price_yen, tax_rate, sale_starts_at, status,"
    " length_mm, width_mm, height_mm, weight_g, temperature_zone, lot_tracked, case_quantity,"
    " case_itf14 FROM product WHERE tenant_id = :tenant AND id > :after ORDER BY id LIMIT :limit"
)
_EXPORT_CODES = text(
    "SELECT product_id, code FROM product_barcode WHERE tenant_id = :tenant"
    " AND product_id = ANY(:ids) AND kind = 'shop' ORDER BY id"
)


def export_headers(language: str = "ja") -> list[str]:
    return [c.ja if language == "ja" else c.en for c in COLUMNS]


def _export_cell(name: str, value: Any, zone: ZoneInfo, language: str) -> str:
    if value is None:
        return ""
    if name == "sale_starts_at":
        local = value.astimezone(zone)
        return local.strftime("%Y-%m-%d %H:%M:%S" if local.second else "%Y-%m-%d %H:%M")
    if name == "lot_tracked":
        return ("はい" if value else "いいえ") if language == "ja" else str(value).lower()
    if name == "barcodes":
        return ",".join(value)
    if language == "ja" and name in VALUES_JA:
        return VALUES_JA[name].get(value, value)
    return str(value)


def export_rows(
    session: UrakataSession, *, zone: str = "Asia/Tokyo", language: str = "ja"
) -> Iterator[list[str]]:
    """The header, then each product of the session's shop by id, neutralised."""
    tz = ZoneInfo(zone)
    yield export_headers(language)
    tenant, after = session.tenant_id, 0
    if tenant is None:
        raise ValueError("bind the session to the shop first")
    while True:
        params = {"tenant": tenant, "after": after, "limit": EXPORT_BATCH}
        rows = session.execute(_EXPORT, params).mappings().all()
        if not rows:
            return
        codes: dict[int, list[str]] = {}
        found = session.execute(_EXPORT_CODES, {"tenant": tenant, "ids": [r["id"] for r in rows]})
        for product_id, code in found:
            codes.setdefault(product_id, []).append(code)
        for r in rows:
            values = {**r, "barcodes": codes.get(r["id"], [])}
            yield [
                neutralise(_export_cell(c.field, values[c.field], tz, language)) for c in COLUMNS
            ]
        after = rows[-1]["id"]


def export_csv(
    session: UrakataSession,
    *,
    zone: str = "Asia/Tokyo",
    encoding: str = "utf-8",
    language: str = "ja",
) -> Iterator[bytes]:
    """The shop's products as CSV bytes, streamed in batches."""
    return encode_csv(export_rows(session, zone=zone, language=language), encoding)
