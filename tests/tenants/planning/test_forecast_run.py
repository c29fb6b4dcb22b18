"""The nightly forecast of a shop: from its orders, kept per day, idempotent, accurate
forecasts measured against what sold, and a SKU with no sales refused."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.tenants.planning.conftest import ADMIN, TOKYO, count_actions, sell
from urakata.tenants.planning import forecasts, services
from urakata.tenants.planning.errors import NoSales
from urakata.tenants.planning.models import ReorderPoint, SkuForecast

NOW = datetime.now(TOKYO).replace(hour=2, minute=0, second=0, microsecond=0)
TODAY = NOW.date()


def _history(db, shop, days: int) -> None:
    """CUP-1 sells 1 a weekday and 4 on Saturdays and Sundays; TEA-100 once a week."""
    for back in range(days, 0, -1):
        day = TODAY - timedelta(days=back)
        lines = [("CUP-1", 4 if day.weekday() >= 5 else 1)]
        if day.weekday() == 2:
            lines.append(("TEA-100", 2))
        sell(db, shop, day, lines)


def test_the_nightly_run_forecasts_each_sku_that_sold(db, shop_a, shop_b):
    _history(db, shop_a, 35)
    sell(db, shop_a, TODAY, [("POT-1", 3)], hour=1)  # today's sales are not history yet
    with db.tenant_session(shop_a.id) as s:
        run = forecasts.forecast_shop(s, actor=ADMIN, now=NOW)
    assert (run.skus, run.holt_winters) == (2, 2)
    with db.tenant_session(shop_a.id) as s:
        found = forecasts.latest_forecasts(s, list(shop_a.products.values()))
    cup = found[shop_a.products["CUP-1"]]
    assert cup.starts_on == TODAY and cup.method == "holt_winters" and cup.history_days == 35
    assert len(cup.daily) == 28 and len(cup.lower) == 28 and len(cup.upper) == 28
    weekend = [v for n, v in enumerate(cup.daily) if (TODAY + timedelta(n)).weekday() >= 5]
    weekdays = [v for n, v in enumerate(cup.daily) if (TODAY + timedelta(n)).weekday() < 5]
    assert min(weekend) > max(weekdays)
    assert cup.suggested_reorder_point >= round(sum(cup.daily[:7]))  # a week's lead time
    assert shop_a.products["POT-1"] not in found
    with db.tenant_session(shop_b.id) as s:  # the other shop sees none of it
        assert s.scalar(select(func.count()).select_from(SkuForecast)) == 0


def test_a_second_run_the_same_day_replaces_the_days_forecasts(db, shop_a):
    _history(db, shop_a, 30)
    for _ in range(2):
        with db.tenant_session(shop_a.id) as s:
            forecasts.forecast_shop(s, actor=ADMIN, now=NOW)
    with db.tenant_session(shop_a.id) as s:
        assert s.scalar(select(func.count()).select_from(SkuForecast)) == 2
    assert count_actions(db, shop_a, "planning.forecasts_made") == 2


def test_a_short_history_is_forecast_by_the_average(db, shop_a):
    _history(db, shop_a, 10)
    with db.tenant_session(shop_a.id) as s:
        made = forecasts.forecast_product(
            s, actor=ADMIN, product_id=shop_a.products["CUP-1"], now=NOW
        )
    assert made.method == "average" and made.history_days == 10


def test_a_forecast_for_a_sku_with_no_sales_is_refused(db, shop_a):
    _history(db, shop_a, 3)
    with db.tenant_session(shop_a.id) as s, pytest.raises(NoSales) as refused:
        forecasts.forecast_product(s, actor=ADMIN, product_id=shop_a.products["POT-1"], now=NOW)
    assert "POT-1 has no sales" in str(refused.value.errors["product_id"][0])
    with db.tenant_session(shop_a.id) as s:
        assert s.scalar(select(func.count()).select_from(SkuForecast)) == 0


def test_past_forecasts_give_the_mape_of_the_last_four_weeks(db, shop_a):
    _history(db, shop_a, 35)
    cup = shop_a.products["CUP-1"]
    with db.tenant_session(shop_a.id) as s:  # four weeks ago, someone forecast 10 a week
        s.add_all(
            SkuForecast(
                product_id=cup,
                starts_on=TODAY - timedelta(days=7 * k),
                method="average",
                history_days=7,
                daily=[10 / 7] * 28,
                lower=[0] * 28,
                upper=[3] * 28,
                sigma=1.0,
                lead_time_days=7,
                safety_stock=1,
                suggested_reorder_point=11,
            )
            for k in range(1, 5)
        )
        s.flush()
        made = forecasts.forecast_product(s, actor=ADMIN, product_id=cup, now=NOW)
    # every week sold 5 weekdays x 1 + 2 weekend days x 4 = 13: |13 - 10| / 13 = 23.1%
    assert made.mape_weeks == 4 and made.mape_pct == pytest.approx(23.1, abs=0.1)


def test_suggested_reorder_points_follow_the_forecast(db, shop_a):
    _history(db, shop_a, 35)
    cup = shop_a.products["CUP-1"]
    with db.tenant_session(shop_a.id) as s:
        services.set_reorder_point(
            s, actor=ADMIN, product_id=cup, data={"mode": "suggested"}, suggestion=0
        )
        forecasts.forecast_shop(s, actor=ADMIN, now=NOW)
        point = s.get(ReorderPoint, (shop_a.id, cup))
        expected = forecasts.latest_forecasts(s, [cup])[cup].suggested_reorder_point
        assert point.reorder_point == expected > 0
    assert count_actions(db, shop_a, "planning.reorder_point_suggested") == 1
