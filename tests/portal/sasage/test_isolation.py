"""Another shop's sasage — its pages, its tasks, its photos and their URLs, its progress —
answers 404 to shop B's people and operators, under either shop's URL; anonymous
visitors are sent to log in. Shop A's own people and operators get the photos."""

from __future__ import annotations

import re

import pytest

from tests.portal.sasage.helpers import page_of
from tests.tenants.sasage.helpers import photo, render, request, submit, task, upload, write
from urakata.tenants.sasage import photos


@pytest.fixture
def shop_a_work(db, world, shops, store):
    """Shop A's request with a rendered photo, a pending one and copy waiting for it."""
    request_id = request(db, world.shop_a)
    upload(db, world.shop_a, request_id, store, photo())
    render(db, world.shop_a, request_id, store)
    render_task = upload(db, world.shop_a, request_id, store, photo(color=(0, 120, 0)))
    write(db, world.shop_a, request_id)
    submit(db, world.shop_a, request_id, "copy")
    with db.tenant_session(world.shop_a.id) as s:
        ready, pending = photos.list_photos(s, request_id)
    return {"request": request_id, "ready": ready.id, "pending": pending.id, "task": render_task}


def _urls(slug: str, work: dict) -> list[str]:
    base = f"/s/{slug}/sasage/{work['request']}"
    return [
        base,
        f"{base}/images/{work['ready']}/thumb",
        f"{base}/images/{work['ready']}/web",
        f"{base}/render/{work['task']}/progress.json",
    ]


def test_shop_a_people_and_operators_see_the_photos(portal, world, shop_a_work):
    for who in (world.shop_admin_a, world.operator_a, world.agency_admin):
        portal.login(who)
        for url in _urls("shop-a", shop_a_work):
            response = portal.get(url)
            assert response.status_code == 200, (who.email, url)
        pending = f"/s/shop-a/sasage/{shop_a_work['request']}/images/{shop_a_work['pending']}/web"
        assert portal.get(pending).status_code == 404  # no rendition yet
        original = f"/s/shop-a/sasage/{shop_a_work['request']}/images/{shop_a_work['ready']}"
        assert portal.get(f"{original}/original").status_code == 404  # never served
        portal.logout()


@pytest.mark.parametrize("who", ["shop_admin_b", "operator_b"])
def test_shop_b_gets_404_for_shop_a_sasage_and_photo_urls(db, portal, world, shop_a_work, who):
    portal.login(getattr(world, who))
    for slug in ("shop-a", "shop-b"):
        for url in _urls(slug, shop_a_work):
            assert portal.get(url).status_code == 404, url
    version = str(task(db, world.shop_a, shop_a_work["request"], "copy").version)
    # What the person may do in their own shop: the shop admin reviews, the operator works.
    allowed = {"shop_admin_b": {"review"}, "operator_b": {"submit", "copy", "remove"}}[who]
    for slug in ("shop-a", "shop-b"):
        base = f"/s/{slug}/sasage/{shop_a_work['request']}"
        for name, action, data in (
            ("review", "tasks/copy/review", {"version": version, "decision": "approve"}),
            ("submit", "tasks/copy/submit", {"version": version}),
            ("copy", "copy", {"title": "乗っ取り", "description": "x", "based_on": "1"}),
            ("remove", f"images/{shop_a_work['ready']}/remove", {"version": version}),
        ):
            response = portal.post_form(f"{base}/{action}", data, form_url="/account")
            # Shop A's URL: 404 always. Their own shop's URL: 404 (no such request there)
            # where their role may act, else 403 for the action itself, whatever the id.
            expected = 404 if slug == "shop-a" or name in allowed else 403
            assert response.status_code == expected, (slug, action)
    assert task(db, world.shop_a, shop_a_work["request"], "copy").state == "waiting"


def test_shop_b_own_request_does_not_open_shop_a_photos(db, portal, world, shop_a_work):
    """A photo id of shop A under shop B's own request is as missing as any."""
    own = request(db, world.shop_b)
    portal.login(world.shop_admin_b)
    url = f"/s/shop-b/sasage/{own}/images/{shop_a_work['ready']}/thumb"
    assert portal.get(url).status_code == 404
    page = page_of(portal, "shop-b", own)
    assert not re.search(r'data-testid="photo"', page)


def test_anonymous_visitors_are_sent_to_log_in(portal, shop_a_work):
    for url in _urls("shop-a", shop_a_work):
        response = portal.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
