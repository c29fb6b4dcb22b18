"""The operator's order queue: open orders of the shops they are assigned to, soonest
ship-by first.

It reads across shops through ``fan_out_across_tenants`` only (one tenant-bound session per
shop). Rows carry no personal data (no names, no addresses): the order page, under its
shop, shows those and records the look.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime

from flask import abort, render_template, request
from flask_login import current_user

from urakata.platform.identity import Role
from urakata.platform.tenancy import Tenant, fan_out_across_tenants
from urakata.portal.access import require_agency_role, shops_for
from urakata.portal.agency.views import bp
from urakata.portal.app import ship_day
from urakata.portal.requestdb import db_session, get_db
from urakata.portal.shop.order_views import label_sets, order_href, parse_filters, yen
from urakata.tenants.orders.services import OrderFilter, queue

QUEUE_LIMIT = 200


@dataclass(frozen=True)
class QueueRow:
    shop_slug: str
    shop_name: str
    order_id: int
    external_id: str
    channel: str
    status: str
    hold_codes: tuple[str, ...]
    payment_method: str
    payment_status: str
    total_yen: int
    ordered_at: str
    ship_by_at: datetime | None
    ship_by: date | None  # the local day it must ship on

    @property
    def sort_key(self) -> tuple:
        # As the service sorts one shop: no ship-by yet (needs a look) first, then soonest.
        return (self.ship_by_at is not None, self.ship_by_at or datetime.min, self.ordered_at)


def _rows_of(shop: Tenant, filters: OrderFilter):
    zone = shop.zone

    def local(moment: datetime | None) -> str:
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else ""

    def work(session) -> list[QueueRow]:
        return [
            QueueRow(
                shop.slug,
                shop.name,
                o.id,
                o.external_id,
                o.channel,
                o.status,
                tuple(h["code"] for h in o.holds),
                o.payment_method,
                o.payment_status,
                o.total_yen,
                local(o.ordered_at),
                o.ship_by_at,
                o.ship_by_date,
            )
            for o in queue(session, filters, limit=QUEUE_LIMIT)
        ]

    return work


@bp.get("/orders")
def order_queue():
    require_agency_role(Role.operator, Role.agency_admin)
    shops = shops_for(db_session(), current_user)
    filters, shown = parse_filters(request.args)
    chosen = shops
    slug = request.args.get("shop", "").strip()
    if slug:
        chosen = [s for s in shops if s.slug == slug]
        if not chosen:
            abort(404)  # a shop the user does not serve looks like a missing one
    works = {s.id: _rows_of(s, filters) for s in chosen}
    per_shop = fan_out_across_tenants(
        get_db(), list(works), lambda session: works[session.tenant_id](session)
    )
    rows = sorted((row for shop_rows in per_shop.values() for row in shop_rows),
                  key=lambda r: r.sort_key)  # fmt: skip
    return render_template(
        "agency/orders.html",
        shops=shops,
        rows=rows[:QUEUE_LIMIT],
        more=len(rows) > QUEUE_LIMIT,
        limit=QUEUE_LIMIT,
        filters={**shown, "shop": slug},
        yen=yen,
        order_hrefs={s.slug: order_href(s.slug) for s in chosen},
        ship_day=functools.lru_cache(maxsize=None)(ship_day),  # a few days across 200 rows
        **label_sets(),
    )
