"""Stocktakes: blind counts, recounts above the threshold, approval by an agency admin
who did not count, the shop's approval above its threshold (or its dispute), and the
adjustment movements that post only then."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from tests.tenants.inbound.conftest import ADMIN, OPERATOR, SHOP, actions, levels, set_settings
from tests.tenants.stock.conftest import line as receipt_line
from tests.tenants.stock.conftest import put_away
from urakata.platform.audit import Actor
from urakata.platform.tenancy import NotFound
from urakata.tenants.stock.models import StockMovement
from urakata.tenants.stocktake import services as st
from urakata.tenants.stocktake.models import StocktakeCount

COUNTER_2 = Actor(type="user", id="op-2", label="倉庫担当 田中", request_id="r3")


@pytest.fixture
def stocked(db, shop_a):
    """Shop A: 10 cups in A-01-01-1, 4 pots in A-01-01-2 (3,300 and 5,500 yen each)."""
    put_away(
        db, shop_a, receipt_line("CUP-1", 10, "A-01-01-1"), receipt_line("POT-1", 4, "A-01-01-2")
    )
    return shop_a


def plan(db, shop, **kw):
    with db.tenant_session(shop.id) as s:
        made = st.plan_stocktake(
            s,
            ADMIN,
            **{"scope": "bins", "bins": ["A-01-01-1", "A-01-01-2"], "recount_threshold": 100, **kw},
        )
        return made.id, {li.product.sku: li.id for li in made.lines}


def count(db, shop, stocktake_id, line_id, quantity, actor=OPERATOR):
    with db.tenant_session(shop.id) as s:
        return st.record_count(s, actor, stocktake_id, line_id, quantity).recount_required


def version(db, shop, stocktake_id) -> int:
    with db.tenant_session(shop.id) as s:
        return st.get_stocktake(s, stocktake_id).version


def submit(db, shop, sid):
    with db.tenant_session(shop.id) as s:
        return st.submit_stocktake(s, OPERATOR, sid, version=version(db, shop, sid)).status


def approve(db, shop, sid, actor=ADMIN, reasons=None):
    with db.tenant_session(shop.id) as s:
        return st.approve_stocktake(
            s, actor, sid, version=version(db, shop, sid), reasons=reasons or {}
        ).status


def adjustments(db, shop):
    with db.tenant_session(shop.id) as s:
        rows = s.scalars(select(StockMovement).where(StockMovement.kind == "adjustment"))
        return sorted((m.on_hand_delta, m.reason) for m in rows)


def test_a_matching_count_posts_nothing_and_needs_no_shop(db, stocked):
    sid, lines = plan(db, stocked)
    count(db, stocked, sid, lines["CUP-1"], 10)
    count(db, stocked, sid, lines["POT-1"], 4)
    assert submit(db, stocked, sid) == "review"
    assert approve(db, stocked, sid) == "posted"
    assert adjustments(db, stocked) == []


def test_a_blind_count_keeps_the_system_quantity_out_of_the_counters_view(db, stocked):
    sid, lines = plan(db, stocked, blind=True)
    with db.tenant_session(stocked.id) as s:
        take = st.get_stocktake(s, sid)
        assert take.blind and all(li.system_qty is None for li in take.lines)
    count(db, stocked, sid, lines["CUP-1"], 10)
    with db.tenant_session(stocked.id) as s:
        line = next(li for li in st.get_stocktake(s, sid).lines if li.id == lines["CUP-1"])
        assert (line.system_qty, line.counted_qty, line.variance) == (10, 10, 0)


def test_a_variance_above_the_threshold_asks_for_a_recount_and_the_recount_stands(db, stocked):
    sid, lines = plan(db, stocked, recount_threshold=1)
    assert count(db, stocked, sid, lines["CUP-1"], 9) is False  # within the threshold
    assert count(db, stocked, sid, lines["POT-1"], 1) is True  # 3 short: count again
    with pytest.raises(st.StocktakeInvalid) as exc:
        submit(db, stocked, sid)
    assert "lines" in exc.value.errors
    assert count(db, stocked, sid, lines["POT-1"], 2, actor=COUNTER_2) is False
    with pytest.raises(st.StocktakeInvalid):  # counted, no recount asked
        count(db, stocked, sid, lines["CUP-1"], 8)
    with db.tenant_session(stocked.id) as s:
        history = s.scalars(
            select(StocktakeCount.quantity)
            .where(StocktakeCount.line_id == lines["POT-1"])
            .order_by(StocktakeCount.id)
        ).all()
        assert history == [1, 2]
    assert submit(db, stocked, sid) == "review"


def test_two_level_approval_the_shop_approves_above_its_threshold(db, stocked):
    set_settings(db, stocked, stocktake_approval_threshold_yen=5000)
    sid, lines = plan(db, stocked)
    count(db, stocked, sid, lines["CUP-1"], 11)  # +1 × 3,300
    count(db, stocked, sid, lines["POT-1"], 3)  # -1 × 5,500 → 8,800 yen > 5,000
    submit(db, stocked, sid)
    with pytest.raises(st.StocktakeInvalid) as exc:  # a variance needs its reason
        approve(db, stocked, sid)
    assert set(exc.value.errors) == {
        f"lines[{lines['CUP-1']}].reason",
        f"lines[{lines['POT-1']}].reason",
    }
    reasons = {lines["CUP-1"]: "found", lines["POT-1"]: "damage"}
    assert approve(db, stocked, sid, reasons=reasons) == "shop_review"
    assert adjustments(db, stocked) == []  # nothing posts before the shop says yes
    with db.tenant_session(stocked.id) as s:
        take = st.decide_as_shop(s, SHOP, sid, version=version(db, stocked, sid), approve=True)
        assert take.status == "posted"
    assert adjustments(db, stocked) == [
        (-1, f"棚卸 ST-{sid:06d}: damage"),
        (1, f"棚卸 ST-{sid:06d}: found"),
    ]
    assert levels(db, stocked) == {("A-01-01-1", ""): 11, ("A-01-01-2", ""): 3}
    assert actions(db, stocked)[-3:] == [
        "stocktake.approved_by_agency",
        "stocktake.approved_by_shop",
        "stocktake.posted",
    ]


def test_below_the_shops_threshold_the_agency_approval_posts(db, stocked):
    set_settings(db, stocked, stocktake_approval_threshold_yen=5000)
    sid, lines = plan(db, stocked)
    count(db, stocked, sid, lines["CUP-1"], 9)
    count(db, stocked, sid, lines["POT-1"], 4)
    submit(db, stocked, sid)
    assert approve(db, stocked, sid, reasons={lines["CUP-1"]: "loss"}) == "posted"
    assert levels(db, stocked, "CUP-1") == {("A-01-01-1", ""): 9}


def test_the_shop_disputes_with_a_comment_and_stock_stays(db, stocked):
    set_settings(db, stocked, stocktake_approval_threshold_yen=0)
    sid, lines = plan(db, stocked)
    count(db, stocked, sid, lines["CUP-1"], 5)
    count(db, stocked, sid, lines["POT-1"], 4)
    submit(db, stocked, sid)
    approve(db, stocked, sid, reasons={lines["CUP-1"]: "loss"})
    with db.tenant_session(stocked.id) as s:
        with pytest.raises(st.StocktakeInvalid) as exc:
            st.decide_as_shop(s, SHOP, sid, version=version(db, stocked, sid), approve=False)
        assert list(exc.value.errors) == ["comment"]
    with db.tenant_session(stocked.id) as s:
        take = st.decide_as_shop(
            s, SHOP, sid, version=version(db, stocked, sid), approve=False,
            comment="先週 10 個入荷しています。再確認してください。",
        )  # fmt: skip
        assert take.status == "disputed"
    assert adjustments(db, stocked) == [] and levels(db, stocked, "CUP-1") == {
        ("A-01-01-1", ""): 10
    }
    with db.tenant_session(stocked.id) as s:
        take = st.recount_disputed(s, ADMIN, sid, version=version(db, stocked, sid))
        assert take.status == "counting"
        assert [li.recount_required for li in take.lines] == [True, False]
    assert "stocktake.disputed" in actions(db, stocked)


def test_the_counter_may_not_approve_their_own_count(db, stocked):
    sid, lines = plan(db, stocked)
    count(db, stocked, sid, lines["CUP-1"], 10, actor=ADMIN)
    count(db, stocked, sid, lines["POT-1"], 4)
    submit(db, stocked, sid)
    with pytest.raises(st.StocktakeInvalid) as exc:
        approve(db, stocked, sid, actor=ADMIN)
    assert list(exc.value.errors) == ["approver"]
    other = Actor(type="user", id="admin-2", label="管理 次郎")
    assert approve(db, stocked, sid, actor=other) == "posted"


@pytest.mark.parametrize("quantity", [-1, "x", 1.5])
def test_a_negative_or_odd_count_is_refused(db, stocked, quantity):
    sid, lines = plan(db, stocked)
    with pytest.raises(st.StocktakeInvalid) as exc:
        count(db, stocked, sid, lines["CUP-1"], quantity)
    assert list(exc.value.errors) == [f"lines[{lines['CUP-1']}].quantity"]
    with db.tenant_session(stocked.id) as s:
        assert s.scalars(select(StocktakeCount)).all() == []


def test_scopes_by_sku_top_movers_and_full(db, stocked):
    sid, lines = plan(db, stocked, scope="skus", bins=None, skus=["POT-1"])
    assert list(lines) == ["POT-1"]
    _sid, lines = plan(db, stocked, scope="top_movers", bins=None, top_n="1")
    assert len(lines) == 1
    _sid, lines = plan(db, stocked, scope="full", bins=None)
    assert set(lines) == {"CUP-1", "POT-1"}
    with pytest.raises(st.StocktakeInvalid) as exc:
        plan(db, stocked, scope="bins", bins=["B-01-01-1"])  # the other shop's bin
    assert list(exc.value.errors) == ["bins"]


def test_another_shops_stocktake_is_not_found(db, stocked, shop_b):
    sid, lines = plan(db, stocked)
    with db.tenant_session(shop_b.id) as s:
        with pytest.raises(NotFound):
            st.get_stocktake(s, sid)
        with pytest.raises(NotFound):
            st.record_count(s, OPERATOR, sid, lines["CUP-1"], 3)
        assert st.list_stocktakes(s).items == []


def test_writing_off_pieces_promised_to_orders_is_refused_whole(db, stocked):
    from tests.tenants.stock.conftest import order
    from urakata.tenants.stock.allocation import allocate_order

    set_settings(db, stocked, stocktake_approval_threshold_yen=1_000_000)
    placed = order(db, stocked, ("CUP-1", 9), number=f"#{uuid.uuid4().hex[:6]}")
    with db.tenant_session(stocked.id) as s:
        outcome = allocate_order(s, actor=OPERATOR, order_id=placed.id)
        assert outcome.allocated == 9, outcome
    sid, lines = plan(db, stocked)
    count(db, stocked, sid, lines["CUP-1"], 5)
    count(db, stocked, sid, lines["POT-1"], 5)
    submit(db, stocked, sid)
    from urakata.tenants.stock.errors import StockInvalid

    with pytest.raises(StockInvalid):
        approve(db, stocked, sid, reasons={lines["CUP-1"]: "loss", lines["POT-1"]: "found"})
    assert adjustments(db, stocked) == []
    with db.tenant_session(stocked.id) as s:
        assert st.get_stocktake(s, sid).status == "review"


def test_goods_found_where_the_list_expects_none_are_counted_on_a_new_line(db, stocked):
    sid, lines = plan(db, stocked)
    with db.tenant_session(stocked.id) as s:
        with pytest.raises(st.StocktakeInvalid) as exc:
            st.add_found(s, OPERATOR, sid, code="CUP-1", location="A-01-01-1", quantity=2)
        assert list(exc.value.errors) == ["code"]  # on the list already
        with pytest.raises(st.StocktakeInvalid) as exc:
            st.add_found(s, OPERATOR, sid, code="B-ONLY", location="B-01-01-1", quantity=-1)
        assert set(exc.value.errors) == {"code", "location", "quantity"}
        found = st.add_found(s, OPERATOR, sid, code="CUP-1", location="A-01-01-2", quantity=2)
        assert (found.system_qty, found.counted_qty, found.variance) == (0, 2, 2)
    count(db, stocked, sid, lines["CUP-1"], 10)
    count(db, stocked, sid, lines["POT-1"], 4)
    submit(db, stocked, sid)
    assert approve(db, stocked, sid, reasons={found.id: "found"}) == "posted"
    assert levels(db, stocked, "CUP-1") == {("A-01-01-1", ""): 10, ("A-01-01-2", ""): 2}
