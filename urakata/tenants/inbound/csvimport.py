"""An inbound notice from a CSV file: one row per expected SKU (and lot).

Columns (header row, any order, Japanese or English names): ``sku`` (商品コード),
``quantity`` (数量), optional ``lot`` (ロット) and ``best_before`` (賞味期限). The file is
read with the platform's one CSV reader (UTF-8 or Shift_JIS); the notice is made by
:func:`create_notice`, all or nothing. Each problem names the spreadsheet row (the header
is row 1) and the file's own column name.
"""

from __future__ import annotations

import csv
import io
import re

from urakata.platform.audit import Actor
from urakata.platform.csvfiles import CellError, CsvUnreadable, decode, delimiter, header_key
from urakata.platform.db import UrakataSession
from urakata.platform.fields import N_
from urakata.tenants.inbound.models import InboundNotice
from urakata.tenants.inbound.services import LINES_MAX, InboundInvalid, create_notice

MAX_BYTES = 2 * 1024 * 1024
COLUMNS = {
    "sku": ("sku", "商品コード", "品番"),
    "quantity": ("quantity", "qty", "数量", "入荷数", "予定数"),
    "lot": ("lot", "lot_no", "ロット", "ロット番号"),
    "best_before": ("best_before", "賞味期限", "消費期限", "bestbefore"),
}
_LINE_FIELD = re.compile(r"^lines\[(\d+)\]\.(\w+)$")


class NoticeFileInvalid(ValueError):
    """The file cannot make a notice; ``errors`` are :class:`CellError` values, or
    ``fields`` the notice's own fields (date, carrier) at fault."""

    def __init__(self, errors: list[CellError], fields: dict | None = None):
        super().__init__(f"{len(errors)} problems in the file")
        self.errors = errors
        self.fields = fields or {}


def _columns(header: list[str]) -> tuple[dict[str, int], dict[str, str], list[CellError]]:
    keys = {header_key(alias): field for field, aliases in COLUMNS.items() for alias in aliases}
    found: dict[str, int] = {}
    names: dict[str, str] = {}
    for n, cell in enumerate(header):
        field = keys.get(header_key(cell))
        if field and field not in found:
            found[field], names[field] = n, cell.strip()
    problems = [
        CellError(1, field, field, N_("The file has no %(column)s column.", column=field))
        for field in ("sku", "quantity")
        if field not in found
    ]
    return found, names, problems


def read_lines(data: bytes) -> tuple[list[dict], dict[str, str]]:
    """The rows as notice lines (each with its spreadsheet ``row``), and the file's name
    of each column."""
    if len(data) > MAX_BYTES:
        raise NoticeFileInvalid([CellError(0, "", "file", N_("The file is larger than 2 MB."))])
    try:
        text, _encoding = decode(data)
    except CsvUnreadable as exc:
        raise NoticeFileInvalid([CellError(0, "", "file", exc.message)]) from exc
    first = text.split("\n", 1)[0]
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter(first)))
    if not rows:
        raise NoticeFileInvalid([CellError(0, "", "file", N_("The file is empty."))])
    found, names, problems = _columns(rows[0])
    if problems:
        raise NoticeFileInvalid(problems)
    lines = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        line = {"row": number}
        for field in COLUMNS:
            at = found.get(field)
            line[field] = row[at].strip() if at is not None and at < len(row) else ""
        lines.append(line)
    if not lines:
        raise NoticeFileInvalid([CellError(2, "", "file", N_("The file has no rows."))])
    if len(lines) > LINES_MAX:
        raise NoticeFileInvalid(
            [CellError(0, "", "file", N_("At most %(limit)d rows.", limit=LINES_MAX))]
        )
    return lines, names


def notice_from_csv(
    session: UrakataSession,
    actor: Actor,
    data: bytes,
    *,
    expected_on,
    carrier: str | None = None,
    tracking_number: str | None = None,
    reference: str | None = None,
    key: str | None = None,
) -> InboundNotice:
    """Make a notice of the file's rows; nothing is written when any row is wrong."""
    lines, names = read_lines(data)
    try:
        return create_notice(
            session,
            actor,
            lines=lines,
            expected_on=expected_on,
            carrier=carrier,
            tracking_number=tracking_number,
            reference=reference,
            source="csv",
            key=key,
        )
    except InboundInvalid as exc:
        cells, fields = [], {}
        for name, messages in exc.errors.items():
            match = _LINE_FIELD.match(name)
            if match is None:
                fields[name] = messages
                continue
            n, field = int(match.group(1)), match.group(2)
            field = "sku" if field == "product_id" else field
            for message in messages:
                cells.append(CellError(lines[n]["row"], names.get(field, field), field, message))
        cells.sort(key=lambda e: (e.row, e.column))
        raise NoticeFileInvalid(cells, fields) from exc
