"""Order files from the carts: checked whole, then taken in all at once (or only the valid
orders, when the user says so).

:func:`check_file` reads the file (UTF-8 or CP932, comma or tab), turns its rows into
orders (``formats``), validates each with the order service's own schema fields (the
schema itself names what is wrong, by row and column); it writes nothing.
:func:`import_orders` takes a checked file in through
:func:`~urakata.tenants.orders.services.intake_many` (the same checks and holds as the
API; COPY, 2,000 orders a time, written while the next ones are checked) in the
caller's transaction: every order of the file or none. Orders the shop has already (the
channel's order number) are counted, not taken again, so importing the same file twice
changes nothing. The ledger gets one event for the import and each order's own events,
recorded together at the end: the shop's chain is locked only from then to commit, not
while the orders are checked."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from marshmallow import ValidationError
from sqlalchemy import String, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY

from urakata.platform import tasks
from urakata.platform.audit import Actor, PendingEvent
from urakata.platform.bulk import paused_gc
from urakata.platform.csvfiles import CellError, CsvUnreadable, decode, delimiter
from urakata.platform.db import UrakataSession
from urakata.platform.fields import N_
from urakata.tenants.orders.imports.formats import FORMATS, FileOrder, Format, read_orders
from urakata.tenants.orders.models import Order
from urakata.tenants.orders.schemas import load_orders
from urakata.tenants.orders.services import OrderInvalid, TakenIn, intake_many

MAX_BYTES = 50 * 1024 * 1024
MAX_LINES = 200_000
INTAKE_BATCH = 2_000  # orders written per COPY while the next ones are checked
IMPORT_ACTION = "orders.imported"


class ImportInvalid(ValueError):
    """The file has errors and the user did not choose to import only the valid orders."""

    def __init__(self, errors: list[CellError]):
        super().__init__(f"{len(errors)} errors")
        self.errors = errors


@dataclass
class FileCheck:
    """What a file holds and what is wrong with it; nothing written."""

    format: Format
    encoding: str
    sha256: str
    lines: int
    orders: list[FileOrder]
    errors: list[CellError]
    invalid: set[str] = field(default_factory=set)  # order numbers with an error
    existing: set[str] = field(default_factory=set)  # order numbers the shop has already

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def valid_new(self) -> list[FileOrder]:
        skip = self.invalid | self.existing
        return [o for o in self.orders if o.external_id not in skip]

    def summary(self) -> dict:
        return {
            "format": self.format.key,
            "encoding": self.encoding,
            "sha256": self.sha256,
            "lines": self.lines,
            "orders": len(self.orders),
            "existing": len(self.existing),
            "invalid": len(self.invalid),
            "error_count": len(self.errors),
        }


@dataclass(frozen=True)
class Imported:
    created: int
    held: int
    existing: int
    skipped_invalid: int

    def as_dict(self) -> dict:
        return {
            "created": self.created,
            "held": self.held,
            "existing": self.existing,
            "skipped_invalid": self.skipped_invalid,
        }


def read_file(data: bytes) -> tuple[str, str, list[str], list[tuple[int, list[str]]]]:
    """Decode and split a file: (encoding, sha256, header, records with their row numbers).

    Raises :class:`CsvUnreadable` for a file too big, empty, in another encoding, or with
    broken quotes. Blank lines are skipped; CRLF, LF and a mix of both read alike.
    """
    if len(data) > MAX_BYTES:
        raise CsvUnreadable(
            N_(
                "The file is %(size)s MB; an order file may be at most %(limit)s MB."
                " Split it and upload the parts.",
                size=format(len(data) / 1024 / 1024, ".1f"),
                limit=MAX_BYTES // 1024 // 1024,
            )
        )
    text, encoding = decode(data)
    if not text.strip():
        raise CsvUnreadable(N_("The file is empty."))
    reader = csv.reader(
        io.StringIO(text, newline=""), delimiter=delimiter(text.split("\n", 1)[0]), strict=True
    )
    try:
        header = [h.strip().lstrip("\ufeff") for h in next(reader)]
        records = [(n, cells) for n, cells in enumerate(reader, start=2) if "".join(cells).strip()]
    except csv.Error as exc:
        raise CsvUnreadable(
            N_(
                "The file is not valid CSV near line %(line)d: check its quotes.",
                line=reader.line_num,
            )  # fmt: skip
        ) from exc
    if len(records) > MAX_LINES:
        raise CsvUnreadable(
            N_(
                "A file may hold at most %(limit)s order lines; this one has %(count)s.",
                limit=format(MAX_LINES, ","),
                count=format(len(records), ","),
            )
        )
    if not records:
        raise CsvUnreadable(N_("The file has a header but no order rows."))
    return encoding, hashlib.sha256(data).hexdigest(), header, records


def check_file(
    session: UrakataSession,
    format_key: str,
    data: bytes,
    *,
    zone: str,
    progress: Callable[[int, int], None] | None = None,
) -> FileCheck:
    """Read and validate a whole file against the shop; raises :class:`CsvUnreadable`."""
    with paused_gc():
        return _check_file(session, FORMATS[format_key], data, zone, progress)


def _check_file(session, fmt: Format, data: bytes, zone: str, progress) -> FileCheck:
    encoding, digest, header, records = read_file(data)
    orders, errors = read_orders(fmt, header, records)
    check = FileCheck(fmt, encoding, digest, len(records), orders, errors)
    for error in errors:
        if error.field == "external_id" and error.row > 1:
            check.invalid.update(o.external_id for o in orders if error.row in o.rows)
    for start in range(0, len(orders), 1000):
        chunk = orders[start : start + 1000]
        bodies = [{**order.body, "channel": fmt.channel} for order in chunk]
        for order, loaded in zip(chunk, load_orders(bodies, zone=zone), strict=True):
            if isinstance(loaded, ValidationError):
                check.invalid.add(order.external_id)
                check.errors.extend(_cell_errors(order, loaded.messages))
            else:
                order.values = loaded
        if progress:
            progress(start + len(chunk), len(orders))
    check.errors.sort(key=lambda e: (e.row, e.column))
    check.existing = _existing(session, fmt.channel, [o.external_id for o in orders])
    return check


def _cell_errors(order: FileOrder, messages: dict) -> list[CellError]:
    """The order schema's flattened errors (``lines[1].quantity``) at the file's cells."""
    return [
        CellError(*order.cell_of(path), path, message)
        for path, texts in messages.items()
        for message in texts
    ]


def _existing(session: UrakataSession, channel: str, numbers: list[str]) -> set[str]:
    """The file's order numbers the shop has already (one array parameter, one query)."""
    return set(session.scalars(_EXISTING, {"channel": channel, "numbers": numbers}))


