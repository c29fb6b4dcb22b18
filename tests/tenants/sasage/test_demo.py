"""The demo's sasage: every state is there, one SKU is overdue, photos render upright."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select

from urakata.demo import PEOPLE, SHOPS, seed_catalog
from urakata.platform.audit import Actor
from urakata.platform.identity import Role, create_user, get_user_by_email, grant_role
from urakata.tenants.sasage import services
from urakata.tenants.sasage.demo import PLANS, seed_sasage
from urakata.tenants.sasage.models import SasageImage, SasageRequest
from urakata.tenants.shop.services import onboard_shop


def _demo_shops(db) -> dict:
    """The demo's shops, people and catalog (not its eight weeks of orders)."""
    tenants = {}
    admins = {shop: (email, name) for email, name, role, shop in PEOPLE if role is Role.shop_admin}
    for slug, name, zone in SHOPS:
        with db.session() as session, session.begin():
            email, admin = admins[slug]
            tenants[slug] = onboard_shop(
                session, actor=Actor.system("test"), link_key=b"k", slug=slug, name=name,
                timezone=zone, admin_email=email, admin_name=admin,
            ).tenant  # fmt: skip
    with db.platform_session() as session:
        for email, name, role, shop in PEOPLE:
            if role is Role.operator:
                user = get_user_by_email(session, email) or create_user(session, email, name)
                grant_role(session, user, role, tenants[shop].id)
    seed_catalog(db, tenants)
    return tenants


def test_the_demo_has_skus_in_every_state(db, tmp_path):
    tenants = _demo_shops(db)
    seed_sasage(db, tenants, files_dir=str(tmp_path))
    states, complete, overdue = Counter(), 0, 0
    for slug, plans in PLANS.items():
        with db.tenant_session(tenants[slug].id) as s:
            requests = list(s.scalars(select(SasageRequest)))
            assert len(requests) == len(plans)
            complete += sum(r.is_complete for r in requests)
            rows = services.board_tasks(s, services.BoardFilter())
            states.update(row.task.state for row in rows)
            overdue += sum(row.overdue for row in rows)
            images = list(s.scalars(select(SasageImage)))
    assert set(states) == {"todo", "in_progress", "waiting", "returned", "approved"}
    assert complete == sum(p.state == "complete" for plans in PLANS.values() for p in plans)
    assert overdue >= 3  # the coat nobody has started, due a week ago
    assert {i.status for i in images} >= {"ready"}
    assert len(list(tmp_path.rglob("thumb.jpg"))) >= 10
