"""The daily reminder: each shop's admins hear which orders wait for payment too long.

"Too long" is the shop's ``reminder_after_days`` (payment settings, default 3 days) since
the order was confirmed. One mail per shop admin per local day, only when something
waits; the day's key is claimed in the same transaction as the mails, so a cron that
fires twice mails once. The mail lists order numbers, methods and amounts (no customer
names: the portal link shows those) and links to the shop's waiting list.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select

from urakata.platform import audit, jobs
from urakata.platform.audit import Actor
from urakata.platform.db import UrakataSession, utcnow
from urakata.platform.fields import N_
from urakata.platform.identity import Role, UserAccount, members_of_shop
from urakata.platform.mail import queue_mail
from urakata.platform.mailrender import register_kind
from urakata.platform.tenancy import Tenant
from urakata.tenants.orders.models import Order
from urakata.tenants.payments.gates import received_yen, waiting_orders, waits_for
from urakata.tenants.payments.settings import get_payment_settings

MAIL_KIND = "payment_reminder"
LISTED_MAX = 100  # orders named in one mail; the count says how many more wait
REMIND_JOB = "payments.remind_shop"


def remind_shop(session: UrakataSession, *, actor: Actor, now: datetime | None = None) -> int:
    """Mail the bound shop's admins the orders waiting past the shop's limit; how many
    mails were queued (0 when nothing waits, or the shop was reminded today)."""
    now = now or utcnow()
    tenant = session.get(Tenant, session.tenant_id)
    days = get_payment_settings(session).reminder_after_days
    waiting = waiting_orders(session, older_than=timedelta(days=days), now=now, limit=1000)
    if not waiting:
        return 0
    today = now.astimezone(tenant.zone).date().isoformat()
    if not jobs.claim(session, f"{REMIND_JOB}:{tenant.id}:{today}", REMIND_JOB, tenant.id):
        return 0
    admins = [m.user for m in members_of_shop(session, tenant.id)
              if m.role == Role.shop_admin.value and m.user.is_active]  # fmt: skip
    listed = [w.order_id for w in waiting[:LISTED_MAX]]
    for user in admins:
        queue_mail(session, kind=MAIL_KIND, to=user.email, locale=user.locale,
                   params={"user_id": str(user.id), "order_ids": listed, "count": len(waiting),
                           "days": days, "at": now.isoformat()})  # fmt: skip
    audit.record(session, actor, "payments.reminder_sent", object_type="shop",
                 object_id=tenant.id,
                 data={"orders": len(waiting), "days": days, "mails": len(admins)})  # fmt: skip
    return len(admins)


def _mail_context(session: UrakataSession, params: dict, settings) -> dict:
    tenant = session.get(Tenant, session.tenant_id)
    user = session.get(UserAccount, uuid.UUID(params["user_id"]))
    ids = [int(i) for i in params["order_ids"]]
    found = {o.id: o for o in session.scalars(select(Order).where(Order.id.in_(ids)))}
    received = received_yen(session, ids)
    at = datetime.fromisoformat(params["at"])
    rows = []
    for order_id in ids:
        order = found.get(order_id)
        if order is None:
            continue
        since = order.confirmed_at or order.ordered_at
        rows.append({
            "number": order.external_id, "method": order.payment_method,
            "waits_for": waits_for(order) or "", "total": f"¥{order.total_yen:,}",
            "received": f"¥{received.get(order_id, 0):,}", "days": (at - since).days,
            "since": since.astimezone(tenant.zone).strftime("%Y-%m-%d"),
        })  # fmt: skip
    return {
        "user": user,
        "shop_name": tenant.name,
        "orders": rows,
        "count": params["count"],
        "more": max(params["count"] - len(rows), 0),
        "days": params["days"],
        # The portal serves this path (shop.payments_waiting).
        "link": f"{settings.public_url}/s/{tenant.slug}/payments/waiting",
    }


register_kind(
    MAIL_KIND,
    "payment_reminder.txt",
    N_("Orders waiting for payment"),
    _mail_context,
)
