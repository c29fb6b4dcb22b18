"""Tracking numbers (お問い合せ番号) and the carriers' issued-label exports.

Yamato, Sagawa and ゆうパック numbers are 12 digits whose last digit is the first eleven,
read as one integer, modulo 7 (shared/domain/japan.md, "Carriers"). An export of issued
labels (B2クラウド 発行済みデータ, e飛伝 出荷実績, ゆうパックプリントR 発行履歴) is read by
its header names (the column map's ``tracking_export``), or by position when the file
has no header; every problem names the file's row.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass

from urakata.platform.csvfiles import CsvUnreadable, decode, header_key
from urakata.platform.fields import N_, Message
from urakata.tenants.shipping.carrier_files import FORMAT_OF_CARRIER, load_map

_SEPARATORS = re.compile(r"[\s\-‐‑‒–—―−ー]")
DIGITS = 12


def normalise(value: str) -> str:
    """NFKC, without the spaces and hyphens people and exports put between groups."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", value or ""))


def check_digit(first_eleven: str) -> int:
    return int(first_eleven) % 7


def problem(value: str) -> Message | None:
    """Why ``value`` is not a domestic tracking number, or None when it is one."""
    number = normalise(value)
    if not number:
        return N_("Enter the tracking number.")
    if not number.isascii() or not number.isdigit() or len(number) != DIGITS:
        return N_("The tracking number %(value)s is not 12 digits.", value=value.strip())
    if check_digit(number[:11]) != int(number[11]):
        return N_(
            "The tracking number %(value)s has a wrong check digit (expected %(expected)d"
            " at the end): a digit was misread or mistyped.",
            value=number,
            expected=check_digit(number[:11]),
        )
    return None


@dataclass(frozen=True)
class ExportRow:
    row: int  # the file's row (the header is row 1)
    reference: str
    number: str  # as written (normalised), checked later


@dataclass(frozen=True)
class ExportProblem:
    row: int
    reference: str
    number: str
    code: str  # malformed | check_digit | unknown | duplicate | used | mismatch | state
    message: Message


class ExportUnreadable(ValueError):
    """The file as a whole is not the carrier's export; ``message`` says why."""

    def __init__(self, message: Message):
        super().__init__(str(message))
        self.message = message


def _find(header: list[str], names: list[str]) -> int | None:
    keys = [header_key(h) for h in header]
    for name in names:
        key = header_key(name)
        if key in keys:
            return keys.index(key)
    return None


def read_export(data: bytes, carrier: str) -> tuple[list[ExportRow], list[ExportProblem]]:
    """The (reference, number) rows of a carrier's export and the rows that are not
    readable. Raises :class:`ExportUnreadable` when the file is not such an export."""
    column_map = load_map(FORMAT_OF_CARRIER[carrier])
    spec = column_map.tracking_export
    if not data.strip():
        raise ExportUnreadable(N_("The file is empty."))
    try:
        text, _encoding = decode(data)
    except CsvUnreadable as exc:
        raise ExportUnreadable(exc.message) from None
    try:
        records = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise ExportUnreadable(N_("The file is not CSV: %(problem)s.", problem=str(exc))) from None
    records = [r for r in records if any(cell.strip() for cell in r)]
    if not records:
        raise ExportUnreadable(N_("The file is empty."))
    header = records[0]
    ref_at, number_at = _find(header, spec["reference"]), _find(header, spec["tracking"])
    first_row = 2
    if ref_at is None or number_at is None:
        width = max(spec["reference_column"], spec["tracking_column"])
        cell = normalise(header[spec["tracking_column"] - 1]) if len(header) >= width else ""
        looks_like_data = cell.isascii() and cell.isdigit() and len(cell) == DIGITS
        if not looks_like_data:
            raise ExportUnreadable(
                N_(
                    "This is not a %(carrier)s export of issued labels: no column %(reference)s"
                    " and %(tracking)s in the first row, and its row is not laid out as the"
                    " carrier's (reference in column %(ref_no)d, number in column %(no)d).",
                    carrier=column_map.name,
                    reference=spec["reference"][0],
                    tracking=spec["tracking"][0],
                    ref_no=spec["reference_column"],
                    no=spec["tracking_column"],
                )
            )
        ref_at, number_at = spec["reference_column"] - 1, spec["tracking_column"] - 1
        first_row = 1
    else:
        records = records[1:]
    rows, problems = [], []
    for n, record in enumerate(records, first_row):
        if len(record) <= max(ref_at, number_at):
            problems.append(
                ExportProblem(n, "", "", "malformed",
                              N_("Row %(row)d has %(count)d columns; the reference and the"
                                 " number are in columns %(ref)d and %(no)d.", row=n,
                                 count=len(record), ref=ref_at + 1, no=number_at + 1))
            )  # fmt: skip
            continue
        reference = unicodedata.normalize("NFKC", record[ref_at]).strip()
        number = normalise(record[number_at])
        if not reference:
            problems.append(
                ExportProblem(n, "", number, "malformed",
                              N_("Row %(row)d has no reference (%(column)s).", row=n,
                                 column=spec["reference"][0]))
            )  # fmt: skip
            continue
        rows.append(ExportRow(n, reference, number))
    return rows, problems
