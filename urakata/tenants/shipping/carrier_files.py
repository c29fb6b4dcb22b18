"""Carrier import files (送り状データ) from column maps kept as data files.

Each format is one JSON file under ``carriers/`` (shared/domain/japan.md, "Carriers"): its
encoding, line ending, header, quoting and, per column, where the value comes from
(a field of :class:`LabelData`, a constant, or blank), a value map (cool type, time slot,
送り状種類), a format (dates, postal codes, integers) and the carrier's limit. A column
can be corrected by editing the file, without code. Japan Post's ゆうパックプリントR takes
a layout its user defines: the shop's own copy of that map is kept in the database
(:mod:`urakata.tenants.shipping.column_maps`) and goes through the same writer.

Limits are counted as the carriers count them: a full-width (全角) character takes two
half-width units, so "32 全角" is 64 units of ASCII or half-width kana. A value over its
limit is never cut: the whole file is refused with one :class:`LabelProblem` per
shipment and field (DESIGN §10).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import date
from itertools import repeat
from operator import attrgetter
from pathlib import Path

from urakata.platform.fields import N_, Message
from urakata.platform.jpaddress import display_width

CARRIER_DIR = Path(__file__).parent / "carriers"
FORMATS = {"yamato_b2": "yamato", "sagawa_ehiden": "sagawa", "japanpost_yupack": "japan_post"}
FORMAT_OF_CARRIER = {carrier: fmt for fmt, carrier in FORMATS.items()}
CARRIERS = ("yamato", "sagawa", "japan_post")
_SPECIAL = re.compile(r'[",\r\n]')
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_UNQUOTABLE = re.compile(r'[",\x00-\x1f\x7f]')


@dataclass(frozen=True, slots=True)
class LabelData:
    """What a label needs of one shipment, prepared once (plain values, no ORM objects).

    Text is already NFKC-normalised on one line; phones are hyphenated; money is yen.
    """

    reference: str
    ship_date: date
    to_postal_code: str  # seven digits
    to_address: str  # prefecture + city + street
    to_address_1: str  # prefecture + city
    to_address_2: str  # street
    to_building: str
    to_name: str
    to_phone: str
    sender_postal_code: str
    sender_address: str
    sender_address_1: str
    sender_address_2: str
    sender_name: str
    sender_phone: str
    invoice_kind: str = "takkyubin"  # the service, "_cod" added for 代引 (see the maps)
    cool: str = "none"  # none | chilled | frozen
    delivery_date: date | None = None
    delivery_slot: str = ""  # am | 12-14 | 14-16 | 16-18 | 18-20 | 19-21 | ""
    item_code_1: str = ""
    item_name_1: str = ""
    item_code_2: str = ""
    item_name_2: str = ""
    cod_amount_yen: int | None = None
    cod_tax_yen: int | None = None
    pieces: int = 1
    billing_customer_code: str = ""
    freight_code: str = ""
    ehiden_customer_code: str = ""
    email: str = ""


LABEL_FIELDS = frozenset(f.name for f in fields(LabelData))
_TEXT_FIELDS = frozenset(f.name for f in fields(LabelData) if f.type == "str")


@dataclass(frozen=True)
class LabelProblem:
    """Why a shipment blocks the file: its reference, the carrier's column and a message."""

    reference: str
    column: int
    title: str
    message: Message


class CarrierFileBlocked(ValueError):
    """The file cannot be made; ``problems`` names each shipment and field."""

    def __init__(self, problems: list[LabelProblem]):
        first = problems[0] if problems else None
        super().__init__(
            f"{len(problems)} problem(s); first: {first.reference} {first.title}: {first.message}"
            if first
            else "no problems"
        )
        self.problems = problems


