"""Order files from the carts: checked whole, then taken in all at once (or only the valid
orders, when the user says so).

:func:`check_file` reads the file (UTF-8 or CP932, comma or tab), turns its rows into
orders (``formats``), validates each with the order service's own schema fields (the
schema itself names what is wrong, by row and column) and its rule across fields; it
writes nothing. :func:`import_orders` takes a checked file in through
:class:`~urakata.tenants.orders.services.Intake` (the same checks and holds as the API;
COPY, 2,000 orders a time, written while the next ones are checked) in the caller's
transaction: every order of the file or none. :func:`import_file` (the job's) does both
at once, the check in a second process for a big file. Orders the shop has already (the
channel's order number) are counted, not taken again, so importing the same file twice
changes nothing. The ledger gets one event for the import and each order's own events,
recorded together at the end: the shop's chain is locked only from then to commit, not
while the orders are checked."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from marshmallow import ValidationError
from sqlalchemy import String, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY

from urakata.platform import tasks
from urakata.platform.audit import Actor, PendingEvent
from urakata.platform.bulk import can_fork, forked, paused_gc
from urakata.platform.csvfiles import CellError, CsvUnreadable, decode, delimiter
from urakata.platform.db import UrakataSession
from urakata.platform.fields import N_
from urakata.tenants.orders.imports.formats import FORMATS, FileOrder, Format, iter_orders
from urakata.tenants.orders.models import Order
from urakata.tenants.orders.schemas import load_orders
from urakata.tenants.orders.services import Intake, OrderInvalid, TakenIn, checked_ahead

MAX_BYTES = 50 * 1024 * 1024
MAX_LINES = 200_000
INTAKE_BATCH = 2_000  # orders written per COPY while the next ones are checked
FORK_BYTES = 512 * 1024  # a file this big is checked by a second process while taken in
IMPORT_ACTION = "orders.imported"


class ImportInvalid(ValueError):
    """The file has errors and the user did not choose to import only the valid orders."""

    def __init__(self, errors: list[CellError], check: FileCheck | None = None):
        super().__init__(f"{len(errors)} errors")
        self.errors = errors
        self.check = check


@dataclass
class FileCheck:
    """What a file holds and what is wrong with it; nothing written. ``orders`` are the
    file's orders after :func:`check_file`; :func:`import_file` takes them in as they come
    and keeps only their count (``order_count``, which both set)."""

    format: Format
    encoding: str
    sha256: str
    lines: int
    orders: list[FileOrder]
    errors: list[CellError]
    invalid: set[str] = field(default_factory=set)  # order numbers with an error
    existing: set[str] = field(default_factory=set)  # order numbers the shop has already
    order_count: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    def add(self, piece: _Piece, keep: bool = True) -> None:
        if keep:
            self.orders.extend(piece.orders)
        self.order_count += len(piece.orders)
        self.errors.extend(piece.errors)
        self.invalid |= piece.invalid

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
            "orders": self.order_count,
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
        records = [
            (n, cells)
            for n, cells in enumerate(reader, start=2)
            if cells and (cells[0].strip() or "".join(cells).strip())
        ]  # not blank
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
        pieces = _checked_pieces(FORMATS[format_key], data, zone)
        check = FileCheck(FORMATS[format_key], *next(pieces), orders=[], errors=[])
        for piece in pieces:
            check.add(piece)
            if progress:
                progress(piece.rows, check.lines)
        check.errors.sort(key=lambda e: (e.row, e.column))
        check.existing = _existing(session, check.format.channel, [o.external_id for o in
                                                                   check.orders])  # fmt: skip
        return check


@dataclass
class _Piece:
    """Some orders of a file, checked: their values, or their errors (``invalid``)."""

    orders: list[FileOrder]
    errors: list[CellError]  # found since the piece before (rows without an order too)
    invalid: set[str]
    rows: int  # the file's rows read so far


def _checked_pieces(fmt: Format, data: bytes, zone: str) -> Iterator:
    """A file read and checked a piece at a time: first (encoding, sha256, lines), then
    a :class:`_Piece` for each ``INTAKE_BATCH`` orders (the first smaller, and one more
    for problems after the last order). Nothing here touches the database: it may run
    in a second process."""
    encoding, digest, header, records = read_file(data)
    yield encoding, digest, len(records)
    errors: list[CellError] = []
    told, rows = 0, 0
    first = max(1, INTAKE_BATCH // 8)  # (the intake starts on it while the next is read)
    for orders in iter_orders(fmt, header, records, errors, chunk=INTAKE_BATCH, first=first):
        invalid = {o.external_id for o in orders if o.conflicting}
        bodies = [{**order.body, "channel": fmt.channel} for order in orders]
        for order, loaded in zip(orders, load_orders(bodies, zone=zone), strict=True):
            order.body = {}  # (not needed once checked, and not sent to another process)
            if isinstance(loaded, ValidationError):
                invalid.add(order.external_id)
                errors.extend(_cell_errors(order, loaded.messages))
                continue
            try:
                order.values = checked_ahead(loaded, fmt.channel)
            except OrderInvalid as exc:  # a rule across fields: a discount over the total
                invalid.add(order.external_id)
                errors.extend(_cell_errors(order, exc.errors))
                continue
            # Valid: where its fields were read is not needed any more (nor sent across).
            order.where, order.line_cells = {}, []
        rows += sum(len(order.rows) for order in orders)
        yield _Piece(orders, errors[told:], invalid, rows)
        told = len(errors)
    if len(errors) > told:  # (rows without an order number after the last order)
        yield _Piece([], errors[told:], set(), len(records))


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
    """Take a checked file's new orders in (all of them, or with ``only_valid`` the ones
    without an error, which the ledger records). Raises :class:`ImportInvalid` when the
    file has errors and ``only_valid`` is not set: then nothing is written."""
    if check.errors and not only_valid:
        raise ImportInvalid(check.errors, check)
    new_orders = check.valid_new
    with paused_gc():
        run = _Run(session, actor, check, filename, only_valid, now, progress, len(new_orders))
        with run.intake:
            run.take(new_orders)
            return run.finish()


def import_file(
    session: UrakataSession,
    *,
    actor: Actor,
    format_key: str,
    data: bytes,
    zone: str,
    filename: str,
    only_valid: bool = False,
    sha256: str | None = None,
    now: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[FileCheck, Imported]:
    """Check a file and take its orders in, in one go (what the import job runs): the
    result of :func:`check_file` then :func:`import_orders`, in less time.

    A big file is checked by a second process (:func:`~urakata.platform.bulk.forked`),
    which hands the orders out ``INTAKE_BATCH`` at a time as it reads them, and each
    piece is taken in as it comes, so the file's last orders are checked while its
    first are written. It is still all or nothing: the orders go in inside a savepoint,
    and when an error turns up (and ``only_valid`` is not set), the rest of the file is
    only checked, so that every error is listed, the savepoint is rolled back and
    :class:`ImportInvalid` is raised with them all (``check`` on it). Raises
    :class:`CsvUnreadable` as :func:`check_file` does. ``sha256``: the file's digest
    as it was uploaded, when ``data`` is its text encoded again. ``progress(rows, lines)``.
    """
    fmt = FORMATS[format_key]
    in_parallel = len(data) >= FORK_BYTES and can_fork()
    with (
        paused_gc(),
        (forked if in_parallel else _here)(_checked_pieces, fmt, data, zone) as pieces,
    ):
        check = FileCheck(fmt, *next(pieces), orders=[], errors=[])
        check.sha256 = sha256 or check.sha256
        run = _Run(session, actor, check, filename, only_valid, now, None, 0)
        savepoint = session.begin_nested()
        session.connection()  # the SAVEPOINT is sent now, before the writer's statements
        try:
            with run.intake:
                for piece in pieces:
                    check.add(piece, keep=False)
                    if check.ok or only_valid:
                        run.take([o for o in piece.orders if o.external_id not in check.invalid])
                    if progress:
                        progress(piece.rows, check.lines)
                check.errors.sort(key=lambda e: (e.row, e.column))
                if not check.ok and not only_valid:
                    raise ImportInvalid(check.errors, check)
                imported = run.finish()
        except BaseException:
            if savepoint.is_active:
                savepoint.rollback()
            raise
        savepoint.commit()
        del run  # (before the collector is back: what it held is garbage, not walked)
    return check, imported


@contextmanager
def _here(produce: Callable[..., Iterable], *args) -> Iterator[Iterator]:
    """:func:`~urakata.platform.bulk.forked`'s stand-in for a small file: this process."""
    yield iter(produce(*args))


