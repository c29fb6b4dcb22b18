"""The daily reconciliation: Σ movements = levels per shop, kept per day, recorded; a shop
whose figures disagree alerts the agency admins by mail (once a day) and on their page."""

from __future__ import annotations

from sqlalchemy import select, text

from tests.tenants.stock.conftest import (
    B_PICK,
    B_RESERVE,
    OPERATOR,
    PICK_1,
    RESERVE_1,
    actions,
    line,
    order,
    put_away,
    reload,
)
from urakata.platform.audit import AGENCY_CHAIN_ID, AuditEvent
from urakata.platform.mail import MailMessage
from urakata.tenants.orders import services as orders
from urakata.tenants.stock.allocation import allocate_order
from urakata.tenants.stock.models import StockReconciliation
from urakata.tenants.stock.reconciliation import reconcile
from urakata.tenants.stock.transfers import transfer
from urakata.worker.runtime import run


def _busy_day(db, shop, pick=PICK_1, reserve=RESERVE_1):
    put_away(db, shop, line("CUP-1", 10, reserve), line("TEA-100", 5, pick, "L-1"))
    with db.tenant_session(shop.id) as s:
        transfer(
            s,
            actor=OPERATOR,
            data={
                "key": "replenish-1",
                "sku": "CUP-1",
                "from_location": reserve,
                "to_location": pick,
                "quantity": 4,
            },
        )
    kept = order(db, shop, ("CUP-1", 3), ("TEA-100", 2))
    gone = order(db, shop, ("CUP-1", 2))
    with db.tenant_session(shop.id) as s:
        allocate_order(s, actor=OPERATOR, order_id=kept.id)
        allocate_order(s, actor=OPERATOR, order_id=gone.id)
    with db.tenant_session(shop.id) as s:
        orders.cancel(
            s,
            actor=OPERATOR,
            order_id=gone.id,
            version=reload(db, shop, gone.id).version,
            reason="重複注文",
        )


def _tamper(db, shop, sku="CUP-1"):
    """A write to a level that bypassed the ledger (what the check is there to catch)."""
    with db.tenant_session(shop.id) as s:
        s.execute(
            text(
                "UPDATE stock_level SET on_hand = on_hand + 1 WHERE product_id = :p AND on_hand > 0"
            ),
            {"p": shop.products[sku]},
        )


def test_movements_add_up_to_the_levels_after_a_busy_day(db, shop_a):
    _busy_day(db, shop_a)
    with db.tenant_session(shop_a.id) as s:
        checked = reconcile(s, actor=OPERATOR)
        assert (checked.ok, checked.levels, checked.mismatch_count) == (True, 3, 0)
        # receipts 2, transfer 2, allocations 2 + 2 (the pick face ran out), release 2
        assert checked.movements == 10
    assert actions(db, shop_a)[-1] == "stock.reconciled"


def test_a_level_changed_outside_the_ledger_is_found(db, shop_a, shop_b):
    _busy_day(db, shop_a)
    _busy_day(db, shop_b, B_PICK, B_RESERVE)
    _tamper(db, shop_a)
    with db.tenant_session(shop_a.id) as s:
        checked = reconcile(s, actor=OPERATOR)
    assert not checked.ok and checked.mismatch_count == 2
    assert {(m["bin"], m["field"], m["ledger"], m["level"]) for m in checked.mismatches} == {
        (RESERVE_1, "on_hand", 6, 7),
        (PICK_1, "on_hand", 4, 5),
    }
    with db.tenant_session(shop_b.id) as s:
        assert reconcile(s, actor=OPERATOR).ok  # the other shop's figures are its own


def test_the_daily_job_checks_every_shop_and_alerts_the_agency_admins_once(
    db, world, shop_a, shop_b, spine, mailbox
):
    _busy_day(db, shop_a)
    _busy_day(db, shop_b, B_PICK, B_RESERVE)
    _tamper(db, shop_b, "TEA-100")
    result = run("stock.reconcile", None, None, None, {})
    assert result == {"shops": 2, "failed": 1, "mailed": 1}
    assert run("stock.reconcile", None, None, None, {})["mailed"] == 0  # cron ran twice
    with db.tenant_session(shop_a.id) as s:
        assert [r.ok for r in s.scalars(select(StockReconciliation))] == [True]
    with db.tenant_session(shop_b.id) as s:
        assert [r.mismatch_count for r in s.scalars(select(StockReconciliation))] == [1]
    with db.tenant_session(AGENCY_CHAIN_ID) as s:
        mails = s.scalars(select(MailMessage).where(MailMessage.kind == "stock_mismatch")).all()
        assert [m.to_address for m in mails] == [world.agency_admin.email]
        alert = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "stock.reconciliation_failed")
        ).one()
        assert [shop["slug"] for shop in alert.payload["data"]["shops"]] == ["shop-b"]
    spine.run()
    sent = [m for m in mailbox if m["To"] == world.agency_admin.email]
    assert len(sent) == 1
    body = sent[0].get_content()
    assert world.shop_b.name in body and world.shop_a.name not in body
    assert "/agency/stock" in body
