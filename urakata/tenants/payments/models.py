"""The payment tables (tenant-owned): settings, notices, bank statements and matches.

A deposit on a bank statement line pays orders through :class:`PaymentMatch` rows; an
order's received amount is the sum of its live matches (``undone_at`` is null). Undoing
a match keeps its row (who matched, who undid, when): matching is reversible and its
history stays readable beside the ledger's events.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from urakata.platform.db import Base, TenantOwned, row_id, utcnow

ATOBARAI_NG_POLICIES = ("hold", "cancel")
ACCOUNT_TYPES = ("ordinary", "checking")
# What a payment notice says happened (credit_* are the three 後払い credit results).
EVENT_KINDS = ("authorized", "paid", "refunded", "voided", "credit_ok", "credit_ng", "credit_hold")
EVENT_SOURCES = ("api", "portal")
LINE_STATUSES = ("review", "matched", "ignored")
# Why a deposit waits for a person: two orders fit, less or more than an order's due,
# one deposit for several orders, nobody of that name waits.
REVIEW_REASONS = ("ambiguous", "short", "over", "bundled", "unknown")
MATCH_METHODS = ("auto", "manual")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _order_fk(column: str = "order_id") -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["tenant_id", column], ["sales_order.tenant_id", "sales_order.id"], ondelete="CASCADE"
    )


class PaymentSettings(TenantOwned, Base):
    """One row per shop (absent: the defaults). ``version`` guards concurrent edits."""

    __tablename__ = "payment_settings"
    __table_args__ = (
        CheckConstraint("konbini_expiry_days BETWEEN 1 AND 30", name="konbini_expiry"),
        CheckConstraint("reminder_after_days BETWEEN 1 AND 60", name="reminder_after"),
        CheckConstraint("transfer_due_days BETWEEN 1 AND 60", name="transfer_due"),
        CheckConstraint(_in("atobarai_ng_policy", ATOBARAI_NG_POLICIES), name="ng_policy"),
        CheckConstraint(_in("bank_account_type", ACCOUNT_TYPES), name="account_type"),
    )

    version: Mapped[int] = mapped_column(Integer, default=1)
    # Konbini slips usually expire three days after the order (domain/japan.md).
    konbini_expiry_days: Mapped[int] = mapped_column(Integer, default=3)
    atobarai_ng_policy: Mapped[str] = mapped_column(String(8), default="hold")
    reminder_after_days: Mapped[int] = mapped_column(Integer, default=3)
    transfer_due_days: Mapped[int] = mapped_column(Integer, default=7)
    bank_name: Mapped[str] = mapped_column(String(40), default="")
    bank_branch: Mapped[str] = mapped_column(String(40), default="")
    bank_account_type: Mapped[str] = mapped_column(String(8), default="ordinary")
    bank_account_number: Mapped[str] = mapped_column(String(7), default="")
    bank_account_holder: Mapped[str] = mapped_column(String(60), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_name: Mapped[str] = mapped_column(String(200), default="")

    __mapper_args__ = {"version_id_col": version}


class PaymentEvent(TenantOwned, Base):
    """A payment notice about one order, from the shop's systems (API) or a person.

    ``event_id`` is the sender's id of the notice: the same notice twice is one row and
    one effect (``digest`` tells a true repeat from another notice under a reused id).
    """

    __tablename__ = "payment_event"
    __table_args__ = (
        _order_fk(),
        UniqueConstraint("tenant_id", "event_id"),
        Index("ix_payment_event_tenant_id_order_id", "tenant_id", "order_id"),
        CheckConstraint(_in("kind", EVENT_KINDS), name="kind"),
        CheckConstraint(_in("source", EVENT_SOURCES), name="source"),
        CheckConstraint("amount_yen IS NULL OR amount_yen > 0", name="amount"),
    )

    id: Mapped[int] = row_id()
    order_id: Mapped[int] = mapped_column(BigInteger)
    event_id: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    amount_yen: Mapped[int | None] = mapped_column(BigInteger)
    occurred_at: Mapped[datetime | None]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    source: Mapped[str] = mapped_column(String(8))
    actor_label: Mapped[str] = mapped_column(String(200), default="")
    note: Mapped[str] = mapped_column(String(200), default="")
    digest: Mapped[bytes] = mapped_column(LargeBinary)
    effect: Mapped[str] = mapped_column(String(16), default="")


class BankStatement(TenantOwned, Base):
    """One uploaded statement file of the shop's bank account (its deposits are lines)."""

    __tablename__ = "bank_statement"
    __table_args__ = (Index("ix_bank_statement_tenant_id_uploaded_at", "tenant_id", "uploaded_at"),)

    id: Mapped[int] = row_id()
    filename: Mapped[str] = mapped_column(String(200))
    encoding: Mapped[str] = mapped_column(String(16))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    uploaded_by_name: Mapped[str] = mapped_column(String(200), default="")
    line_count: Mapped[int] = mapped_column(Integer, default=0)
    known_count: Mapped[int] = mapped_column(Integer, default=0)  # imported before: skipped
    withdrawal_count: Mapped[int] = mapped_column(Integer, default=0)  # not deposits: skipped
    first_date: Mapped[date | None] = mapped_column(Date)
    last_date: Mapped[date | None] = mapped_column(Date)


