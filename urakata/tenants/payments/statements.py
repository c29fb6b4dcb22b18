"""Bank statements: read the file a bank gives, keep its deposits, match what is certain.

The file is CSV (UTF-8 or CP932, comma or tab) with a header row; banks name their
columns differently, so each field has aliases (取引日 / 日付, 入金額 / お預入金額,
振込依頼人名 / 摘要…). Every row is checked before anything is written: a bad date, a
bad amount, a missing column is a :class:`CellError` naming the row and the column, and
the whole file is refused (nothing half-imported). Withdrawals are skipped; a deposit
seen in an earlier upload (the same bank reference, else the same day, amount, name and
position among its twins) is skipped too, so overlapping statements import once.

New deposits are matched automatically only when exactly one waiting bank-transfer
order has the remitter's name (``kana.name_key``) and exactly the amount due; the rest
wait on the manual desk (``matching``) with the reason: ambiguous, short, over, bundled,
unknown. Services never commit.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert

from urakata.platform import audit
from urakata.platform.audit import Actor
from urakata.platform.csvfiles import CellError, CsvUnreadable, decode, delimiter, header_key
from urakata.platform.db import UrakataSession, utcnow
from urakata.platform.fields import N_, Message
from urakata.platform.tenancy import Tenant
from urakata.tenants.orders.models import Order
from urakata.tenants.payments import matching
from urakata.tenants.payments.gates import OPEN_STATUSES, received_yen
from urakata.tenants.payments.kana import NameKey, digits_of, is_kana_name, name_key
from urakata.tenants.payments.models import BankStatement, BankStatementLine

MAX_DEPOSITS = 5_000  # a month of one shop's transfers is far below this
REMITTER_MAX = 100
FUTURE_SLACK = timedelta(days=1)  # a bank's value date may be tomorrow in our zone

# field -> header aliases (compared by csvfiles.header_key: NFKC, lower case, no spaces)
ALIASES = {
    "date": ("取引日", "日付", "年月日", "入金日", "勘定日", "取扱日", "お取引日", "取引年月日",
             "date", "valuedate"),
    "deposit": ("入金額", "入金金額", "預入金額", "お預入金額", "お預入れ金額", "預入額",
                "お預入れ額", "お預り金額", "入金", "deposit", "credit"),
    "withdrawal": ("出金額", "出金金額", "引出金額", "お引出金額", "お引出し金額", "支払金額",
                   "お支払金額", "出金", "withdrawal", "debit"),
    "amount": ("金額", "取引金額", "amount"),
    "kind": ("入出金区分", "入払区分", "区分", "取引区分", "type"),
    "remitter": ("振込依頼人名", "振込依頼人", "依頼人名", "振込人名", "振込人", "remitter",
                 "name"),
    "description": ("摘要", "お取引内容", "取引内容", "内容", "description"),
    "reference": ("取引番号", "照会番号", "問合せ番号", "reference"),
    "balance": ("残高", "差引残高", "balance"),
}  # fmt: skip
FIELD_OF = {header_key(alias): name for name, aliases in ALIASES.items() for alias in aliases}
FIELD_NAMES = {
    "date": "取引日",
    "deposit": "入金額",
    "remitter": "振込依頼人名",
}
_TRANSFER_WORD = re.compile(r"^(?:振込|振替|フリコミ|フリカエ)\s*")  # a 摘要 that says "transfer:"
_BANK_TRANSFER_WORD = re.compile(r"^(?:振込|振替|ﾌﾘｺﾐ|ﾌﾘｶｴ|フリコミ|フリカエ)\s*")
_DATE_FORMS = (
    (re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})"), 0),
    (re.compile(r"(\d{4})(\d{2})(\d{2})"), 0),
    (re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日"), 0),
    (re.compile(r"(?:R|令和)(\d{1,2}|元)[-/.年](\d{1,2})[-/.月](\d{1,2})日?"), 2018),
)
_AMOUNT = re.compile(r"([+\-▲△]?)([0-9]{1,12})(?:\.0+)?")


class StatementInvalid(ValueError):
    """The file cannot be imported; ``errors`` name each row and column at fault."""

    def __init__(self, errors: list[CellError], encoding: str = ""):
        super().__init__(f"{len(errors)} errors in the statement")
        self.errors = errors
        self.encoding = encoding


@dataclass(frozen=True)
class Deposit:
    row: int
    value_date: date
    amount_yen: int
    remitter: str
    key: bytes  # the same deposit in another upload has the same key

    @property
    def name(self) -> NameKey:
        return name_key(_TRANSFER_WORD.sub("", unicodedata.normalize("NFKC", self.remitter)))


@dataclass
class ParsedStatement:
    encoding: str
    deposits: list[Deposit]
    withdrawals: int
    ignored_columns: list[str] = field(default_factory=list)


# -- reading -------------------------------------------------------------------------------


def parse_date(text: str) -> date | None:
    cell = unicodedata.normalize("NFKC", text).strip().split(" ")[0]
    for pattern, era in _DATE_FORMS:
        match = pattern.fullmatch(cell)
        if match is None:
            continue
        year, month, day = match.groups()
        year = 1 if year == "元" else int(year)
        try:
            return date(year + era, int(month), int(day))
        except ValueError:
            return None
    return None


def parse_amount(text: str) -> int | None:
    """Whole yen; 1,234 / ¥1,234 / 1234円 / ▲1,234 (negative) / 1234.00; None if not."""
    cell = unicodedata.normalize("NFKC", text).strip()
    for mark in ("¥", "円", ",", " "):
        cell = cell.replace(mark, "")
    match = _AMOUNT.fullmatch(cell)
    if match is None:
        return None
    sign = -1 if match.group(1) in ("-", "▲", "△") else 1
    return sign * int(match.group(2))


def _map_header(headers: list[str]) -> tuple[dict[str, int], list[str], list[CellError]]:
    index: dict[str, int] = {}
    ignored, errors = [], []
    for i, header in enumerate(headers):
        name = FIELD_OF.get(header_key(header))
        if name is None:
            ignored.append(header)
        elif name in index:
            errors.append(CellError(1, header, name, N_(
                "The columns %(first)s and %(second)s are the same field; keep one.",
                first=headers[index[name]], second=header)))  # fmt: skip
        else:
            index[name] = i
    if not index:
        first = headers[0] if headers else ""
        return index, ignored, [CellError(1, first, "", N_(
            "This is not a bank statement: the first row must name the columns (such as"
            " 取引日, 入金額, 振込依頼人名). Check the file and its encoding."))]  # fmt: skip
    needs = (("date",), ("deposit", "amount"), ("remitter", "description"))
    for names in needs:
        if not any(n in index for n in names):
            wanted = FIELD_NAMES[names[0]]
            errors.append(CellError(1, wanted, names[0], N_(
                "The required column %(column)s is missing.", column=wanted)))  # fmt: skip
    return index, ignored, errors


def read_statement(data: bytes, *, today: date) -> ParsedStatement:
    """Every row checked; raises :class:`StatementInvalid` (or ``CsvUnreadable``)."""
    text, encoding = decode(data)
    if not text.strip():
        raise CsvUnreadable(N_("The file is empty."))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter(text.split("\n", 1)[0]))
    try:
        headers = [h.strip() for h in next(reader)]
        index, ignored, errors = _map_header(headers)
        rows = [(n, cells) for n, cells in enumerate(reader, start=2) if "".join(cells).strip()]
    except csv.Error as exc:
        raise CsvUnreadable(N_("The file is not valid CSV near line %(line)d: check its quotes.",
                               line=reader.line_num)) from exc  # fmt: skip
    if errors:
        raise StatementInvalid(errors, encoding)
    reading = _RowReader(headers, index, today)
    deposits: list[Deposit] = []
    twins: dict[tuple, int] = {}
    for number, cells in rows:
        deposit = reading.row(number, cells)
        if deposit is None:
            continue
        if "reference" in index and deposit[3]:
            key = hashlib.sha256(f"ref|{deposit[3]}".encode()).digest()
        else:
            same = (deposit[0], deposit[1], deposit[2])
            twins[same] = twins.get(same, -1) + 1
            key = hashlib.sha256(f"{same[0]}|{same[1]}|{same[2]}|{twins[same]}".encode()).digest()
        deposits.append(Deposit(number, deposit[0], deposit[1], deposit[2], key))
    if reading.errors:
        raise StatementInvalid(reading.errors, encoding)
    if not deposits and not reading.withdrawals:
        raise CsvUnreadable(N_("The file has a header but no rows."))
    if len(deposits) > MAX_DEPOSITS:
        limit, count = format(MAX_DEPOSITS, ","), format(len(deposits), ",")
        raise CsvUnreadable(N_(
            "A statement may hold at most %(limit)s deposits; this one has %(count)s. Split it"
            " by date.", limit=limit, count=count))  # fmt: skip
    return ParsedStatement(encoding, deposits, reading.withdrawals, ignored)


class _RowReader:
    def __init__(self, headers: list[str], index: dict[str, int], today: date):
        self.headers, self.index, self.today = headers, index, today
        self.errors: list[CellError] = []
        self.withdrawals = 0

    def cell(self, cells: list[str], name: str) -> str:
        i = self.index.get(name)
        return cells[i].strip() if i is not None and i < len(cells) else ""

    def error(self, row: int, name: str, message: Message) -> None:
        self.errors.append(CellError(row, self.headers[self.index[name]], name, message))

    def row(self, row: int, cells: list[str]) -> tuple[date, int, str, str] | None:
        """(date, amount, remitter, reference) of a deposit; None for a withdrawal or an
        error (recorded)."""
        errors_before = len(self.errors)
        day = self._date(row, cells)
        amount = self._deposit(row, cells)
        source = "remitter" if "remitter" in self.index else "description"
        remitter = unicodedata.normalize("NFKC", self.cell(cells, source))
        if amount is not None and len(remitter) > REMITTER_MAX:
            self.error(row, source, N_("Use at most %(limit)d characters (this has %(count)d).",
                                       limit=REMITTER_MAX, count=len(remitter)))  # fmt: skip
        if amount is None or len(self.errors) > errors_before:
            return None
        shown = self.cell(cells, source)
        if source == "description":  # 摘要 says "振込 ﾔﾏﾀﾞ ﾀﾛｳ": the name is the rest
            shown = _BANK_TRANSFER_WORD.sub("", shown)
        return day, amount, shown, self.cell(cells, "reference")

    def _date(self, row: int, cells: list[str]) -> date | None:
        text = self.cell(cells, "date")
        day = parse_date(text) if text else None
        if day is None:
            self.error(row, "date", N_("%(value)s is not a date; write it as 2026/12/01.",
                                       value=text[:40] or "—"))  # fmt: skip
        elif day > self.today + FUTURE_SLACK:
            self.error(row, "date", N_("%(value)s is in the future.", value=day.isoformat()))
        return day

    def _deposit(self, row: int, cells: list[str]) -> int | None:
        """The deposit in yen; None for a withdrawal (counted) or an error (recorded)."""
        if "deposit" in self.index:
            return self._split_columns(row, cells)
        text = self.cell(cells, "amount")
        amount = parse_amount(text) if text else None
        if amount is None or amount == 0:
            self.error(row, "amount", N_("%(value)s is not an amount in yen.",
                                         value=text[:40] or "—"))  # fmt: skip
            return None
        kind = unicodedata.normalize("NFKC", self.cell(cells, "kind"))
        if "kind" in self.index and not ("入" in kind or "出" in kind or "支払" in kind):
            self.error(row, "kind", N_("%(value)s is neither a deposit (入金) nor a withdrawal"
                                       " (出金).", value=kind[:40] or "—"))  # fmt: skip
            return None
        if amount < 0 or "出" in kind or "支払" in kind:
            self.withdrawals += 1
            return None
        return amount

    def _split_columns(self, row: int, cells: list[str]) -> int | None:
        text = self.cell(cells, "deposit")
        if not text:
            out = self.cell(cells, "withdrawal")
            if out and (parse_amount(out) or 0) > 0:
                self.withdrawals += 1
            else:
                self.error(row, "deposit", N_("The row has neither a deposit nor a withdrawal."))
            return None
        amount = parse_amount(text)
        if amount is None or amount <= 0:
            self.error(row, "deposit", N_("%(value)s is not an amount in yen; a deposit is a"
                                          " whole number above 0.", value=text[:40]))  # fmt: skip
            return None
        return amount


# -- importing -----------------------------------------------------------------------------


@dataclass(frozen=True)
class StatementImport:
    statement: BankStatement | None  # None: every deposit was imported before
    new: int
    known: int
    withdrawals: int
    matched: int
    review: int
    ignored_columns: list[str]


_LINES = BankStatementLine.__table__


def import_statement(
    session: UrakataSession,
    *,
    actor: Actor,
    data: bytes,
    filename: str,
    now: datetime | None = None,
) -> StatementImport:
    """Read, keep the new deposits, match what is certain. Raises ``CsvUnreadable`` or
    :class:`StatementInvalid`, having written nothing."""
    now = now or utcnow()
    tenant = session.get(Tenant, session.tenant_id)
    parsed = read_statement(data, today=now.astimezone(tenant.zone).date())
    keys = [d.key for d in parsed.deposits]
    known = set(session.scalars(select(BankStatementLine.line_key)
                                .where(BankStatementLine.line_key.in_(keys))))  # fmt: skip
    new = [d for d in parsed.deposits if d.key not in known]
    if not new:
        return StatementImport(None, 0, len(known), parsed.withdrawals, 0, 0,
                               parsed.ignored_columns)  # fmt: skip
    statement = BankStatement(
        filename=(filename or "statement.csv")[:200], encoding=parsed.encoding,
        uploaded_at=now, uploaded_by_name=actor.label[:200], line_count=0,
        known_count=len(known), withdrawal_count=parsed.withdrawals,
        first_date=min(d.value_date for d in new), last_date=max(d.value_date for d in new),
    )  # fmt: skip
    session.add(statement)
    session.flush()
    inserted = session.execute(
        insert(_LINES).on_conflict_do_nothing().returning(_LINES.c.id),
        [{"tenant_id": session.tenant_id, "statement_id": statement.id, "row_no": d.row,
          "line_key": d.key, "value_date": d.value_date, "amount_yen": d.amount_yen,
          "remitter": d.remitter, "remitter_key": _key_text(d.name), "status": "review",
          "surplus_yen": 0, "note": "", "version": 1, "decided_by_name": ""} for d in new],
    ).scalars().all()  # fmt: skip
    statement.line_count = len(inserted)
    statement.known_count += len(new) - len(inserted)  # imported by a concurrent upload
    lines = list(session.scalars(
        select(BankStatementLine).where(BankStatementLine.statement_id == statement.id)
        .order_by(BankStatementLine.value_date, BankStatementLine.row_no)
    ))  # fmt: skip
    matched = auto_match(session, actor=actor, lines=lines, now=now)
    audit.record(session, actor, "bank_statement.imported", object_type="bank_statement",
                 object_id=statement.id,
                 data={"filename": statement.filename, "encoding": statement.encoding,
                       "deposits": len(lines), "known": statement.known_count,
                       "withdrawals": statement.withdrawal_count, "matched": matched,
                       "review": len(lines) - matched})  # fmt: skip
    return StatementImport(statement, len(lines), statement.known_count, parsed.withdrawals,
                           matched, len(lines) - matched, parsed.ignored_columns)  # fmt: skip


def _key_text(key: NameKey) -> str:
    return f"{key.name}|{key.digits}"[:100]


def line_name(line: BankStatementLine) -> NameKey:
    name, _bar, digits = line.remitter_key.partition("|")
    return NameKey(name, digits)


def order_name(order: Order) -> NameKey:
    """The name a customer's bank would print: the kana, else a name written in kana."""
    if order.customer_kana:
        return name_key(order.customer_kana)
    if is_kana_name(order.customer_name):
        return name_key(order.customer_name)
    return name_key(order.customer_name) if order.customer_name.isascii() else NameKey("", "")


