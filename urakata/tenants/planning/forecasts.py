"""Per-SKU forecasts from the shop's daily sales, made nightly and kept.

Daily sales are the orders' (``orders.services.daily_sales``: units per SKU per local day,
cancelled orders left out); here they are read for every SKU of the shop at once, as one
array per SKU from its first sale in the last year up to yesterday. Each SKU gets a
forecast from today over the shop's horizon (:mod:`.forecasting`), the reorder point it
implies (lead-time demand + safety stock), and the accuracy of the forecasts made in the
last four weeks against what then sold: MAPE over weekly totals (a week that sold nothing
has no percentage error and is left out; the count of weeks says how many were used).

A run replaces the day's forecasts (one row per SKU and start day), so running it twice
changes nothing more; forecasts older than :data:`KEEP_DAYS` are deleted.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import distinct_on

from urakata.platform import audit
from urakata.platform.audit import Actor
from urakata.platform.db import UrakataSession, utcnow
from urakata.platform.tenancy import Tenant
from urakata.tenants.catalog.services import get_product
from urakata.tenants.orders.services import daily_sales
from urakata.tenants.planning import forecasting
from urakata.tenants.planning.errors import NoSales
from urakata.tenants.planning.models import ReorderPoint, SkuForecast
from urakata.tenants.planning.services import apply_suggestions, get_planning_settings
from urakata.tenants.stock.ledger import shop_today

HISTORY_DAYS = forecasting.HISTORY_DAYS_MAX
KEEP_DAYS = 120
ACCURACY_WEEKS = 4
WRITE_BATCH = 2000

_SALES = text(
    """
    SELECT s.product_id, array_agg(s.d) AS days, array_agg(s.q) AS quantities
      FROM (SELECT l.product_id,
                   (o.ordered_at AT TIME ZONE :zone)::date - CAST(:since AS date) AS d,
                   sum(l.quantity) AS q
              FROM order_line l
              JOIN sales_order o ON o.tenant_id = l.tenant_id AND o.id = l.order_id
             WHERE l.tenant_id = :tenant AND o.tenant_id = :tenant AND o.status <> 'cancelled'
               AND o.ordered_at >= :start AND o.ordered_at < :end
               AND l.product_id IS NOT NULL
               AND (CAST(:product AS bigint) IS NULL OR l.product_id = :product)
             GROUP BY 1, 2) s
     GROUP BY s.product_id
    """
)


def sales_histories(
    session: UrakataSession, *, today: date, product_id: int | None = None
) -> dict[int, np.ndarray]:
    """Pieces sold per local day of each SKU that sold in the last year, from its first
    sale in that year to yesterday (the same figures as ``daily_sales``)."""
    tenant = session.get(Tenant, session.tenant_id)
    since = today - timedelta(days=HISTORY_DAYS)
    start = datetime.combine(since, datetime.min.time(), tzinfo=tenant.zone)
    end = datetime.combine(today, datetime.min.time(), tzinfo=tenant.zone)
    rows = session.execute(
        _SALES,
        {"tenant": session.tenant_id, "zone": tenant.timezone, "since": since, "start": start,
         "end": end, "product": product_id},
    )  # fmt: skip
    histories = {}
    for row in rows:
        days = np.asarray(row.days, dtype=np.int64)
        series = np.zeros(HISTORY_DAYS)
        series[days] = np.asarray(row.quantities, dtype=float)
        histories[row.product_id] = series[int(days.min()) :]
    return histories


def daily_history(
    session: UrakataSession, product_id: int, *, until: date, days: int
) -> list[tuple[date, int]]:
    """The SKU's pieces sold on each of the ``days`` local days before ``until`` (zeros too)."""
    product = get_product(session, product_id)
    since = until - timedelta(days=days)
    sold = {s.day: s.quantity for s in daily_sales(session, since=since, until=until,
                                                   sku=product.sku)}  # fmt: skip
    return [(d, sold.get(d, 0)) for d in (since + timedelta(n) for n in range(days))]


# -- accuracy ----------------------------------------------------------------------------------

