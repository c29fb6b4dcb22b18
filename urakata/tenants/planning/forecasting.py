"""Forecasting one SKU's daily sales: statsmodels' Holt-Winters with weekly seasonality,
or a flat average when the history is too short to see a week's pattern.

The model is additive exponential smoothing with an additive weekly season and no trend
(ETS(A,N,A)): sales of one SKU are small counts, often zero, which a multiplicative
season cannot take, and a trend fitted on a few weeks runs away. It is fitted with the
heuristic initial state and without the brute-force start search (``use_brute=False``):
the same estimates for these series at a fifth of the time, which is what lets a shop's
5,000 SKUs be forecast in one nightly job.

The 80% range is the model's own: the h-step forecast variance of ETS(A,N,A) is
``σ² (1 + Σ_{j<h} (α + γ·[j mod 7 = 0])²)`` (Hyndman & Athanasopoulos, *Forecasting:
Principles and Practice*, table 8.8), with σ² from the fit's residuals. Nothing goes
below zero.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from statsmodels.tools.sm_exceptions import ConvergenceWarning
from statsmodels.tsa.holtwinters import ExponentialSmoothing

SEASON = 7
MIN_HISTORY_DAYS = 28  # four weeks: fewer, and the forecast is a flat average
HISTORY_DAYS_MAX = 365
Z_80 = 1.2815515655446004  # the 80% range: ±z σ_h


@dataclass(frozen=True)
class Forecast:
    method: str  # "holt_winters" | "average"
    history_days: int
    daily: np.ndarray  # pieces a day over the horizon
    lower: np.ndarray
    upper: np.ndarray
    sigma: float  # the one-day forecast error (standard deviation)


def fit_model(history: np.ndarray):
    """The Holt-Winters model of a history, fitted (the same call the bench's baseline makes)."""
    model = ExponentialSmoothing(
        history,
        trend=None,
        seasonal="add",
        seasonal_periods=SEASON,
        initialization_method="heuristic",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        return model.fit(use_brute=False)


def forecast(history: np.ndarray, horizon: int) -> Forecast:
    """Forecast ``horizon`` days after ``history`` (pieces a day, oldest first, ending
    yesterday). A history shorter than four weeks gets the flat average."""
    history = np.asarray(history, dtype=float)[-HISTORY_DAYS_MAX:]
    if len(history) < MIN_HISTORY_DAYS or not history.any():
        return average(history, horizon)
    fitted = fit_model(history)
    mean = np.asarray(fitted.forecast(horizon), dtype=float)
    if not np.all(np.isfinite(mean)):
        return average(history, horizon)
    sigma = math.sqrt(max(float(fitted.sse), 0.0) / len(history))
    alpha = float(fitted.params["smoothing_level"])
    gamma = float(fitted.params["smoothing_seasonal"] or 0.0)
    steps = np.arange(1, horizon)
    c = alpha + gamma * (steps % SEASON == 0)
    spread = sigma * np.sqrt(1.0 + np.concatenate(([0.0], np.cumsum(c * c))))
    mean = np.clip(mean, 0.0, None)
    return Forecast(
        "holt_winters",
        len(history),
        mean,
        np.clip(mean - Z_80 * spread, 0.0, None),
        mean + Z_80 * spread,
        sigma,
    )


def average(history: np.ndarray, horizon: int) -> Forecast:
    """The fallback: the history's daily average, its spread as the range."""
    history = np.asarray(history, dtype=float)
    level = float(history.mean()) if len(history) else 0.0
    sigma = float(history.std()) if len(history) > 1 else level
    mean = np.full(horizon, level)
    return Forecast(
        "average",
        len(history),
        mean,
        np.clip(mean - Z_80 * sigma, 0.0, None),
        mean + Z_80 * sigma,
        sigma,
    )


def seasonal_naive(history: np.ndarray, horizon: int) -> np.ndarray:
    """Last week again and again: the benchmark a forecast has to beat."""
    last = np.asarray(history, dtype=float)[-SEASON:]
    return np.resize(last, horizon)


# -- what the forecast means for ordering -----------------------------------------------------


def z_for(service_level_pct: int) -> float:
    """The standard normal quantile of the service level (95% → 1.645)."""
    from statistics import NormalDist

    return NormalDist().inv_cdf(service_level_pct / 100)


def demand_over(daily, days: int) -> float:
    """Forecast pieces over the next ``days``; past the horizon the last week repeats."""
    values = [float(v) for v in daily]
    if days <= len(values):
        return sum(values[:days])
    tail = values[-SEASON:] or [0.0]
    extra = days - len(values)
    return sum(values) + sum(tail[i % len(tail)] for i in range(extra))


def safety_stock(sigma: float, lead_time_days: int, service_level_pct: int) -> int:
    """Pieces kept for demand above the forecast while an order is on its way."""
    return math.ceil(z_for(service_level_pct) * sigma * math.sqrt(lead_time_days))


def reorder_point(daily, sigma: float, lead_time_days: int, service_level_pct: int) -> int:
    """Demand over the lead time plus the safety stock, in whole pieces."""
    demand = demand_over(daily, lead_time_days)
    return math.ceil(demand + safety_stock(sigma, lead_time_days, service_level_pct) - 1e-9)


def order_quantity(
    *, demand: float, safety: int, available: int, on_order: int, case_quantity: int | None
) -> int:
    """Pieces to order so the cover days' demand and the safety stock are there, in whole
    cases when the catalog knows the case quantity (0: nothing to order)."""
    needed = math.ceil(demand + safety - available - on_order - 1e-9)
    if needed <= 0:
        return 0
    if case_quantity:
        return math.ceil(needed / case_quantity) * case_quantity
    return needed


def rounded(values: np.ndarray) -> list[float]:
    """Values as stored (JSON): two decimals."""
    return [round(float(v), 2) for v in values]