@dataclass
class Candidate:
    order: Order
    name: NameKey
    due: int


def waiting_transfers(session: UrakataSession, *, lock: bool = False) -> list[Candidate]:
    """Open bank-transfer orders not paid in full, with what each still has to receive."""
    stmt = select(Order).where(Order.payment_method == "bank_transfer",
                               Order.status.in_(OPEN_STATUSES),
                               Order.payment_status.not_in(("paid", "refunded")))  # fmt: skip
    if lock:
        stmt = stmt.with_for_update()
    found = list(session.scalars(stmt.order_by(Order.id)))
    received = received_yen(session, [o.id for o in found])
    return [Candidate(o, order_name(o), o.total_yen - received.get(o.id, 0)) for o in found]


def review_reason(amount: int, same_name: list[Candidate]) -> str:
    """Why a deposit that matched no single order waits for a person."""
    if not same_name:
        return "unknown"
    dues = [c.due for c in same_name]
    if len(same_name) > 1 and sum(dues) == amount:
        return "bundled"
    if all(amount < d for d in dues):
        return "short"
    if all(amount > d for d in dues):
        return "over" if len(same_name) == 1 else "ambiguous"
    return "ambiguous"


def auto_match(
    session: UrakataSession, *, actor: Actor, lines: list[BankStatementLine], now: datetime
) -> int:
    """Match each line to the one waiting order with its name and amount; set the review
    reason of the others. The waiting orders are locked while this runs. Returns how many
    lines were matched."""
    by_name: dict[str, list[Candidate]] = {}
    for candidate in waiting_transfers(session, lock=True):
        if candidate.name and candidate.due > 0:
            by_name.setdefault(candidate.name.name, []).append(candidate)
    matched = 0
    for line in lines:
        key = line_name(line)
        same = [c for c in by_name.get(key.name, []) if c.due > 0] if key else []
        exact = [c for c in same if c.due == line.amount_yen]
        if len(exact) > 1 and key.digits:
            exact = [c for c in exact if digits_of(c.order.external_id) == key.digits] or exact
        if len(exact) == 1:
            matching.apply_match(session, actor=actor, line=line, method="auto", now=now,
                                 allocations=[(exact[0].order, line.amount_yen)])  # fmt: skip
            exact[0].due = 0
            matched += 1
        else:
            line.review_reason = "ambiguous" if exact else review_reason(line.amount_yen, same)
    session.flush()
    return matched


