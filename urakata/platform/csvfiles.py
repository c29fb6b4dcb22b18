"""Reading and writing the CSV files shops and operators exchange with spreadsheets.

Files come as UTF-8 (with or without a BOM) or as Shift_JIS (CP932, what Excel on a
Japanese Windows writes); :func:`decode` tells them apart strictly. Problems are
:class:`CellError` values naming the spreadsheet row (the header is row 1) and the
file's own column name. Cells written for a spreadsheet are neutralised when a
spreadsheet would run them as a formula. Used by the catalog and the order imports.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from urakata.platform.fields import N_, Message

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
GETA = "〓"  # what a CP932 export writes for a character CP932 lacks (the printer's mark)


class CsvUnreadable(ValueError):
    """The file as a whole cannot be read; ``message`` says why."""

    def __init__(self, message: Message):
        super().__init__(str(message))
        self.message = message


@dataclass(frozen=True)
class CellError:
    """One problem: the spreadsheet row (the header is row 1), the file's column name."""

    row: int
    column: str
    field: str
    message: Message


ERRORS_KEPT = 200  # errors a task keeps for its page (their count is kept too)


def error_rows(errors: list[CellError], limit: int = ERRORS_KEPT) -> list[dict]:
    """Errors as plain JSON (a task's result): the message keeps its msgid and params."""
    return [
        {
            "row": e.row,
            "column": e.column,
            "field": e.field,
            "msgid": e.message.msgid,
            "params": e.message.params,
        }
        for e in errors[:limit]
    ]


def errors_from_rows(rows: list[dict]) -> list[CellError]:
    return [
        CellError(r["row"], r["column"], r["field"], Message(r["msgid"], **r["params"]))
        for r in rows
    ]


def header_key(header: str) -> str:
    """NFKC, lower case, no spaces: 'ＪＡＮ コード' and 'jan code' compare as written."""
    return "".join(unicodedata.normalize("NFKC", header).lower().split())


_SUSPICIOUS = re.compile("[\x00\x80-\x9f\ue000-\uf8ff]")
_NOT_TEXT = N_(
    "The file is neither UTF-8 nor Shift_JIS (CP932) text. Save it as CSV (UTF-8) and"
    " upload it again."
)


def _suspicious(decoded: str) -> bool:
    """NUL, C1 controls and private-use characters: bytes that only decoded by accident."""
    return _SUSPICIOUS.search(decoded) is not None


def decode(data: bytes) -> tuple[str, str]:
    """The text and its encoding: UTF-8 (a BOM is dropped), else CP932; strictly."""
    if data.startswith(b"\xef\xbb\xbf"):
        candidates = [("utf-8-sig", data[3:])]
    else:
        candidates = [("utf-8", data), ("cp932", data)]
    for encoding, raw in candidates:
        try:
            decoded = raw.decode(encoding.replace("-sig", ""))
        except UnicodeDecodeError:
            continue
        if not _suspicious(decoded):
            return decoded, encoding
    raise CsvUnreadable(_NOT_TEXT)


def delimiter(first_line: str) -> str:
    """Tab for a tab-separated file (a report), else comma."""
    return "\t" if "\t" in first_line and "," not in first_line else ","


def neutralise(cell: str) -> str:
    """A cell a spreadsheet would run as a formula gets a leading apostrophe."""
    return "'" + cell if cell.startswith(FORMULA_START) else cell


def _encode_cp932(line: str) -> bytes:
    try:
        return line.encode("cp932")
    except UnicodeEncodeError:
        return "".join(ch if _cp932_ok(ch) else GETA for ch in line).encode("cp932")


def _cp932_ok(ch: str) -> bool:
    try:
        ch.encode("cp932")
    except UnicodeEncodeError:
        return False
    return True


def encode_csv(rows: Iterable[list[str]], encoding: str = "utf-8") -> Iterator[bytes]:
    """CSV lines (CRLF, as spreadsheets write them) as bytes: UTF-8 with a BOM, or CP932.

    CP932 lacks some characters (emoji, a few kanji variants): those are written as 〓,
    the printers' mark for a missing glyph; UTF-8 keeps everything.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if encoding != "cp932":
        yield b"\xef\xbb\xbf"
    pending = 0
    for row in rows:
        writer.writerow(row)
        pending += 1
        if pending >= 500:
            yield _flush(buffer, encoding)
            pending = 0
    yield _flush(buffer, encoding)


def _flush(buffer: io.StringIO, encoding: str) -> bytes:
    chunk = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return _encode_cp932(chunk) if encoding == "cp932" else chunk.encode("utf-8")
