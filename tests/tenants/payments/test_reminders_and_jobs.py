"""The daily reminder to each shop and the cron sweeps, run through the real spine."""

from __future__ import annotations

from sqlalchemy import select

from tests.factories import make_user
from tests.tenants.payments.conftest import OPERATOR, actions, reload, take, tokyo
from urakata.platform import outbox
from urakata.platform.audit import AGENCY_CHAIN_ID
from urakata.platform.identity import Role
from urakata.platform.mail import MailMessage
from urakata.tenants.payments import reminders
from urakata.worker import payment_jobs

NOW = tokyo(2026, 6, 5, 9, 0)


def remind(db, shop, now=NOW) -> int:
    with db.tenant_session(shop.id) as s:
        return reminders.remind_shop(s, actor=OPERATOR, now=now)


def test_the_shop_hears_of_orders_waiting_longer_than_its_days(db, shop, world, clock):
    clock.set(tokyo(2026, 6, 1, 10, 0))
    old = take(db, shop, "#OLD")
    clock.set(tokyo(2026, 6, 4, 10, 0))
    take(db, shop, "#NEW")  # a day old on the 5th: not yet
    take(db, shop, "#CARD", method="card", status="authorized")  # paid: not listed
    make_user(db, Role.operator, shop)  # operators are not mailed
    assert remind(db, shop) == 1  # the one shop admin
    assert remind(db, shop) == 0  # once a day
    assert remind(db, shop, tokyo(2026, 6, 6, 9, 0)) == 1
    with db.tenant_session(shop.id) as s:
        mails = list(s.scalars(select(MailMessage).where(MailMessage.kind == "payment_reminder")))
    assert [m.to_address for m in mails] == [world.shop_admin_a.email] * 2
    assert mails[0].params["order_ids"] == [old.id] and mails[0].params["count"] == 1
    assert actions(db, shop, "shop", shop.id)[-1] == "payments.reminder_sent"


def test_no_mail_when_nothing_waits_and_never_another_shops_orders(db, shop, world, clock):
    take(db, world.shop_b, "#B-OLD")
    assert remind(db, shop) == 0
    assert remind(db, world.shop_b) == 1
    with db.tenant_session(world.shop_b.id) as s:
        (mail,) = s.scalars(select(MailMessage).where(MailMessage.kind == "payment_reminder"))
        assert mail.to_address == world.shop_admin_b.email


def test_the_reminder_mail_lists_numbers_amounts_and_the_link(
    db, shop, world, clock, spine, mailbox
):
    take(db, shop, "#OLD")
    remind(db, shop)
    spine.run()
    (mail,) = [m for m in mailbox if "payment" in m["Subject"].lower() or "入金" in m["Subject"]]
    text = mail.get_content()
    assert "#OLD" in text and "¥3,260" in text and "/s/shop-a/payments/waiting" in text
    assert "山田" not in text  # no customer names in a mail


def test_the_cron_sweeps_ask_for_one_job_per_active_shop_and_run_them(
    db, shop, world, clock, spine
):
    clock.set(tokyo(2026, 5, 1, 10, 0))
    konbini = take(db, shop, "#K1", method="konbini")
    with db.tenant_session(AGENCY_CHAIN_ID) as s:
        outbox.enqueue(s, payment_jobs.EXPIRE_SWEEP, queue="maintenance")
    spine.run()  # the sweep: one job per shop, through the outbox
    spine.run()  # the shops' jobs
    assert reload(db, shop, konbini.id).status == "cancelled"
    with db.platform_session() as s:
        rows = s.scalars(
            select(outbox.OutboxMessage).where(outbox.OutboxMessage.job == payment_jobs.EXPIRE_JOB)
        ).all()
        assert sorted(r.shop_id for r in rows) == sorted([world.shop_a.id, world.shop_b.id])
        assert all(r.done_at is not None for r in rows)
