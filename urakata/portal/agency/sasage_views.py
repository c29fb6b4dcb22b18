"""The operators' sasage board: every task of the shops they serve, in columns by state.

It reads across shops through ``fan_out_across_tenants`` only (one tenant-bound session
per shop). Filters: shop, task type, due date (until), assignee (me, nobody, a person)
and SKU or name. Open tasks past their due date (the shop's calendar day) stand out.
Approved tasks stay on the board for two weeks.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from flask import abort, render_template, request
from flask_login import current_user

from urakata.platform.identity import Role, UserAccount, users_with_role
from urakata.platform.tenancy import Tenant, fan_out_across_tenants
from urakata.portal.access import require_agency_role, shops_for
from urakata.portal.agency.views import bp
from urakata.portal.requestdb import db_session, get_db
from urakata.portal.shop.sasage_forms import KIND_LABELS, STATE_LABELS
from urakata.tenants.sasage.models import TASK_KINDS, TASK_STATES
from urakata.tenants.sasage.services import BoardFilter, board_tasks

COLUMN_LIMIT = 100


@dataclass(frozen=True)
class Card:
    shop_slug: str
    shop_name: str
    request_id: int
    sku: str
    product_name: str
    kind: str
    state: str
    due_date: date
    assignee: str
    overdue: bool
    return_count: int

    @property
    def sort_key(self) -> tuple:
        return (not self.overdue, self.due_date, self.shop_slug, self.request_id)


def _cards_of(shop: Tenant, filters: BoardFilter):
    def work(session) -> list[Card]:
        return [
            Card(shop.slug, shop.name, row.task.request_id, row.sku, row.product_name,
                 row.task.kind, row.task.state, row.task.due_date, row.task.assignee_name,
                 row.overdue, row.task.return_count)
            for row in board_tasks(session, filters)
        ]  # fmt: skip

    return work


def _filters(args) -> tuple[BoardFilter, dict[str, str]]:
    kind = args.get("kind") if args.get("kind") in TASK_KINDS else None
    due_until = None
    try:
        due_until = date.fromisoformat(args.get("due", "").strip()) if args.get("due") else None
    except ValueError:
        due_until = None
    assignee = (args.get("assignee") or "").strip()
    if assignee == "me":
        chosen = str(current_user.id)
    elif assignee == "none":
        chosen = "none"
    else:
        try:
            chosen = str(uuid.UUID(assignee)) if assignee else ""
        except ValueError:
            chosen, assignee = "", ""
    query = (args.get("q") or "").strip()[:100]
    shown = {
        "kind": kind or "",
        "due": due_until.isoformat() if due_until else "",
        "assignee": assignee,
        "q": query,
        "shop": (args.get("shop") or "").strip(),
    }
    return BoardFilter(kind=kind, due_until=due_until, assignee=chosen, query=query), shown


@bp.get("/sasage")
def sasage_board():
    require_agency_role(Role.operator, Role.agency_admin)
    session = db_session()
    shops = shops_for(session, current_user)
    filters, shown = _filters(request.args)
    chosen = shops
    if shown["shop"]:
        chosen = [s for s in shops if s.slug == shown["shop"]]
        if not chosen:
            abort(404)  # a shop the user does not serve looks like a missing one
    works = {s.id: _cards_of(s, filters) for s in chosen}
    per_shop = fan_out_across_tenants(get_db(), list(works), lambda s: works[s.tenant_id](s))
    cards = sorted((c for shop_cards in per_shop.values() for c in shop_cards),
                   key=lambda c: c.sort_key)  # fmt: skip
    columns = {state: [c for c in cards if c.state == state] for state in TASK_STATES}
    return render_template(
        "sasage/board.html",
        shops=shops,
        columns={state: cards[:COLUMN_LIMIT] for state, cards in columns.items()},
        totals={state: len(cards) for state, cards in columns.items()},
        overdue=sum(c.overdue for c in cards),
        limit=COLUMN_LIMIT,
        filters=shown,
        people=_people(session),
        kind_labels=KIND_LABELS,
        state_labels=STATE_LABELS,
    )


def _people(session) -> list[UserAccount]:
    """Who tasks may be given to: the operators (agency staff, no shop data)."""
    return [u for u in users_with_role(session, Role.operator) if u.is_active]