class BankStatementLine(TenantOwned, Base):
    """One deposit: matched to orders, waiting for review, or ignored (not an order's)."""

    __tablename__ = "bank_statement_line"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "statement_id"],
            ["bank_statement.tenant_id", "bank_statement.id"],
            ondelete="CASCADE",
        ),
        UniqueConstraint("tenant_id", "line_key"),
        Index("ix_bank_statement_line_tenant_id_status_value_date",
              "tenant_id", "status", "value_date"),
        Index("ix_bank_statement_line_tenant_id_statement_id_row_no",
              "tenant_id", "statement_id", "row_no"),
        CheckConstraint(_in("status", LINE_STATUSES), name="status"),
        CheckConstraint(f"review_reason IS NULL OR {_in('review_reason', REVIEW_REASONS)}",
                        name="review_reason"),
        CheckConstraint("amount_yen > 0 AND surplus_yen >= 0", name="amounts"),
    )  # fmt: skip

    id: Mapped[int] = row_id()
    statement_id: Mapped[int] = mapped_column(BigInteger)
    row_no: Mapped[int] = mapped_column(Integer)  # the file's row (the header is row 1)
    line_key: Mapped[bytes] = mapped_column(LargeBinary)  # the same deposit in another upload
    value_date: Mapped[date] = mapped_column(Date)
    amount_yen: Mapped[int] = mapped_column(BigInteger)
    remitter: Mapped[str] = mapped_column(String(100))  # as the bank wrote it
    remitter_key: Mapped[str] = mapped_column(String(100))  # normalised for matching
    status: Mapped[str] = mapped_column(String(8), default="review")
    review_reason: Mapped[str | None] = mapped_column(String(10))
    surplus_yen: Mapped[int] = mapped_column(BigInteger, default=0)  # paid beyond the orders
    note: Mapped[str] = mapped_column(String(200), default="")
    version: Mapped[int] = mapped_column(Integer, default=1)
    decided_at: Mapped[datetime | None]
    decided_by_name: Mapped[str] = mapped_column(String(200), default="")

    __mapper_args__ = {"version_id_col": version}


class PaymentMatch(TenantOwned, Base):
    """Part (or all) of a deposit paying one order; undone matches stay as history."""

    __tablename__ = "payment_match"
    __table_args__ = (
        _order_fk(),
        ForeignKeyConstraint(
            ["tenant_id", "line_id"],
            ["bank_statement_line.tenant_id", "bank_statement_line.id"],
            ondelete="CASCADE",
        ),
        Index("ix_payment_match_tenant_id_order_id", "tenant_id", "order_id"),
        Index("ix_payment_match_tenant_id_line_id", "tenant_id", "line_id"),
        CheckConstraint("amount_yen > 0", name="amount"),
        CheckConstraint(_in("method", MATCH_METHODS), name="method"),
    )

    id: Mapped[int] = row_id()
    line_id: Mapped[int] = mapped_column(BigInteger)
    order_id: Mapped[int] = mapped_column(BigInteger)
    amount_yen: Mapped[int] = mapped_column(BigInteger)
    method: Mapped[str] = mapped_column(String(8))
    matched_at: Mapped[datetime] = mapped_column(default=utcnow)
    matched_by_name: Mapped[str] = mapped_column(String(200), default="")
    undone_at: Mapped[datetime | None]
    undone_by_name: Mapped[str] = mapped_column(String(200), default="")
