"""The order confirmation mail: asked for when an order is confirmed, sent by the worker
through a real SMTP server with the shop's template and sender, once per order; resent on
request; refusals and failures on the order's timeline, nothing lost."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select

from tests.tenants.payments.conftest import OPERATOR, actions, reload, take, tokyo
from urakata.platform import audit
from urakata.platform.devservers import free_port
from urakata.platform.mail import MailError
from urakata.platform.outbox import OutboxMessage
from urakata.platform.tenancy import NotFound
from urakata.tenants.orders import confirmation, services
from urakata.tenants.orders.services import IllegalTransition, OrderInvalid
from urakata.tenants.payments.settings import update_payment_settings
from urakata.tenants.shop import mail_templates
from urakata.tenants.shop.services import get_settings
from urakata.worker import runtime
from urakata.worker.runtime import Context


def requests(db, order_id) -> list[OutboxMessage]:
    with db.platform_session() as s:
        return list(
            s.scalars(
                select(OutboxMessage)
                .where(
                    OutboxMessage.job == confirmation.JOB,
                    OutboxMessage.args["order_id"].as_integer() == order_id,
                )
                .order_by(OutboxMessage.created_at)
            )
        )


def customers(mailbox) -> list:
    """The mails to customers (the world's welcome mails go to its shop admins)."""
    return [m for m in mailbox if str(m["To"]).endswith("@example.jp")]


def state(db, shop, order_id):
    with db.tenant_session(shop.id) as s:
        row = confirmation.state_of(s, order_id)
        if row is not None:
            s.expunge(row)
        return row


def set_sender(db, shop, name="あかり雑貨 お客様係", email="support@akari.example"):
    with db.tenant_session(shop.id) as s:
        settings = get_settings(s)
        settings.sender_name, settings.sender_email = name, email


def bank_account(db, shop):
    with db.tenant_session(shop.id) as s:
        update_payment_settings(
            s,
            actor=OPERATOR,
            version=0,
            data={
                "bank_name": "みずほ銀行",
                "bank_branch": "渋谷支店",
                "bank_account_number": "1234567",
                "bank_account_holder": "ｱｶﾘｻﾞﾂｶ",
            },
        )


def test_a_confirmed_order_asks_for_its_mail_a_held_one_when_released(db, shop, clock):
    confirmed = take(db, shop, method="card", status="authorized")
    assert len(requests(db, confirmed.id)) == 1
    held = take(
        db, shop, "#2", method="card", status="authorized", ship_to={"postal_code": "999-9999"}
    )
    assert requests(db, held.id) == []
    with db.tenant_session(shop.id) as s:
        services.edit_address(
            s,
            actor=OPERATOR,
            order_id=held.id,
            data={"version": held.version, "postal_code": "100-0001"},
        )
    with db.tenant_session(shop.id) as s:
        order = services.get_order(s, held.id)
        services.release(s, actor=OPERATOR, order_id=held.id, version=order.version)
    assert len(requests(db, held.id)) == 1


def test_a_backdated_intake_mails_nobody(db, shop, clock):
    with db.tenant_session(shop.id) as s:
        from tests.tenants.payments.conftest import order_body

        order = services.intake(
            s, actor=OPERATOR, data=order_body(external_id="#OLD"), now=tokyo(2026, 5, 1, 10, 0)
        )
    assert order.status == "released" and requests(db, order.id) == []


def test_the_worker_sends_it_in_japanese_with_lines_taxes_and_transfer_details(
    db, shop, clock, spine, mailbox
):
    set_sender(db, shop)
    bank_account(db, shop)
    order = take(db, shop, shipping_fee_yen=800)
    spine.run()
    (mail,) = [m for m in mailbox if m["To"] == "1001@example.jp"]
    sender = mail["From"].addresses[0]
    assert (sender.display_name, sender.addr_spec) == (
        "あかり雑貨 お客様係",
        "support@akari.example",
    )
    assert mail["Subject"] == "【あかり雑貨】ご注文ありがとうございます（ご注文番号 #1001）"
    text = mail.get_content()
    assert "山田 太郎 様" in text and "静岡 深蒸し煎茶 100g ※" in text
    assert "¥1,080 × 2 ＝ ¥2,160" in text and "ご請求金額（税込）：¥4,060" in text
    assert "（10%対象 ¥1,900　内消費税 ¥172）" in text
    assert "（8%対象 ¥2,160　内消費税 ¥160）" in text
    assert "みずほ銀行 渋谷支店" in text and "普通" in text and "1234567" in text
    assert "お支払期限：2026-06-08" in text
    sent = state(db, shop, order.id)
    assert (sent.status, sent.sends, sent.locale) == ("sent", 1, "ja")
    with db.tenant_session(shop.id) as s:
        event = audit.history(s, object_type="order", object_id=order.id, limit=1)[0]
    assert event.action == "order.confirmation_sent"
    assert "1001@example.jp" not in event.payload["data"]["to"].values()  # pseudonymised


def test_a_customer_writing_in_latin_letters_gets_english_and_konbini_instructions(
    db, shop, clock, spine, mailbox
):
    take(db, shop, "#E1", method="konbini", name="John Smith", kana="")
    spine.run()
    (mail,) = [m for m in mailbox if m["To"] == "E1@example.jp"]
    text = mail.get_content()
    assert mail["Subject"].endswith("thank you for your order #E1")
    assert "Dear John Smith," in text and "by 2026-06-04" in text


def test_one_mail_per_order_unless_resent(db, shop, clock, spine, mailbox):
    order = take(db, shop, method="card", status="authorized")
    spine.run()
    with db.tenant_session(shop.id) as s:  # held and released again: no second mail
        current = services.put_on_hold(
            s, actor=OPERATOR, order_id=order.id, version=order.version, note="確認"
        )
        services.release(
            s, actor=OPERATOR, order_id=order.id, version=current.version, overrides=["manual"]
        )
    spine.run()
    assert [m["To"] for m in mailbox].count("1001@example.jp") == 1
    with db.tenant_session(shop.id) as s:
        confirmation.request_resend(s, actor=OPERATOR, order_id=order.id, locale="en")
    spine.run()
    assert [m["To"] for m in mailbox].count("1001@example.jp") == 2
    assert customers(mailbox)[-1]["Subject"].endswith("#1001")
    resent = state(db, shop, order.id)
    assert (resent.sends, resent.locale) == (2, "en")
    assert actions(db, shop, "order", order.id)[-2:] == [
        "order.confirmation_requested",
        "order.confirmation_sent",
    ]


def test_resend_is_refused_when_it_cannot_go(db, shop, clock):
    held = take(db, shop, ship_to={"postal_code": "999-9999"})
    with pytest.raises(IllegalTransition), db.tenant_session(shop.id) as s:
        confirmation.request_resend(s, actor=OPERATOR, order_id=held.id, locale="ja")
    nomail = take(db, shop, "#2", email=" ")
    with pytest.raises(OrderInvalid), db.tenant_session(shop.id) as s:
        confirmation.request_resend(s, actor=OPERATOR, order_id=nomail.id, locale="ja")
    order = take(db, shop, "#3")
    with pytest.raises(OrderInvalid), db.tenant_session(shop.id) as s:
        confirmation.request_resend(s, actor=OPERATOR, order_id=order.id, locale="fr")


def test_an_order_without_an_address_or_cancelled_before_sending_is_skipped(
    db, shop, clock, spine, mailbox
):
    nomail = take(db, shop, "#N1", email=" ")
    cancelled = take(db, shop, "#N2")
    with db.tenant_session(shop.id) as s:
        services.cancel(s, actor=OPERATOR, order_id=cancelled.id, version=None, reason="誤注文")
    spine.run()
    assert customers(mailbox) == []
    assert state(db, shop, nomail.id).status == "no_address"
    assert state(db, shop, cancelled.id).status == "cancelled"
    assert actions(db, shop, "order", nomail.id)[-1] == "order.confirmation_skipped"


def test_the_shops_own_template_is_used(db, shop, clock, spine, mailbox):
    with db.tenant_session(shop.id) as s:
        mail_templates.save_template(
            s,
            actor=OPERATOR,
            kind=confirmation.KIND,
            locale="ja",
            version=0,
            subject="ご注文 {{ order.number }} 承りました",
            body="{{ order.customer_name }} 様\n{% for line in order.lines %}{{ line.sku }} "
            "{{ line.quantity }}\n{% endfor %}合計 {{ order.total_yen|yen }}\n",
        )
    take(db, shop)
    spine.run()
    (mail,) = customers(mailbox)
    assert mail["Subject"] == "ご注文 #1001 承りました"
    assert (
        mail.get_content().replace("\r\n", "\n")
        == "山田 太郎 様\nTEA-001 2\nCUP-001 1\n合計 ¥3,260\n"
    )


def test_a_shop_template_failing_at_send_time_falls_back_to_the_default(
    db, shop, clock, spine, mailbox
):
    # No sample order has a gift wrap with a noshi: the branch is reached only by this one.
    body = "{% if order.delivery_slot == '午前中' %}{{ order.missing_field }}{% endif %}本文\n"
    with db.tenant_session(shop.id) as s:
        mail_templates.save_template(
            s,
            actor=OPERATOR,
            kind=confirmation.KIND,
            locale="ja",
            version=0,
            subject="件名",
            body=body,
        )
    order = take(db, shop, delivery_slot="am")
    spine.run()
    (mail,) = customers(mailbox)
    assert "ご注文ありがとうございます" in mail["Subject"]  # the default
    with db.tenant_session(shop.id) as s:
        event = audit.history(s, object_type="order", object_id=order.id, limit=1)[0]
    assert "missing_field" in event.payload["data"]["template_problem"]


def _run_with(settings, spine, db, shop, order_id, **changes):
    """One attempt of the order's confirmation job with other mail settings (no RQ retry
    is left outside a worker: the attempt is the last)."""
    (row,) = requests(db, order_id)
    runtime.use_context(
        Context(settings=replace(settings, **changes), db=db, redis=spine.ctx.redis)
    )
    return runtime.run(confirmation.JOB, str(shop.id), f"outbox:{row.id}", str(row.id), row.args)


def test_a_refused_send_is_final_at_once_and_on_the_timeline(db, shop, clock, spine, settings):
    from tests.smtp import LocalSmtpServer

    order = take(db, shop)
    refusing = LocalSmtpServer(refuse=True).start()
    try:
        assert _run_with(settings, spine, db, shop, order.id, mail_port=refusing.port) == "refused"
    finally:
        refusing.stop()
    failed = state(db, shop, order.id)
    assert (failed.status, failed.attempts) == ("failed", 1) and "550" in failed.last_error
    with db.tenant_session(shop.id) as s:
        event = audit.history(s, object_type="order", object_id=order.id, limit=1)[0]
    assert event.action == "order.confirmation_failed" and event.payload["data"]["final"]
    with db.platform_session() as s:  # the job finished: nothing for RQ to retry
        assert s.get(OutboxMessage, requests(db, order.id)[0].id).done_at is not None
    # Nothing is lost: a person resends it once the address is sorted out.
    with db.tenant_session(shop.id) as s:
        confirmation.request_resend(s, actor=OPERATOR, order_id=order.id, locale="ja")
    assert len(requests(db, order.id)) == 2


def test_an_unreachable_server_raises_for_a_retry_and_is_recorded(db, shop, clock, spine, settings):
    order = take(db, shop)
    with pytest.raises(MailError):
        _run_with(settings, spine, db, shop, order.id, mail_port=free_port())
    failed = state(db, shop, order.id)
    assert failed.status == "failed" and failed.attempts == 1
    assert actions(db, shop, "order", order.id)[-1] == "order.confirmation_failed"


def test_the_mail_of_one_shop_never_shows_another(db, shop, world, clock, spine, mailbox):
    set_sender(db, world.shop_b, name="みどり食品", email="info@midori.example")
    order = take(db, shop)
    take(db, world.shop_b, "#B1")
    spine.run()
    mine = [m for m in mailbox if m["To"] == "1001@example.jp"][0]
    theirs = [m for m in mailbox if m["To"] == "B1@example.jp"][0]
    assert "みどり食品" not in mine.get_content() + str(mine["From"])
    assert "みどり食品" in str(theirs["From"]) and "あかり雑貨" not in theirs.get_content()
    with db.tenant_session(world.shop_b.id) as s:
        assert confirmation.state_of(s, order.id) is None
    with pytest.raises(NotFound), db.tenant_session(world.shop_b.id) as s:
        confirmation.request_resend(s, actor=OPERATOR, order_id=order.id, locale="ja")
    assert reload(db, shop, order.id).status == "confirmed"
