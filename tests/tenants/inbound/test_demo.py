"""The demo's inbound notices and stocktakes: closed ones with and without discrepancies,
one being received, some expected; stocktakes in every state of the approval path."""

from __future__ import annotations

from sqlalchemy import select

from tests.tenants.sasage.test_demo import _demo_shops
from urakata.tenants.inbound.demo import seed_inbound
from urakata.tenants.inbound.models import InboundNotice
from urakata.tenants.stock.demo import seed_stock
from urakata.tenants.stocktake.models import Stocktake


def test_the_demo_shows_inbound_work_and_stocktakes_in_every_state(db):
    tenants = _demo_shops(db)
    seed_stock(db, tenants)
    seed_inbound(db, tenants)
    for tenant in tenants.values():
        with db.tenant_session(tenant.id) as s:
            notices = s.scalars(select(InboundNotice)).all()
            statuses = sorted(n.status for n in notices)
            assert statuses == ["closed", "closed", "open", "open", "receiving"]
            assert {n.has_discrepancy for n in notices if n.status == "closed"} == {True, False}
            assert all(n.dock_to_stock_seconds > 0 for n in notices if n.status == "closed")
            states = {st.status for st in s.scalars(select(Stocktake))}
            assert {"posted", "review", "counting", "shop_review"} <= states