class ColumnMapInvalid(ValueError):
    """A column map (a data file or a shop's edited copy) that cannot be used."""

    def __init__(self, errors: list[Message]):
        super().__init__("; ".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class Column:
    no: int
    title: str
    source: str | None = None
    const: str = ""
    required: bool = False
    value_map: dict[str, str] | None = None
    fmt: str = ""
    limit: int | None = None
    unit: str = "half"
    max_value: int | None = None
    pattern: re.Pattern | None = None

    @property
    def max_units(self) -> int | None:
        if self.limit is None:
            return None
        return self.limit * 2 if self.unit == "full" else self.limit


@dataclass(frozen=True)
class ColumnMap:
    format: str
    carrier: str
    name: str
    encoding: str
    line_ending: str
    header: bool
    quoting: str  # minimal | none
    columns: tuple[Column, ...]
    tracking_url: str
    tracking_export: dict = field(default_factory=dict)
    editable: bool = False

    @property
    def titles(self) -> list[str]:
        return [c.title for c in self.columns]

    def as_json(self) -> dict:
        """The map as its data file writes it (a shop's copy starts from this)."""
        return {"columns": [column_json(c) for c in self.columns]}


def column_json(column: Column) -> dict:
    data: dict = {"no": column.no, "title": column.title}
    if column.source:
        data["source"] = column.source
    elif column.const:
        data["const"] = column.const
    if column.required:
        data["required"] = True
    if column.value_map is not None:
        data["map"] = dict(column.value_map)
    if column.fmt:
        data["format"] = column.fmt
    if column.limit is not None:
        data["limit"], data["unit"] = column.limit, column.unit
    if column.max_value is not None:
        data["max_value"] = column.max_value
    if column.pattern is not None:
        data["pattern"] = column.pattern.pattern
    return data


_FORMATS = ("", "postal_hyphen", "postal_digits", "int_or_blank")


def parse_columns(raw: Sequence[dict]) -> tuple[Column, ...]:
    """Columns from their JSON form; :class:`ColumnMapInvalid` names every bad entry."""
    errors: list[Message] = []
    columns = []
    if not raw:
        raise ColumnMapInvalid([N_("A column map needs at least one column.")])
    for n, spec in enumerate(raw, 1):
        title = str(spec.get("title", "")).strip()
        source = spec.get("source") or None
        fmt = spec.get("format", "") or ""
        unit = spec.get("unit", "half")
        if not title:
            errors.append(N_("Column %(no)d has no title.", no=n))
        if source is not None and source not in LABEL_FIELDS:
            errors.append(N_("Column %(no)d (%(title)s): %(source)s is not a field a label has.",
                             no=n, title=title, source=source))  # fmt: skip
        if fmt not in _FORMATS and not fmt.startswith("date:"):
            errors.append(N_("Column %(no)d (%(title)s): unknown format %(format)s.",
                             no=n, title=title, format=fmt))  # fmt: skip
        if unit not in ("half", "full"):
            errors.append(N_("Column %(no)d (%(title)s): the unit is half or full.",
                             no=n, title=title))  # fmt: skip
        limit = spec.get("limit")
        if limit is not None and (not isinstance(limit, int) or limit <= 0):
            errors.append(N_("Column %(no)d (%(title)s): the limit is a whole number above 0.",
                             no=n, title=title))  # fmt: skip
            limit = None
        try:
            pattern = re.compile(spec["pattern"]) if spec.get("pattern") else None
        except re.error:
            errors.append(N_("Column %(no)d (%(title)s): the pattern is not a valid regular"
                             " expression.", no=n, title=title))  # fmt: skip
            pattern = None
        value_map = spec.get("map")
        if value_map is not None:
            value_map = {str(k): str(v) for k, v in dict(value_map).items()}
        columns.append(
            Column(no=n, title=title, source=source, const=str(spec.get("const", "") or ""),
                   required=bool(spec.get("required")), value_map=value_map, fmt=fmt,
                   limit=limit, unit=unit, max_value=spec.get("max_value"), pattern=pattern)
        )  # fmt: skip
    if errors:
        raise ColumnMapInvalid(errors)
    return tuple(columns)


@functools.cache
def load_map(fmt: str) -> ColumnMap:
    """The format's column map from its data file (read once per process)."""
    if fmt not in FORMATS:
        raise KeyError(fmt)
    raw = json.loads((CARRIER_DIR / f"{fmt}.json").read_text(encoding="utf-8"))
    return map_from_json(raw)


def map_from_json(raw: dict, columns: Sequence[dict] | None = None) -> ColumnMap:
    parsed = parse_columns(columns if columns is not None else raw["columns"])
    count = raw.get("column_count")
    if columns is None and count is not None and count != len(parsed):
        raise ColumnMapInvalid(
            [
                N_(
                    "The map says %(count)d columns but lists %(listed)d.",
                    count=count,
                    listed=len(parsed),
                )
            ]  # fmt: skip
        )
    return ColumnMap(
        format=raw["format"],
        carrier=raw["carrier"],
        name=raw.get("name", raw["format"]),
        encoding=raw.get("encoding", "cp932"),
        line_ending=raw.get("line_ending", "\r\n"),
        header=bool(raw.get("header", True)),
        quoting=raw.get("quoting", "minimal"),
        columns=parsed,
        tracking_url=raw.get("tracking_url", ""),
        tracking_export=raw.get("tracking_export", {}),
        editable=bool(raw.get("editable", False)),
    )


def tracking_url(carrier: str, number: str) -> str:
    """The carrier's public tracking page of a number ('' for an unknown carrier)."""
    fmt = FORMAT_OF_CARRIER.get(carrier)
    if fmt is None or not number:
        return ""
    return load_map(fmt).tracking_url.format(number=number)


# --- values ---------------------------------------------------------------------------------


def width(value: str) -> int:
    """Half-width units as carriers count them: CP932 bytes (全角 2, ASCII and ｶﾅ 1)."""
    if value.isascii():
        return len(value)
    try:
        return len(value.encode("cp932"))
    except UnicodeEncodeError:
        return display_width(value)


def _formatted(raw: list, fmt: str) -> list[str]:
    """One column's values as text (distinct dates formatted once)."""
    if fmt.startswith("date:"):
        pattern = fmt[5:]
        texts = {d: d.strftime(pattern) for d in set(raw) if d is not None}
        return [texts[v] if v is not None else "" for v in raw]
    if fmt == "postal_hyphen":
        return [f"{v[:3]}-{v[3:]}" if v and len(v) == 7 else (v or "") for v in raw]
    if fmt == "postal_digits":
        return [v.replace("-", "") if v else "" for v in raw]
    if fmt == "int_or_blank":
        return ["" if v is None or v == "" else str(int(v)) for v in raw]
    return ["" if v is None else v if isinstance(v, str) else str(v) for v in raw]


def _column_values(
    column: Column,
    labels: Sequence[LabelData],
    problems: list[LabelProblem],
    carrier: str,
    quoting: bool,
) -> list[str] | None:
    """One column for every shipment, checked (None for a constant). Columns are worked
    whole (the fast way in Python: most checks see at once that no value can break them),
    and a file is refused as a whole anyway."""
    if column.source is None:
        return None  # a constant of the map (checked when the map is loaded)
    source = column.source
    raw = list(map(attrgetter(source), labels))
    if column.value_map is not None:
        value_map = column.value_map
        texts = [value_map.get("" if v is None else str(v)) for v in raw]
        unmapped = None in texts
        if unmapped:
            for i, text in enumerate(texts):
                if text is None:
                    value = "" if raw[i] is None else str(raw[i])
                    problems.append(
                        LabelProblem(labels[i].reference, column.no, column.title,
                                     N_("%(carrier)s has no %(title)s for %(value)s.",
                                        carrier=carrier, title=column.title,
                                        value=value or "—"))
                    )  # fmt: skip
                    texts[i] = "\x00"  # told already: not "required" too
    elif not column.fmt and source in _TEXT_FIELDS:
        texts, unmapped = raw, False
    else:
        texts, unmapped = _formatted(raw, column.fmt), False
    if column.required and "" in texts:
        for i in [i for i, text in enumerate(texts) if not text]:
            problems.append(
                LabelProblem(labels[i].reference, column.no, column.title,
                             N_("%(title)s is required by %(carrier)s and is empty.",
                                title=column.title, carrier=carrier))
            )  # fmt: skip
    if column.value_map is not None and unmapped:
        texts = ["" if text == "\x00" else text for text in texts]
    units = column.max_units
    # A character is at most two units wide: only values longer than half the limit can
    # break it, and an ASCII value only when longer than the limit.
    longest = max(map(len, texts)) if units is not None and texts else 0
    if units is not None and (
        longest > units or (longest * 2 > units and not "".join(texts).isascii())
    ):
        for i, text in enumerate(texts):
            if len(text) * 2 > units and (len(text) > units or not text.isascii()):
                used = width(text)
                if used > units:
                    problems.append(_too_wide(labels[i].reference, column, used, carrier))
    if column.max_value is not None:
        for i, value in enumerate(raw):
            if value is not None and value != "" and int(value) > column.max_value:
                problems.append(
                    LabelProblem(labels[i].reference, column.no, column.title,
                                 N_("%(title)s is %(value)s; %(carrier)s accepts at most"
                                    " %(limit)s.", title=column.title, value=f"{int(value):,}",
                                    carrier=carrier, limit=f"{column.max_value:,}"))
                )  # fmt: skip
    if column.pattern is not None:
        match = column.pattern.fullmatch
        wrong = {text for text in set(texts) if text and not match(text)}
        for i, text in enumerate(texts):
            if text in wrong:
                problems.append(
                    LabelProblem(labels[i].reference, column.no, column.title,
                                 N_("%(title)s %(value)s is not in the form %(carrier)s"
                                    " expects.", title=column.title, value=text,
                                    carrier=carrier))
                )  # fmt: skip
    _character_problems(column, labels, texts, problems, carrier, quoting=quoting)
    return texts


def _character_problems(column, labels, texts, problems, carrier, *, quoting: bool) -> None:
    """Line breaks and control characters anywhere; commas and double quotes where the
    format cannot quote them (checked on the column joined, then value by value)."""
    bad = _CONTROL if quoting else _UNQUOTABLE
    if not bad.search("".join(texts)):
        return
    for i, text in enumerate(texts):
        if _CONTROL.search(text):
            message = N_("%(title)s has a line break or control character.", title=column.title)
        elif not quoting and _SPECIAL.search(text):
            message = N_("%(title)s contains a comma or a double quote, which %(carrier)s"
                         " files cannot hold.", title=column.title, carrier=carrier)  # fmt: skip
        else:
            continue
        problems.append(LabelProblem(labels[i].reference, column.no, column.title, message))


def _too_wide(reference: str, column: Column, used: int, carrier: str) -> LabelProblem:
    if column.unit == "full":
        message = N_(
            "%(title)s is %(width)d half-width characters long; %(carrier)s prints at most "
            "%(limit)d full-width (%(units)d half-width). Shorten it; nothing is cut.",
            title=column.title, width=used, carrier=carrier, limit=column.limit,
            units=column.limit * 2,
        )  # fmt: skip
    else:
        message = N_(
            "%(title)s is %(width)d characters long; %(carrier)s accepts at most %(limit)d."
            " Shorten it; nothing is cut.",
            title=column.title, width=used, carrier=carrier, limit=column.limit,
        )  # fmt: skip
    return LabelProblem(reference, column.no, column.title, message)


def _checked_columns(column_map: ColumnMap, labels: list[LabelData]) -> list[list[str]]:
    """Every column's values; :class:`CarrierFileBlocked` lists every shipment and field
    that does not fit, in shipment order."""
    problems: list[LabelProblem] = []
    carrier = column_map.name
    quoting = column_map.quoting != "none"
    columns = [_column_values(c, labels, problems, carrier, quoting) for c in column_map.columns]
    if problems:
        order = {d.reference: n for n, d in enumerate(labels)}
        problems.sort(key=lambda p: (order.get(p.reference, 0), p.column))
        raise CarrierFileBlocked(problems)
    return columns


def build_rows(column_map: ColumnMap, labels: Sequence[LabelData]) -> list[tuple[str, ...]]:
    """The file's rows as cells (header first when the format has one)."""
    labels = list(labels)
    columns = _checked_columns(column_map, labels)
    full = [
        values if values is not None else [column.const] * len(labels)
        for column, values in zip(column_map.columns, columns, strict=True)
    ]
    rows = list(zip(*full, strict=True)) if labels else []
    return [tuple(column_map.titles), *rows] if column_map.header else rows


def _quoted(cell: str) -> str:
    return '"' + cell.replace('"', '""') + '"' if _SPECIAL.search(cell) else cell


def _segments(column_map: ColumnMap, columns: list[list[str]]) -> list:
    """The columns with each run of constants merged into one piece of text (a B2 row is
    mostly blank columns: joined once, not once per row); quoted where needed."""
    quoting = column_map.quoting != "none"
    pieces: list = []
    constants: list[str] | None = None
    for column, values in zip(column_map.columns, columns, strict=True):
        if column.source is None:
            text = _quoted(column.const) if quoting else column.const
            constants = [*constants, text] if constants is not None else [text]
            continue
        if constants is not None:
            pieces.append(repeat(",".join(constants)))
            constants = None
        if quoting and _SPECIAL.search("".join(values)):
            values = list(map(_quoted, values))
        pieces.append(values)
    if constants is not None:
        pieces.append(repeat(",".join(constants)))
    return pieces


def carrier_file(column_map: ColumnMap, labels: Sequence[LabelData]) -> bytes:
    """The whole file as the carrier reads it (its encoding, line ending, header and
    quoting), or :class:`CarrierFileBlocked` naming every shipment and field at fault."""
    labels = list(labels)
    columns = _checked_columns(column_map, labels)
    pieces = _segments(column_map, columns)
    lines = list(map(",".join, zip(*pieces, strict=False))) if labels else []  # repeat() is endless
    if column_map.header:
        lines.insert(0, ",".join(map(_quoted, column_map.titles)))
    text = column_map.line_ending.join(lines) + column_map.line_ending
    try:
        return text.encode(column_map.encoding)
    except UnicodeEncodeError:
        raise CarrierFileBlocked(unencodable(column_map, labels)) from None


def unencodable(column_map: ColumnMap, labels: Iterable[LabelData]) -> list[LabelProblem]:
    """Characters the carrier's encoding cannot hold (e.g. 𠮷 in CP932), per field."""
    problems = []
    for data in labels:
        for column in column_map.columns:
            if column.source is None:
                continue
            value = getattr(data, column.source)
            if isinstance(value, str) and not value.isascii():
                try:
                    value.encode(column_map.encoding)
                except UnicodeEncodeError as exc:
                    problems.append(
                        LabelProblem(data.reference, column.no, column.title,
                                     N_("%(title)s has %(char)s, which %(carrier)s files cannot"
                                        " hold; write it another way.", title=column.title,
                                        char=value[exc.start:exc.end],
                                        carrier=column_map.name))
                    )  # fmt: skip
    return problems
