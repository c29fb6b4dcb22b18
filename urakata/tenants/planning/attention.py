"""What needs the agency's attention in one shop: SKUs below their reorder point and
proposals waiting for a decision (read per shop; the agency page fans out)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from urakata.platform.db import UrakataSession
from urakata.tenants.catalog.models import Product
from urakata.tenants.planning.models import ReorderPoint, ReorderProposal

LISTED = 10


@dataclass(frozen=True)
class ShopAttention:
    low: int
    low_skus: list[str]
    open_proposals: int


def shop_attention(session: UrakataSession) -> ShopAttention:
    low_skus = list(
        session.scalars(
            select(Product.sku)
            .join(ReorderPoint, ReorderPoint.product_id == Product.id)
            .where(ReorderPoint.alert_state == "low")
            .order_by(Product.sku)
            .limit(LISTED)
        )
    )
    low = session.scalar(
        select(func.count()).select_from(ReorderPoint).where(ReorderPoint.alert_state == "low")
    )
    waiting = session.scalar(
        select(func.count()).select_from(ReorderProposal).where(ReorderProposal.status == "open")
    )
    return ShopAttention(low, low_skus, waiting)