_PAST = text(
    """
    SELECT DISTINCT ON (f.product_id, w.ws) f.product_id, w.ws, f.starts_on, f.daily
      FROM unnest(CAST(:starts AS date[])) AS w(ws)
      JOIN sku_forecast f ON f.tenant_id = :tenant AND f.starts_on <= w.ws
                         AND f.starts_on > w.ws - 7
     WHERE CAST(:ids AS bigint[]) IS NULL OR f.product_id = ANY(:ids)
     ORDER BY f.product_id, w.ws, f.starts_on DESC
    """
)


def _week_starts(today: date) -> list[date]:
    return [today - timedelta(days=7 * k) for k in range(1, ACCURACY_WEEKS + 1)]


def past_forecasts(
    session: UrakataSession, today: date, product_ids: list[int] | None = None
) -> dict[int, list[tuple[date, float]]]:
    """For each of the last four weeks, the week's total as forecast at its start (the
    latest forecast made in the week before it): {product: [(week start, pieces)]}."""
    found: dict[int, list[tuple[date, float]]] = {}
    rows = session.execute(
        _PAST,
        {"tenant": session.tenant_id, "starts": _week_starts(today), "ids": product_ids},
    )
    for row in rows:
        offset = (row.ws - row.starts_on).days
        week = row.daily[offset : offset + 7]
        if len(week) == 7:
            found.setdefault(row.product_id, []).append((row.ws, float(sum(week))))
    return found


def mape(
    forecasts: list[tuple[date, float]] | None, history: np.ndarray, today: date
) -> tuple[float | None, int]:
    """MAPE (%) of the weekly totals forecast against those sold, and the weeks used."""
    errors = []
    for week_start, predicted in forecasts or ():
        first = len(history) - (today - week_start).days
        actual = float(history[max(first, 0) : max(first + 7, 0)].sum())
        if actual > 0:
            errors.append(abs(actual - predicted) / actual)
    if not errors:
        return None, 0
    return round(100 * sum(errors) / len(errors), 1), len(errors)


# -- making forecasts --------------------------------------------------------------------------


@dataclass(frozen=True)
class ForecastRun:
    day: date
    skus: int
    holt_winters: int
    average: int
    suggested_points_changed: int
    deleted_old: int


def _lead_times(session: UrakataSession) -> dict[int, int]:
    rows = session.execute(
        select(ReorderPoint.product_id, ReorderPoint.lead_time_days).where(
            ReorderPoint.lead_time_days.is_not(None)
        )
    )
    return {r.product_id: r.lead_time_days for r in rows}


def _rows(session, histories, today, now, settings, past) -> list[dict]:
    horizon = settings.horizon_weeks * 7
    leads = _lead_times(session)
    rows = []
    for product_id, history in histories.items():
        made = forecasting.forecast(history, horizon)
        lead = leads.get(product_id, settings.lead_time_days)
        safety = forecasting.safety_stock(made.sigma, lead, settings.service_level_pct)
        demand = forecasting.demand_over(made.daily, lead)
        error, weeks = mape(past.get(product_id), history, today)
        rows.append(
            {"tenant_id": session.tenant_id, "product_id": product_id, "starts_on": today,
             "made_at": now, "method": made.method, "history_days": made.history_days,
             "daily": forecasting.rounded(made.daily), "lower": forecasting.rounded(made.lower),
             "upper": forecasting.rounded(made.upper), "sigma": round(made.sigma, 4),
             "lead_time_days": lead, "safety_stock": safety,
             "suggested_reorder_point": math.ceil(demand + safety - 1e-9),
             "mape_pct": error, "mape_weeks": weeks}
        )  # fmt: skip
    return rows


_COLUMNS = (
    ("product_id", "bigint"), ("starts_on", "date"), ("made_at", "timestamptz"),
    ("method", "text"), ("history_days", "int"), ("daily", "jsonb"), ("lower", "jsonb"),
    ("upper", "jsonb"), ("sigma", "float8"), ("lead_time_days", "int"), ("safety_stock", "int"),
    ("suggested_reorder_point", "int"), ("mape_pct", "float8"), ("mape_weeks", "int"),
)  # fmt: skip
_JSON = {"daily", "lower", "upper"}
# One statement for the whole run: a column array each (unnest), no per-row SQL to build.
_WRITE = text(
    f"""
    INSERT INTO sku_forecast (tenant_id, {", ".join(c for c, _t in _COLUMNS)})
    SELECT CAST(:tenant AS uuid), *
      FROM unnest({", ".join(f"CAST(:{c} AS {t}[])" for c, t in _COLUMNS)})
    ON CONFLICT (tenant_id, product_id, starts_on) DO UPDATE SET
    {", ".join(f"{c} = EXCLUDED.{c}" for c, _t in _COLUMNS[2:])}
    """  # noqa: S608 - the column names are ours
)


