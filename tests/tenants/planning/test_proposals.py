"""Reorder proposals: the quantity from forecast, lead time, safety stock and case
quantity; the shop accepts (or edits) one into an inbound notice, recorded; twice is once."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from tests.tenants.planning.conftest import ADMIN, TOKYO, count_actions
from tests.tenants.stock.conftest import PICK_1, line, put_away
from urakata.platform.tenancy import NotFound
from urakata.tenants.planning import proposals
from urakata.tenants.planning.errors import AlreadyDecided, PlanningInvalid, StaleRecord
from urakata.tenants.planning.models import ReorderProposal, SkuForecast

NOW = datetime.now(TOKYO).replace(hour=3, minute=0, second=0, microsecond=0)


def _forecast(db, shop, sku: str, per_day: float, sigma: float = 0.0, lead: int = 7) -> None:
    """A stored forecast of ``per_day`` pieces a day (as the nightly run leaves it)."""
    with db.tenant_session(shop.id) as s:
        s.add(
            SkuForecast(
                product_id=shop.products[sku],
                starts_on=NOW.date(),
                method="average",
                history_days=60,
                daily=[per_day] * 28,
                lower=[0] * 28,
                upper=[per_day * 2] * 28,
                sigma=sigma,
                lead_time_days=lead,
                safety_stock=5,
                suggested_reorder_point=round(per_day * lead) + 5,
            )
        )


def _refresh(db, shop):
    with db.tenant_session(shop.id) as s:
        return proposals.refresh_proposals(s, actor=ADMIN, now=NOW)


def _open(db, shop) -> list[ReorderProposal]:
    with db.tenant_session(shop.id) as s:
        return list(s.scalars(select(ReorderProposal).where(ReorderProposal.status == "open")))


def test_the_quantity_covers_lead_time_and_review_days_in_whole_cases(db, shop_a, shop_b):
    put_away(db, shop_a, line("TEA-100", 10, PICK_1, lot_no="L1", best_before="2099-01-01"))
    _forecast(db, shop_a, "TEA-100", 3.0)  # case of 40; point 26; 14 cover days
    _forecast(db, shop_a, "CUP-1", 1.0)  # nothing in stock, no case: pieces
    assert _refresh(db, shop_a).made == 2
    found = {p.product_id: p for p in _open(db, shop_a)}
    tea = found[shop_a.products["TEA-100"]]
    # demand 3 x (7 + 7) = 42, safety 5, available 10: 37 needed -> one case of 40
    assert (tea.available, tea.cover_days, tea.demand, tea.safety_stock) == (10, 14, 42, 5)
    assert (tea.case_quantity, tea.suggested_quantity) == (40, 40)
    cup = found[shop_a.products["CUP-1"]]
    assert cup.suggested_quantity == 14 + 5
    assert _open(db, shop_b) == []
    assert count_actions(db, shop_a, "planning.proposal_made") == 2


def test_accepting_with_an_edited_quantity_makes_an_inbound_notice(db, shop_a, shop_b):
    _forecast(db, shop_a, "CUP-1", 1.0)
    _refresh(db, shop_a)
    (proposal,) = _open(db, shop_a)
    with db.tenant_session(shop_a.id) as s:
        done = proposals.accept_proposal(
            s,
            actor=ADMIN,
            proposal_id=proposal.id,
            data={"quantity": "２４", "version": proposal.version},
        )
        assert (done.status, done.quantity, done.suggested_quantity) == ("accepted", 24, 19)
        assert done.inbound_notice_id
    assert count_actions(db, shop_a, "planning.proposal_accepted") == 1
    assert count_actions(db, shop_a, "inbound.notice_created") == 1
    with db.tenant_session(shop_a.id) as s, pytest.raises(AlreadyDecided):  # the form again
        proposals.accept_proposal(
            s, actor=ADMIN, proposal_id=proposal.id, data={"quantity": 24, "version": done.version}
        )
    assert count_actions(db, shop_a, "inbound.notice_created") == 1
    # on order now: the next night proposes nothing more
    assert _refresh(db, shop_a).made == 0 and _open(db, shop_a) == []
    with db.tenant_session(shop_b.id) as s, pytest.raises(NotFound):
        proposals.get_proposal(s, proposal.id)


def test_bad_quantities_and_stale_forms_are_refused(db, shop_a):
    _forecast(db, shop_a, "CUP-1", 1.0)
    _refresh(db, shop_a)
    (proposal,) = _open(db, shop_a)
    with db.tenant_session(shop_a.id) as s:
        with pytest.raises(PlanningInvalid) as refused:
            proposals.accept_proposal(
                s,
                actor=ADMIN,
                proposal_id=proposal.id,
                data={"quantity": 0, "version": proposal.version},
            )
        assert list(refused.value.errors) == ["quantity"]
        with pytest.raises(StaleRecord):
            proposals.accept_proposal(
                s,
                actor=ADMIN,
                proposal_id=proposal.id,
                data={"quantity": 5, "version": proposal.version + 1},
            )
    assert _open(db, shop_a)[0].status == "open"


def test_a_proposal_no_longer_needed_is_withdrawn(db, shop_a):
    _forecast(db, shop_a, "CUP-1", 1.0)
    _refresh(db, shop_a)
    put_away(db, shop_a, line("CUP-1", 100, PICK_1))
    assert _refresh(db, shop_a).withdrawn == 1 and _open(db, shop_a) == []


def test_dismissing_is_recorded(db, shop_a):
    _forecast(db, shop_a, "CUP-1", 1.0)
    _refresh(db, shop_a)
    (proposal,) = _open(db, shop_a)
    with db.tenant_session(shop_a.id) as s:
        proposals.dismiss_proposal(
            s, actor=ADMIN, proposal_id=proposal.id, version=proposal.version
        )
    assert count_actions(db, shop_a, "planning.proposal_dismissed") == 1
    assert NOW - timedelta(days=1) < NOW  # the clock is the test's
