"""Retention: a shop's policy erases the personal data of its cancelled orders N days on,
records each erasure, and leaves the ledger verifiable; the other shop is untouched."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.tenants.orders.conftest import OPERATOR, order_body, reload, take
from urakata.platform import audit, retention
from urakata.platform.audit import AuditEvent
from urakata.tenants.orders import services
from urakata.tenants.orders.models import Order


def _cancelled(db, shop, n):
    order = take(db, shop, order_body(external_id=f"#{n}", customer={"email": f"c{n}@example.jp"}))
    with db.tenant_session(shop.id) as s:
        services.cancel(s, actor=OPERATOR, order_id=order.id, version=None, reason="customer")
    return reload(db, shop, order.id)


def _set(db, shop, days):
    with db.tenant_session(shop.id) as s:
        return retention.set_policy(s, OPERATOR, days)


def _erase(db, shop, now):
    with db.tenant_session(shop.id) as s:
        return retention.erase_due_orders(s, OPERATOR, now)


def test_the_personal_fields_named_here_are_the_orders_personal_fields():
    columns = {c.name for c in Order.__table__.columns}
    assert set(retention.ORDER_PERSONAL_FIELDS) <= columns
    personal = {c for c in columns if c.startswith(("customer_", "ship_"))} - {"ship_prefecture"}
    assert personal - {"ship_by_date", "ship_by_at"} <= set(retention.ORDER_PERSONAL_FIELDS)


def test_cancelled_orders_are_erased_after_the_policys_days(db, world, shop, clock):
    old = _cancelled(db, shop, 1)
    kept = take(db, shop, order_body(external_id="#2", customer={"email": "c2@example.jp"}))
    other = _cancelled(db, world.shop_b, 3)
    _set(db, shop, 30)
    _set(db, world.shop_b, 30)

    assert _erase(db, shop, clock.now + timedelta(days=29)) == 0
    assert _erase(db, shop, clock.now + timedelta(days=31)) == 1
    erased = reload(db, shop, old.id)
    assert erased.customer_name == retention.ERASED
    assert erased.customer_email == "" and erased.ship_street == "" and erased.ship_phone == ""
    assert erased.version == old.version + 1  # a concurrent edit of it gets a 409
    assert reload(db, shop, kept.id).customer_email == "c2@example.jp"
    assert reload(db, world.shop_b, other.id).customer_email == "c3@example.jp"
    assert _erase(db, shop, clock.now + timedelta(days=90)) == 0  # idempotent

    with db.tenant_session(shop.id) as s:
        event = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "order.personal_data_erased")
        ).one()
        assert event.object_id == str(old.id)
        assert event.payload["data"]["policy_days"] == 30
        assert "c1@example.jp" not in bytes(event.body).decode()
    assert audit.verify_chain(db, shop.id).ok


def test_no_policy_keeps_everything_and_a_policy_change_is_recorded(db, shop, clock):
    order = _cancelled(db, shop, 1)
    assert _erase(db, shop, clock.now + timedelta(days=3650)) == 0
    assert reload(db, shop, order.id).customer_email == "c1@example.jp"
    _set(db, shop, 7)
    _set(db, shop, 14)
    with pytest.raises(retention.InvalidPolicy):
        _set(db, shop, 0)
    with db.tenant_session(shop.id) as s:
        changes = [
            e.payload["changes"]["erase_after_days"]
            for e in s.scalars(
                select(AuditEvent)
                .where(AuditEvent.action == "retention.policy_changed")
                .order_by(AuditEvent.seq)
            )
        ]
    assert changes == [[None, 7], [7, 14]]
    assert _set(db, shop, None) is None
