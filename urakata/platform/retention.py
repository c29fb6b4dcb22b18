"""Retention (APPI): a shop's policy erases its customers' personal data N days after an
order is finished, without touching the ledger (which holds references and HMACs only).

Shipping does not exist yet, so "finished" is what the orders know today: an order
cancelled ``erase_after_days`` ago. When shipments land, their ``shipped_at`` joins here.

``platform`` may not import ``tenants`` (DESIGN §2), so the order columns are named in one
statement below; a test pins them to the ``Order`` model so a new personal field fails it.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import CheckConstraint, Integer, bindparam, text
from sqlalchemy.orm import Mapped, mapped_column

from urakata.platform import audit
from urakata.platform.audit import Actor
from urakata.platform.db import Base, TenantOwned, UrakataSession, utcnow

ERASED = "（消去済み）"
MAX_DAYS = 3650
# sales_order's personal data: names, contact, address, gift message and free notes.
ORDER_PERSONAL_FIELDS = (
    "customer_name", "customer_kana", "customer_email", "customer_phone", "ship_name",
    "ship_postal_code", "ship_city", "ship_street", "ship_building", "ship_phone", "noshi",
    "notes",
)  # fmt: skip
BATCH = 500


class RetentionPolicy(TenantOwned, Base):
    """A shop's retention policy; no row means personal data is kept."""

    __tablename__ = "retention_policy"
    __table_args__ = (
        CheckConstraint(f"erase_after_days BETWEEN 1 AND {MAX_DAYS}", name="erase_after_days"),
    )

    erase_after_days: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class InvalidPolicy(ValueError):
    pass


def get_policy(session: UrakataSession) -> RetentionPolicy | None:
    return session.get(RetentionPolicy, session.tenant_id)


def set_policy(session: UrakataSession, actor: Actor, days: int | None) -> RetentionPolicy | None:
    """Set (or with ``None`` remove) the bound shop's policy; recorded on its chain."""
    if days is not None and not 1 <= days <= MAX_DAYS:
        raise InvalidPolicy(f"erase_after_days must be 1 to {MAX_DAYS}")
    policy = get_policy(session)
    before = policy.erase_after_days if policy else None
    if days is None:
        if policy is not None:
            session.delete(policy)
    elif policy is None:
        policy = RetentionPolicy(tenant_id=session.tenant_id, erase_after_days=days)
        session.add(policy)
    else:
        policy.erase_after_days, policy.updated_at = days, utcnow()
    session.flush()
    if before != days:
        audit.record(
            session,
            actor,
            "retention.policy_changed",
            object_type="shop",
            object_id=session.tenant_id,
            changes={"erase_after_days": (before, days)},
        )
    return policy if days is not None else None


_DUE = text(
    "SELECT id FROM sales_order WHERE status = 'cancelled' AND cancelled_at < :cutoff"
    " AND customer_name <> :erased ORDER BY id LIMIT :limit"
)
_ERASE = text(
    "UPDATE sales_order SET "
    + ", ".join(f"{f} = ''" for f in ORDER_PERSONAL_FIELDS if f != "customer_name")
    + ", customer_name = :erased, duplicate_key = :key, version = version + 1,"
    " updated_at = :now WHERE id = :id AND customer_name <> :erased"
)
_ERASE_MAIL_ERRORS = text(
    "UPDATE order_confirmation_mail SET last_error = NULL WHERE order_id IN :ids"
).bindparams(bindparam("ids", expanding=True))


def erase_due_orders(session: UrakataSession, actor: Actor, now: datetime | None = None) -> int:
    """Erase the personal data of the bound shop's orders past its policy; returns how many.

    Each erasure is one ledger event naming the order and the erased fields (never their
    values). Idempotent: an erased order is not due again.
    """
    policy = get_policy(session)
    if policy is None:
        return 0
    now = now or utcnow()
    cutoff = now - timedelta(days=policy.erase_after_days)
    ids = list(session.scalars(_DUE, {"cutoff": cutoff, "erased": ERASED, "limit": 10**9}))
    events = []
    for order_id in ids:
        key = hashlib.sha256(b"erased order %d" % order_id).digest()
        session.execute(_ERASE, {"erased": ERASED, "key": key, "now": now, "id": order_id})
        events.append(
            audit.PendingEvent(
                "order.personal_data_erased",
                "order",
                order_id,
                data={
                    "fields": list(ORDER_PERSONAL_FIELDS),
                    "policy_days": policy.erase_after_days,
                    "reason": "cancelled",
                },
            )
        )
    for start in range(0, len(ids), BATCH):
        session.execute(_ERASE_MAIL_ERRORS, {"ids": ids[start : start + BATCH]})
    audit.record_many(session, actor, events)
    return len(ids)
