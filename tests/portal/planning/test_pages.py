"""The planning pages: the list with notices, a SKU's chart and reorder point form,
proposals accepted into an inbound notice, storage usage, settings; bad input named by
field; another shop's ids answer 404."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from tests.portal.stock.helpers import rows
from tests.tenants.planning.conftest import ADMIN, TOKYO, count_actions, sell
from tests.tenants.stock.conftest import PICK_1, line
from urakata.tenants.planning import forecasts, proposals, snapshots
from urakata.tenants.planning.models import ReorderPoint, ReorderProposal
from urakata.tenants.stock.receipts import receive


def _sales(db, shop, days=30):
    today = datetime.now(TOKYO).date()
    for back in range(days, 0, -1):
        day = today - timedelta(days=back)
        sell(db, shop, day, [("CUP-1", 5 if day.weekday() >= 5 else 2)])
    with db.tenant_session(shop.id) as s:
        forecasts.forecast_shop(s, actor=ADMIN)


def test_the_sku_page_draws_history_and_forecast_in_japanese(db, world, portal, shop_a):
    _sales(db, shop_a)
    portal.login(world.shop_admin_a)
    assert 'href="/s/shop-a/planning"' in portal.get("/s/shop-a/").get_data(as_text=True)
    html = portal.get("/s/shop-a/planning").get_data(as_text=True)
    assert ("CUP-1",) in rows(html, "planning-row", "sku")
    page = portal.get(f"/s/shop-a/planning/{shop_a.products['CUP-1']}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for part in ("forecast-chart", "chart-sold", "chart-band", "chart-forecast"):
        assert f'data-testid="{part}"' in html
    assert '<title id="fc-title">' in html and 'lang="ja"' in html


def test_setting_a_reorder_point_and_refusing_a_negative_one(db, world, portal, shop_a):
    portal.login(world.shop_admin_a)
    url = f"/s/shop-a/planning/{shop_a.products['CUP-1']}"
    refused = portal.post_form(
        f"{url}/reorder-point", {"mode": "manual", "reorder_point": "-3"}, form_url=url
    )
    assert refused.status_code == 422
    assert 'data-field="reorder_point"' in refused.get_data(as_text=True)
    with db.tenant_session(shop_a.id) as s:
        assert s.scalars(select(ReorderPoint)).all() == []
    saved = portal.post_form(
        f"{url}/reorder-point", {"mode": "manual", "reorder_point": "4"}, form_url=url
    )
    assert saved.status_code == 303
    html = portal.get("/s/shop-a/planning").get_data(as_text=True)  # no stock: a notice
    assert rows(html, "low-stock-notice", "sku") == [("CUP-1",)]
    stale = portal.post_form(
        f"{url}/reorder-point",
        {"mode": "manual", "reorder_point": "5", "version": "7"},
        form_url=url,
    )
    assert stale.status_code == 409


def test_a_forecast_asked_for_a_sku_with_no_sales_says_why(db, world, portal, shop_a):
    portal.login(world.shop_admin_a)
    url = f"/s/shop-a/planning/{shop_a.products['POT-1']}"
    answer = portal.post_form(f"{url}/forecast", form_url=url)
    assert answer.status_code == 422
    assert 'data-testid="forecast-problem"' in answer.get_data(as_text=True)


def test_a_proposal_is_accepted_with_an_edited_quantity_once(db, world, portal, shop_a):
    _sales(db, shop_a)
    with db.tenant_session(shop_a.id) as s:
        proposals.refresh_proposals(s, actor=ADMIN)
    portal.login(world.shop_admin_a)
    html = portal.get("/s/shop-a/planning/proposals").get_data(as_text=True)
    ((pid, sku),) = rows(html, "proposal-row", "id", "sku")
    assert sku == "CUP-1"
    accept = "/s/shop-a/planning/proposals/accept"
    done = portal.post_form(
        accept,
        {"proposal": pid, "quantity": "50", "version": "1"},
        form_url="/s/shop-a/planning/proposals",
    )
    assert done.status_code == 303
    again = portal.post_form(
        accept,
        {"proposal": pid, "quantity": "50", "version": "1"},
        form_url="/s/shop-a/planning/proposals",
    )
    assert again.status_code == 409
    with db.tenant_session(shop_a.id) as s:
        found = s.get(ReorderProposal, (shop_a.id, int(pid)))
        assert (found.status, found.quantity) == ("accepted", 50) and found.inbound_notice_id
    assert count_actions(db, shop_a, "planning.proposal_accepted") == 1


def test_storage_usage_shows_the_month(db, world, portal, shop_a):
    yesterday = datetime.now(TOKYO).date() - timedelta(days=1)
    with db.tenant_session(shop_a.id) as s:
        receive(
            s,
            actor=ADMIN,
            data={"key": "receipt-planning-1", "lines": [line("CUP-1", 9, PICK_1)]},
            now=datetime.combine(yesterday, datetime.min.time(), tzinfo=TOKYO),
        )
    with db.tenant_session(shop_a.id) as s:
        snapshots.take_snapshot(
            s, actor=ADMIN, day=yesterday, now=datetime.now(UTC) + timedelta(days=2)
        )
    portal.login(world.shop_admin_a)
    html = portal.get(f"/s/shop-a/planning/storage?month={yesterday:%Y-%m}").get_data(as_text=True)
    assert rows(html, "storage-day", "day", "pieces") == [(yesterday.isoformat(), "9")]
    assert 'data-testid="storage-sekisu"' in html


def test_settings_are_checked_and_versioned(db, world, portal, shop_a):
    portal.login(world.shop_admin_a)
    url = "/s/shop-a/planning/settings"
    bad = portal.post_form(
        url,
        {
            "horizon_weeks": "1",
            "lead_time_days": "7",
            "service_level_pct": "95",
            "review_days": "7",
            "version": "1",
        },
    )
    assert bad.status_code == 422 and 'data-field="horizon_weeks"' in bad.get_data(as_text=True)
    good = portal.post_form(
        url,
        {
            "horizon_weeks": "6",
            "lead_time_days": "10",
            "service_level_pct": "90",
            "review_days": "7",
            "version": "1",
        },
    )
    assert good.status_code == 303
    stale = portal.post_form(
        url,
        {
            "horizon_weeks": "8",
            "lead_time_days": "10",
            "service_level_pct": "90",
            "review_days": "7",
            "version": "1",
        },
    )
    assert stale.status_code == 409


def test_another_shops_planning_answers_404(db, world, portal, shop_a, shop_b):
    _sales(db, shop_a, days=5)
    with db.tenant_session(shop_a.id) as s:
        proposals.refresh_proposals(s, actor=ADMIN)
        (proposal,) = s.scalars(select(ReorderProposal)).all()
    portal.login(world.shop_admin_b)
    a_product = shop_a.products["CUP-1"]
    assert portal.get(f"/s/shop-b/planning/{a_product}").status_code == 404
    assert portal.get("/s/shop-a/planning").status_code == 404
    url = "/s/shop-b/planning/proposals"
    assert (
        portal.post_form(
            "/s/shop-b/planning/proposals/accept",
            {"proposal": proposal.id, "quantity": "1", "version": "1"},
            form_url=url,
        ).status_code
        == 404
    )
    assert (
        portal.post_form(
            "/s/shop-b/planning/proposals/dismiss",
            {"proposal": proposal.id, "version": "1"},
            form_url=url,
        ).status_code
        == 404
    )
    assert (
        portal.post_form(
            f"/s/shop-b/planning/{a_product}/reorder-point", {"reorder_point": "1"}, form_url=url
        ).status_code
        == 404
    )
    assert date.today()  # the dates above are the shops' own