class _Run:
    """One import's intake (:class:`~urakata.tenants.orders.services.Intake`) and its
    figures: the file's orders are given to it in pieces; a rule across an order's
    fields (a discount over the total) is an error at the order's cells."""

    def __init__(self, session, actor, check, filename, only_valid, now, progress, total):
        self.check, self.filename, self.only_valid = check, filename, only_valid
        self.given: list[FileOrder] = []
        self.refused = 0
        self.intake = Intake(session, actor=actor, channel=check.format.channel, now=now,
                             on_invalid=self.on_invalid, progress=progress,
                             batch=INTAKE_BATCH, total=total)  # fmt: skip

    def take(self, orders: list[FileOrder]) -> None:
        self.given.extend(orders)
        self.intake.take([order.values for order in orders])
        for order in orders:  # the intake has them now; the check keeps what names cells
            order.values = None

    def on_invalid(self, index: int, exc: OrderInvalid) -> None:
        errors = _cell_errors(self.given[index], exc.errors)
        if not self.only_valid:
            raise ImportInvalid(errors, self.check) from exc
        self.check.errors.extend(errors)
        self.refused += 1

    def finish(self) -> Imported:
        figures: list[Imported] = []

        def summary(taken: list[TakenIn]) -> PendingEvent:
            # Known meanwhile: taken in by the API or a webhook since the check; it is there.
            check = self.check
            check.existing |= {one.external_id for one in taken if one.id is None}
            figures.append(Imported(
                created=sum(one.id is not None for one in taken),
                held=sum(one.status == "on_hold" for one in taken),
                existing=len(check.existing),
                skipped_invalid=len(check.invalid) + self.refused,
            ))  # fmt: skip
            data = {"filename": self.filename[:200], **check.summary(),
                    **figures[0].as_dict(), "only_valid": self.only_valid}  # fmt: skip
            return PendingEvent(IMPORT_ACTION, "order_import", check.sha256[:16], data=data)

        self.intake.finish(summary)
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
    task.progress_total = check.lines  # the job reports the rows it has read and taken in
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