def _write(session: UrakataSession, rows: list[dict]) -> None:
    for start in range(0, len(rows), WRITE_BATCH):
        batch = rows[start : start + WRITE_BATCH]
        params = {
            c: [json.dumps(r[c]) if c in _JSON else r[c] for r in batch] for c, _t in _COLUMNS
        }
        session.execute(_WRITE, {"tenant": session.tenant_id, **params})


def forecast_shop(
    session: UrakataSession, *, actor: Actor, now: datetime | None = None
) -> ForecastRun:
    """The nightly run: forecast every SKU that sold in the last year, keep the forecasts,
    move the reorder points kept at the suggestion, drop forecasts past keeping."""
    now = now or utcnow()
    today = shop_today(session, now)
    settings = get_planning_settings(session)
    histories = sales_histories(session, today=today)
    past = past_forecasts(session, today)
    rows = _rows(session, histories, today, now, settings, past)
    _write(session, rows)
    changed = apply_suggestions(
        session, actor=actor,
        suggestions={r["product_id"]: r["suggested_reorder_point"] for r in rows},
    )  # fmt: skip
    deleted = session.execute(
        text("DELETE FROM sku_forecast WHERE tenant_id = :tenant AND starts_on < :before"),
        {"tenant": session.tenant_id, "before": today - timedelta(days=KEEP_DAYS)},
    ).rowcount
    methods = [r["method"] for r in rows]
    run = ForecastRun(today, len(rows), methods.count("holt_winters"), methods.count("average"),
                      changed, deleted)  # fmt: skip
    audit.record(session, actor, "planning.forecasts_made", object_type="sku_forecast",
                 object_id=today.isoformat(),
                 data={"day": today, "skus": run.skus, "holt_winters": run.holt_winters,
                       "average": run.average, "horizon_weeks": settings.horizon_weeks,
                       "suggested_points_changed": changed, "deleted_old": deleted})  # fmt: skip
    return run


def forecast_product(
    session: UrakataSession, *, actor: Actor, product_id: int, now: datetime | None = None
) -> SkuForecast:
    """Forecast one SKU now (the portal's button); :class:`NoSales` when it sold nothing
    in the last year."""
    now = now or utcnow()
    product = get_product(session, product_id)
    today = shop_today(session, now)
    histories = sales_histories(session, today=today, product_id=product.id)
    if product.id not in histories:
        raise NoSales(product.sku, HISTORY_DAYS)
    settings = get_planning_settings(session)
    past = past_forecasts(session, today, [product.id])
    rows = _rows(session, histories, today, now, settings, past)
    _write(session, rows)
    apply_suggestions(session, actor=actor,
                      suggestions={product.id: rows[0]["suggested_reorder_point"]})  # fmt: skip
    row = rows[0]
    audit.record(session, actor, "planning.forecast_made", object_type="product",
                 object_id=product.id,
                 data={"sku": product.sku, "day": today, "method": row["method"],
                       "history_days": row["history_days"],
                       "suggested_reorder_point": row["suggested_reorder_point"]})  # fmt: skip
    return latest_forecasts(session, [product.id])[product.id]


def latest_forecasts(session: UrakataSession, product_ids: list[int]) -> dict[int, SkuForecast]:
    """Each SKU's newest forecast (SKUs never forecast are absent)."""
    if not product_ids:
        return {}
    stmt = (
        select(SkuForecast)
        .where(SkuForecast.product_id.in_(product_ids))
        .order_by(SkuForecast.product_id, SkuForecast.starts_on.desc())
        .ext(distinct_on(SkuForecast.product_id))
    )
    return {f.product_id: f for f in session.scalars(stmt)}
