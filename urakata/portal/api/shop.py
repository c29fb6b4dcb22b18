"""GET /api/v1/shop: the shop the API key belongs to."""

from __future__ import annotations

from flask import g

from urakata.portal.api.blueprint import ApiBlueprint
from urakata.portal.api.schemas import ShopOut, ShopQuery
from urakata.portal.requestdb import db_session
from urakata.tenants.shop.services import get_settings

bp = ApiBlueprint("api_shop", __name__, description="The shop the API key belongs to.")


@bp.get("/shop")
@bp.arguments(ShopQuery, location="query", as_kwargs=True)
@bp.response(200, ShopOut)
def get_shop():
    """Read the key's shop

    Returns the shop's identity and the operating settings an integration needs: the
    same-day shipping cutoff, the split-shipment policy and the sasage turnaround.
    """
    settings = get_settings(db_session())
    shop = g.shop
    return {
        "slug": shop.slug,
        "name": shop.name,
        "timezone": shop.timezone,
        "status": shop.status,
        "same_day_cutoff": settings.same_day_cutoff,
        "split_policy": settings.split_policy,
        "sasage_turnaround_days": settings.sasage_turnaround_days,
    }
