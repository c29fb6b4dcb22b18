"""The planning list of a shop: each SKU with its available stock, reorder point, latest
forecast and its accuracy (keyset pages by SKU, filterable)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from urakata.platform.db import UrakataSession
from urakata.tenants.catalog.models import Product
from urakata.tenants.planning.forecasts import latest_forecasts
from urakata.tenants.planning.models import ReorderPoint, SkuForecast
from urakata.tenants.planning.services import available_by_product


@dataclass(frozen=True)
class PlanningRow:
    product_id: int
    sku: str
    name: str
    available: int
    point: ReorderPoint | None
    forecast: SkuForecast | None

    @property
    def next_week(self) -> int | None:
        return round(self.forecast.total(7)) if self.forecast else None


def planning_rows(
    session: UrakataSession,
    *,
    query: str = "",
    low_only: bool = False,
    after_sku: str | None = None,
    limit: int = 50,
) -> tuple[list[PlanningRow], str | None]:
    stmt = select(Product).where(Product.status != "draft").order_by(Product.sku).limit(limit + 1)
    if query:
        stmt = stmt.where(
            Product.sku.icontains(query, autoescape=True)
            | Product.name.icontains(query, autoescape=True)
        )
    if low_only:
        stmt = stmt.join(ReorderPoint, ReorderPoint.product_id == Product.id).where(
            ReorderPoint.alert_state == "low"
        )
    if after_sku:
        stmt = stmt.where(Product.sku > after_sku)
    products = list(session.scalars(stmt))
    more = len(products) > limit
    products = products[:limit]
    ids = [p.id for p in products]
    points = {
        r.product_id: r
        for r in session.scalars(select(ReorderPoint).where(ReorderPoint.product_id.in_(ids)))
    }
    forecasts = latest_forecasts(session, ids)
    available = available_by_product(session, ids)
    rows = [
        PlanningRow(p.id, p.sku, p.name, available.get(p.id, 0), points.get(p.id),
                    forecasts.get(p.id))
        for p in products
    ]  # fmt: skip
    return rows, (products[-1].sku if more else None)
