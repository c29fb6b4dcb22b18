"""Retention (APPI): a shop's policy erases its customers' personal data N days after an
order is finished, without touching the ledger (which holds references and HMACs only).

"Finished" is an order cancelled ``erase_after_days`` ago, or a shipped one whose every
parcel (each live shipment) left that long ago. What is erased:

- the order's names, contact, address, のし and notes;
- its shipments' copies of the ship-to, のし and gift message, and the per-order gift
  message of a carrier choice;
- generated documents that print them: the packing slips of its shipments and waves
  (deleted; a reprint shows the erased fields). Carrier files are made on download and
  never stored; pick lists print items and bins, not people;
- stored mail errors of its confirmation and shipped mails (an SMTP error may quote the
  address). Mails themselves are rendered from the order when sent and not kept, and
  outbox (job) arguments are ids only (``outbox._check_args``).

``platform`` may not import ``tenants`` (DESIGN §2), so the columns are named in the
statements below; tests pin them to the models so a new personal field fails them.
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
# shipment's copies of them (urakata.tenants.fulfilment.models.Shipment).
SHIPMENT_PERSONAL_FIELDS = (
    "ship_name", "ship_postal_code", "ship_city", "ship_street", "ship_building",
    "ship_phone", "noshi", "gift_message",
)  # fmt: skip
BATCH = 500
ERASED_ACTION = "order.personal_data_erased"


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
    "SELECT o.id, 'cancelled' FROM sales_order o WHERE o.status = 'cancelled'"
    " AND o.cancelled_at < :cutoff AND o.customer_name <> :erased"
    " UNION ALL"
    " SELECT o.id, 'shipped' FROM sales_order o WHERE o.status = 'shipped'"
    " AND o.customer_name <> :erased"
    " AND NOT EXISTS (SELECT 1 FROM shipment s WHERE s.tenant_id = o.tenant_id"
    "   AND s.order_id = o.id AND s.status NOT IN ('returned', 'cancelled')"
    "   AND (s.shipped_at IS NULL OR s.shipped_at >= :cutoff))"
    " ORDER BY 1"
)
_ERASE = text(
    "UPDATE sales_order SET "
    + ", ".join(f"{f} = ''" for f in ORDER_PERSONAL_FIELDS if f != "customer_name")
    + ", customer_name = :erased, duplicate_key = :key, version = version + 1,"
    " updated_at = :now WHERE id = :id AND customer_name <> :erased"
)
_ERASE_SHIPMENTS = text(
    "UPDATE shipment SET "
    + ", ".join(f"{f} = ''" for f in SHIPMENT_PERSONAL_FIELDS if f != "ship_name")
    + ", ship_name = :erased, version = version + 1, updated_at = :now"
    " WHERE order_id IN :ids RETURNING id, wave_id, order_id"
).bindparams(bindparam("ids", expanding=True))
_ERASE_CHOICES = text(
    "UPDATE order_shipping_choice SET gift_message = '' WHERE order_id IN :ids"
).bindparams(bindparam("ids", expanding=True))
_DROP_SLIPS = text(
    "DELETE FROM slip_document WHERE shipment_id IN :shipments OR wave_id IN :waves"
).bindparams(bindparam("shipments", expanding=True), bindparam("waves", expanding=True))
_ERASE_MAIL_ERRORS = text(
    "UPDATE order_confirmation_mail SET last_error = NULL WHERE order_id IN :ids"
).bindparams(bindparam("ids", expanding=True))
_ERASE_SHIPPED_MAIL_ERRORS = text(
    "UPDATE shipped_mail SET last_error = NULL WHERE shipment_id IN :ids"
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
    due = session.execute(_DUE, {"cutoff": cutoff, "erased": ERASED}).all()
    for order_id, _reason in due:
        key = hashlib.sha256(b"erased order %d" % order_id).digest()
        session.execute(_ERASE, {"erased": ERASED, "key": key, "now": now, "id": order_id})
    ids = [order_id for order_id, _reason in due]
    parcels: dict[int, list[int]] = {}
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        session.execute(_ERASE_MAIL_ERRORS, {"ids": chunk})
        session.execute(_ERASE_CHOICES, {"ids": chunk})
        erased = session.execute(_ERASE_SHIPMENTS, {"ids": chunk, "erased": ERASED, "now": now})
        shipments = erased.all()
        if not shipments:
            continue
        for shipment_id, _wave, order_id in shipments:
            parcels.setdefault(order_id, []).append(shipment_id)
        shipment_ids = [shipment_id for shipment_id, _wave, _order in shipments]
        waves = sorted({wave for _id, wave, _order in shipments if wave is not None}) or [-1]
        session.execute(_DROP_SLIPS, {"shipments": shipment_ids, "waves": waves})
        session.execute(_ERASE_SHIPPED_MAIL_ERRORS, {"ids": shipment_ids})
    events = []
    for order_id, reason in due:
        data = {
            "fields": list(ORDER_PERSONAL_FIELDS),
            "policy_days": policy.erase_after_days,
            "reason": reason,
        }
        if order_id in parcels:  # its parcels' copies, and the slips that printed them
            data["shipments"] = sorted(parcels[order_id])
            data["shipment_fields"] = list(SHIPMENT_PERSONAL_FIELDS)
        events.append(audit.PendingEvent(ERASED_ACTION, "order", order_id, data=data))
    audit.record_many(session, actor, events)
    return len(ids)
