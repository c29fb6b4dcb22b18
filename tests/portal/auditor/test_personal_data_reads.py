"""Who looked at my customers: the shop sees agency staff reads of its customers' data."""

from __future__ import annotations

import pytest

from tests.portal_client import PortalClient
from urakata.platform import audit
from urakata.platform.audit import user_actor


@pytest.fixture
def reads(db, world):
    with db.tenant_session(world.shop_a.id) as s:
        audit.record_read(
            s,
            user_actor(world.operator_a, "r-1", "192.0.2.10"),
            what="order detail",
            object_type="order",
            object_id="A-1",
        )
        audit.record_read(
            s,
            user_actor(world.agency_admin, "r-2", "192.0.2.11"),
            what="orders CSV",
            object_type="task",
            object_id="t-1",
            rows=120,
            export=True,
        )
        audit.record(s, user_actor(world.operator_a), "order.confirmed", object_type="order")
    with db.tenant_session(world.shop_b.id) as s:
        audit.record_read(
            s,
            user_actor(world.operator_b),
            what="B customers",
            object_type="order",
            object_id="B-1",
        )
    return world


def _page(app, db, user, shop="shop-a"):
    portal = PortalClient(app, db)
    portal.login(user)
    return portal.get(f"/s/{shop}/privacy/reads")


def test_the_shop_admin_sees_who_read_which_page_or_export(app, db, reads):
    response = _page(app, db, reads.shop_admin_a)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert page.count('data-testid="personal-data-read"') == 2
    assert reads.operator_a.display_name in page and reads.agency_admin.display_name in page
    assert "order detail" in page and "orders CSV" in page and "120" in page
    assert page.index("orders CSV") < page.index("order detail")  # newest first
    assert "B customers" not in page


def test_another_shops_admin_gets_404_and_operators_403(app, db, reads):
    assert _page(app, db, reads.shop_admin_b).status_code == 404
    assert _page(app, db, reads.operator_a).status_code == 403


def test_auditors_and_agency_admins_may_see_it(app, db, reads):
    assert _page(app, db, reads.auditor).status_code == 200
    assert _page(app, db, reads.agency_admin).status_code == 200


def test_shop_b_sees_only_its_own_reads(app, db, reads):
    page = _page(app, db, reads.shop_admin_b, shop="shop-b").get_data(as_text=True)
    assert page.count('data-testid="personal-data-read"') == 1
    assert "B customers" in page and "order detail" not in page


def test_the_shop_admin_sets_the_retention_policy_and_others_may_not(app, db, reads):
    from urakata.platform import retention

    portal = PortalClient(app, db)
    portal.login(reads.shop_admin_a)
    response = portal.post_form(
        "/s/shop-a/privacy/retention",
        {"erase_after_days": "90"},
        form_url="/s/shop-a/privacy/reads",
    )
    assert response.status_code == 302
    with db.tenant_session(reads.shop_a.id) as s:
        assert retention.get_policy(s).erase_after_days == 90
    with db.tenant_session(reads.shop_b.id) as s:
        assert retention.get_policy(s) is None
    refused = portal.post_form(
        "/s/shop-a/privacy/retention",
        {"erase_after_days": "0"},
        form_url="/s/shop-a/privacy/reads",
        follow_redirects=True,
    )
    assert "1 to 3650" in refused.get_data(as_text=True) or "3650" in refused.get_data(as_text=True)
    auditor = PortalClient(app, db)
    auditor.login(reads.auditor)
    page = auditor.get("/s/shop-a/privacy/reads").get_data(as_text=True)
    assert 'data-testid="retention-submit"' not in page and "90" in page
    stranger = PortalClient(app, db)
    stranger.login(reads.shop_admin_b)
    assert stranger.get("/s/shop-a/privacy/reads").status_code == 404
