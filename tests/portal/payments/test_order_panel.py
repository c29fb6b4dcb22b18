"""The order page's payment panel: what the gate waits for, a payment notice recorded by a
person (a double click records it once), the confirmation mail and its resend; people
without the permission get 403, another shop's people 404."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from tests.factories import make_user
from tests.portal.payments.conftest import load, take, value_of
from urakata.platform.identity import Role
from urakata.platform.outbox import OutboxMessage
from urakata.tenants.orders import confirmation
from urakata.tenants.payments.models import PaymentEvent


def confirmation_requests(db, order_id) -> int:
    with db.platform_session() as s:
        return s.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(
                OutboxMessage.job == confirmation.JOB,
                OutboxMessage.args["order_id"].as_integer() == order_id,
            )
        )


def test_the_panel_says_what_the_order_waits_for(db, catalogs, portal):
    world = catalogs
    transfer = take(db, world.shop_a, "R-1")
    konbini = take(db, world.shop_a, "R-2", method="konbini")
    cod = take(db, world.shop_a, "R-3", method="cod")
    portal.login(world.operator_a)
    html = portal.get(f"/s/shop-a/orders/{transfer}").get_data(as_text=True)
    assert 'data-waits-for="deposit"' in html and 'data-testid="payment-due">¥2,400' in html
    assert 'data-testid="confirmation-status" data-status="queued"' in html
    assert re.findall(
        r'<option value="(\w+)"', html.split('data-testid="notice-form"')[1].split("</form>")[0]
    ) == ["paid", "refunded"]
    html = portal.get(f"/s/shop-a/orders/{konbini}").get_data(as_text=True)
    assert 'data-testid="konbini-due">' in html
    html = portal.get(f"/s/shop-a/orders/{cod}").get_data(as_text=True)
    assert 'data-testid="payment-cleared"' in html and 'data-testid="cod-amount">¥2,400' in html


def test_a_person_records_a_notice_once_even_when_posting_twice(db, catalogs, portal):
    world = catalogs
    order_id = take(db, world.shop_a, method="atobarai")
    portal.login(world.operator_a)
    page = portal.get(f"/s/shop-a/orders/{order_id}").get_data(as_text=True)
    event_id = value_of(page, "notice", "event_id")
    token = re.search(
        r'id="notice-csrf_token" name="csrf_token" type="hidden" value="([^"]+)"', page
    ).group(1)
    form = {"csrf_token": token, "event_id": event_id, "notice": "credit_ok", "note": "NP承認"}
    first = portal.client.post(f"/s/shop-a/orders/{order_id}/payment-notice", data=form)
    second = portal.client.post(f"/s/shop-a/orders/{order_id}/payment-notice", data=form)
    assert (first.status_code, second.status_code) == (303, 303)
    assert load(db, world.shop_a, order_id).status == "released"
    with db.tenant_session(world.shop_a.id) as s:
        (event,) = s.scalars(select(PaymentEvent))
    assert (event.kind, event.source, event.note) == ("credit_ok", "portal", "NP承認")
    page = portal.get(f"/s/shop-a/orders/{order_id}").get_data(as_text=True)
    assert 'data-testid="payment-event" data-kind="credit_ok"' in page


def test_a_refused_notice_says_why_and_changes_nothing(db, catalogs, portal):
    world = catalogs
    order_id = take(db, world.shop_a, method="bank_transfer")
    portal.login(world.shop_admin_a)
    form = {"event_id": "portal-x1", "notice": "credit_ng"}  # not for a transfer
    response = portal.post_form(
        f"/s/shop-a/orders/{order_id}/payment-notice", form, form_url=f"/s/shop-a/orders/{order_id}"
    )
    assert response.status_code == 422
    assert 'data-testid="order-problem"' in response.get_data(as_text=True)
    forged = portal.post_form(
        f"/s/shop-a/orders/{order_id}/payment-notice",
        {"event_id": "np-from-outside", "notice": "paid"},
        form_url=f"/s/shop-a/orders/{order_id}",
    )
    assert forged.status_code == 400  # portal notices carry the portal's own ids
    assert load(db, world.shop_a, order_id).status == "confirmed"


def test_resending_the_confirmation(db, catalogs, portal):
    world = catalogs
    order_id = take(db, world.shop_a, method="card", status="authorized")
    assert confirmation_requests(db, order_id) == 1
    portal.login(world.operator_a)
    response = portal.post_form(
        f"/s/shop-a/orders/{order_id}/confirmation",
        {"locale": "en"},
        form_url=f"/s/shop-a/orders/{order_id}",
    )
    assert response.status_code == 303
    assert confirmation_requests(db, order_id) == 2
    page = portal.get(f"/s/shop-a/orders/{order_id}").get_data(as_text=True)
    assert 'data-action="order.confirmation_requested"' in page
    nomail = take(db, world.shop_a, "R-9", method="card", status="authorized", email="")
    page = portal.get(f"/s/shop-a/orders/{nomail}").get_data(as_text=True)
    assert 'data-testid="resend-form"' not in page and 'data-status="no_address"' in page
    refused = portal.post_form(
        f"/s/shop-a/orders/{nomail}/confirmation",
        {"locale": "ja"},
        form_url=f"/s/shop-a/orders/{order_id}",
    )
    assert refused.status_code == 422


def test_a_shop_staff_member_reads_but_does_not_act(db, catalogs, portal):
    world = catalogs
    order_id = take(db, world.shop_a, method="konbini")
    portal.login(make_user(db, Role.shop_staff, world.shop_a))
    page = portal.get(f"/s/shop-a/orders/{order_id}").get_data(as_text=True)
    assert 'data-testid="payment-gate"' in page and 'data-testid="notice-form"' not in page
    for action, data in (
        ("payment-notice", {"event_id": "portal-1", "notice": "paid"}),
        ("confirmation", {"locale": "ja"}),
    ):
        response = portal.post_form(
            f"/s/shop-a/orders/{order_id}/{action}", data, form_url="/account"
        )
        assert response.status_code == 403
    assert load(db, world.shop_a, order_id).status == "confirmed"


def test_another_shop_gets_404_for_the_panel_actions(db, catalogs, portal):
    world = catalogs
    order_id = take(db, world.shop_a, method="konbini")
    portal.login(world.shop_admin_b)
    for url, data in (
        (f"/s/shop-a/orders/{order_id}/payment-notice", {"event_id": "portal-b", "notice": "paid"}),
        (f"/s/shop-b/orders/{order_id}/payment-notice", {"event_id": "portal-b", "notice": "paid"}),
        (f"/s/shop-b/orders/{order_id}/confirmation", {"locale": "ja"}),
    ):
        assert portal.post_form(url, data, form_url="/account").status_code == 404
    assert load(db, world.shop_a, order_id).status == "confirmed"
