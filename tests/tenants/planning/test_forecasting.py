"""The forecast on synthetic series with a known weekly season beats last week repeated;
a short history falls back to the average and says so."""

from __future__ import annotations

import numpy as np

from urakata.tenants.planning import forecasting

WEEK = np.array([10.0, 8, 8, 9, 12, 20, 22])  # Monday … Sunday: weekends sell more


def _series(rng, days: int, level_drift: float = 0.0) -> np.ndarray:
    t = np.arange(days)
    return rng.poisson(np.clip(WEEK[t % 7] + level_drift * t, 0, None)).astype(float)


def _mae(a, b) -> float:
    return float(np.abs(np.asarray(a) - np.asarray(b)).mean())


def test_holt_winters_beats_a_naive_last_week_on_seasonal_series():
    rng = np.random.default_rng(13)
    ours, naive = [], []
    for _ in range(30):
        y = _series(rng, 365 + 28)
        history, future = y[:365], y[365:]
        made = forecasting.forecast(history, 28)
        assert made.method == "holt_winters"
        ours.append(_mae(made.daily, future))
        naive.append(_mae(forecasting.seasonal_naive(history, 28), future))
    assert np.mean(ours) < 0.8 * np.mean(naive)
    assert sum(o < n for o, n in zip(ours, naive, strict=True)) >= 25


def test_the_forecast_keeps_the_weekly_shape_and_a_range_around_it():
    rng = np.random.default_rng(5)
    made = forecasting.forecast(_series(rng, 120), 14)
    weekend, weekdays = made.daily[[5, 6]].mean(), made.daily[[1, 2]].mean()  # 120 ≡ Sunday+1
    assert weekend > weekdays * 1.5 or made.daily.max() > made.daily.min() * 1.5
    assert np.all(made.lower <= made.daily) and np.all(made.daily <= made.upper)
    assert np.all(made.lower >= 0)
    assert made.upper[-1] - made.lower[-1] >= made.upper[0] - made.lower[0]  # widens


def test_a_short_history_gets_the_average_and_says_so():
    made = forecasting.forecast(np.array([3.0, 0, 5, 4, 1, 2, 6, 3, 3, 0]), 14)
    assert made.method == "average" and made.history_days == 10
    assert np.allclose(made.daily, 2.7)


def test_reorder_point_and_case_rounding():
    daily = [2.0] * 14
    assert forecasting.demand_over(daily, 7) == 14
    assert forecasting.demand_over(daily, 21) == 42  # past the horizon the last week repeats
    assert forecasting.safety_stock(0.0, 7, 95) == 0
    assert forecasting.reorder_point(daily, 1.0, 4, 95) == 8 + 4  # ceil(1.645 * 2) = 4
    assert (
        forecasting.order_quantity(demand=50, safety=10, available=12, on_order=0, case_quantity=24)
        == 48
    )
    assert (
        forecasting.order_quantity(demand=50, safety=10, available=70, on_order=0, case_quantity=24)
        == 0
    )