# -- reading back ----------------------------------------------------------------------------


@dataclass(frozen=True)
class StatementRow:
    statement: BankStatement
    review: int
    matched: int
    ignored: int


def list_statements(
    session: UrakataSession, *, after_id: int | None = None, limit: int = 30
) -> tuple[list[StatementRow], int | None]:
    """The shop's statements, newest first (keyset by id), with their lines' states."""
    stmt = select(BankStatement).order_by(BankStatement.id.desc()).limit(limit + 1)
    if after_id:
        stmt = stmt.where(BankStatement.id < after_id)
    found = list(session.scalars(stmt))
    page = found[:limit]
    counts: dict[int, dict[str, int]] = {}
    if page:
        rows = session.execute(
            select(BankStatementLine.statement_id, BankStatementLine.status, func.count())
            .where(BankStatementLine.statement_id.in_([s.id for s in page]))
            .group_by(BankStatementLine.statement_id, BankStatementLine.status)
        )  # fmt: skip
        for statement_id, status, count in rows:
            counts.setdefault(statement_id, {})[status] = count
    result = [StatementRow(s, counts.get(s.id, {}).get("review", 0),
                           counts.get(s.id, {}).get("matched", 0),
                           counts.get(s.id, {}).get("ignored", 0)) for s in page]  # fmt: skip
    return result, (page[-1].id if len(found) > limit else None)


def statement_lines(
    session: UrakataSession, statement_id: int, status: str | None = None
) -> list[BankStatementLine]:
    stmt = select(BankStatementLine).where(BankStatementLine.statement_id == statement_id)
    if status:
        stmt = stmt.where(BankStatementLine.status == status)
    return list(session.scalars(stmt.order_by(BankStatementLine.row_no)))


def review_queue(session: UrakataSession, limit: int = 200) -> list[BankStatementLine]:
    """Deposits waiting for a person, oldest first."""
    return list(session.scalars(
        select(BankStatementLine).where(BankStatementLine.status == "review")
        .order_by(BankStatementLine.value_date, BankStatementLine.id).limit(limit)
    ))  # fmt: skip


def review_count(session: UrakataSession) -> int:
    return session.scalar(
        select(func.count()).select_from(BankStatementLine)
        .where(BankStatementLine.status == "review")
    )  # fmt: skip