_EXISTING = select(Order.external_id).where(
    Order.channel == bindparam("channel"),
    Order.external_id == any_(bindparam("numbers", type_=ARRAY(String))),
)


def import_orders(
    session: UrakataSession,
    *,
    actor: Actor,
    check: FileCheck,
    filename: str,
    only_valid: bool = False,
    now: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Imported:
    """Take the file's new orders in (all of them, or with ``only_valid`` the ones without
    an error, which the ledger records). Raises :class:`ImportInvalid` when the file has
    errors and ``only_valid`` is not set: then nothing is written."""
    if check.errors and not only_valid:
        raise ImportInvalid(check.errors)
    with paused_gc():
        return _import_orders(session, actor, check, filename, only_valid, now, progress)


def _import_orders(session, actor, check, filename, only_valid, now, progress) -> Imported:
    new_orders = check.valid_new
    refused: list[int] = []
    figures: list[Imported] = []

    def on_invalid(index: int, exc: OrderInvalid) -> None:  # a rule across fields
        errors = _cell_errors(new_orders[index], exc.errors)  # (a discount over the total)
        if not only_valid:
            raise ImportInvalid(errors) from exc
        check.errors.extend(errors)
        refused.append(index)

    def summary(taken: list[TakenIn]) -> PendingEvent:
        created = sum(one.id is not None for one in taken)
        figures.append(Imported(
            created=created,
            held=sum(one.status == "on_hold" for one in taken),
            # Known meanwhile: taken in by the API or a webhook since the check; it is there.
            existing=len(check.existing) + len(taken) - created,
            skipped_invalid=len(check.invalid) + len(refused),
        ))  # fmt: skip
        data = {"filename": filename[:200], **check.summary(), **figures[0].as_dict(),
                "only_valid": only_valid}  # fmt: skip
        return PendingEvent(IMPORT_ACTION, "order_import", check.sha256[:16], data=data)

    intake_many(
        session,
        actor=actor,
        loaded=[file_order.values for file_order in new_orders],
        channel=check.format.channel,
        now=now,
        on_invalid=on_invalid,
        progress=progress,
        summary=summary,
        batch=INTAKE_BATCH,
    )
    return figures[0]


# -- the job's start (the job is urakata.worker.order_import_jobs) -----------------------

IMPORT_KIND = "orders.import"
IMPORT_JOB = "orders.import_file"
IMPORT_QUEUE = "default"


def start_import(
    session: UrakataSession,
    *,
    actor: Actor,
    check: FileCheck,
    text: str,
    filename: str,
    only_valid: bool,
) -> tasks.ShopTask:
    """Start the import of a checked file (after commit); the task holds the file."""
    task = tasks.start_task(
        session, kind=IMPORT_KIND, actor=actor, job=IMPORT_JOB, queue=IMPORT_QUEUE
    )
    task.progress_total = 2 * len(check.orders)
    task.result = {
        "upload": {
            "text": text,
            "format": check.format.key,
            "sha256": check.sha256,
            "filename": filename[:200],
            "only_valid": only_valid,
        }
    }
    return task
