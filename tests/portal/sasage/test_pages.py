"""The sasage pages: the shop requests, the operator uploads, measures, writes and submits,
the shop returns and approves; who may do what; the board of the operators."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import func, select

from tests.factories import make_user
from tests.portal.sasage.helpers import files, hidden, page_of
from tests.tenants.sasage.helpers import (
    COPY,
    photo,
    render,
    request,
    submit,
    task,
    write,
)
from urakata.platform.identity import Role
from urakata.tenants.catalog.models import Product
from urakata.tenants.sasage import services
from urakata.tenants.sasage.models import SasageRequest


def _rows(html: str) -> dict[str, str]:
    return dict(
        re.findall(r'data-testid="sasage-row" data-sku="([^"]+)" data-complete="(\w+)"', html)
    )


def _review(portal, url: str, kind: str, version: str, decision: str, comment: str = ""):
    data = {"version": version, "decision": decision, "comment": comment}
    return portal.post_form(f"{url}/tasks/{kind}/review", data, form_url=url)


def _state(html: str, kind: str) -> str:
    return re.search(rf'data-testid="task-{kind}" data-state="(\w+)"', html).group(1)


def test_the_shop_requests_sasage_for_several_skus_and_sees_them_listed(db, world, shops, portal):
    portal.login(world.shop_admin_a)
    assert 'href="/s/shop-a/sasage"' in portal.get("/s/shop-a/").get_data(as_text=True)
    response = portal.post_form(
        "/s/shop-a/sasage/new", {"skus": "TEE-001\nCUP-001", "note": "白背景、正面と背面"}
    )
    assert response.status_code == 303 and response.headers["Location"].endswith("/s/shop-a/sasage")
    listed = portal.get("/s/shop-a/sasage").get_data(as_text=True)
    assert _rows(listed) == {"TEE-001": "no", "CUP-001": "no"}
    assert listed.count('data-state="todo"') == 6
    refused = portal.post_form("/s/shop-a/sasage/new", {"skus": "TEA-001\nNOPE-9\nTEE-001"})
    assert refused.status_code == 422
    errors = re.findall(r'class="field-error"[^>]*>([^<]+)<', refused.get_data(as_text=True))
    assert [e.split(":")[0] for e in errors] == ["NOPE-9", "TEE-001"]
    with db.tenant_session(world.shop_a.id) as s:
        assert s.scalar(select(func.count()).select_from(SasageRequest)) == 2  # all or nothing
    portal.logout()
    portal.login(world.shop_admin_b)
    assert _rows(portal.get("/s/shop-b/sasage").get_data(as_text=True)) == {}


def test_who_may_request_work_and_approve(db, world, shops, portal):
    request_id = request(db, world.shop_a)
    staff = make_user(db, Role.shop_staff, world.shop_a)
    portal.login(staff)
    page = page_of(portal, "shop-a", request_id)
    assert 'data-testid="upload-form"' not in page and 'data-testid="copy-form"' not in page
    assert portal.get("/s/shop-a/sasage/new").status_code == 403
    posted = portal.post_form(f"/s/shop-a/sasage/{request_id}/copy", {**COPY}, form_url="/account")
    assert posted.status_code == 403
    portal.logout()
    portal.login(world.operator_a)
    page = page_of(portal, "shop-a", request_id)
    assert 'data-testid="upload-form"' in page and 'data-testid="measure-form"' in page
    assert 'data-testid="review-copy-form"' not in page
    assert portal.get("/s/shop-a/sasage/new").status_code == 403
    review_url = f"/s/shop-a/sasage/{request_id}/tasks/copy/review"
    data = {"version": "1", "decision": "approve"}
    assert portal.post_form(review_url, data, form_url="/account").status_code == 403


def test_operator_works_shop_returns_once_then_approves_and_the_sku_is_complete(
    db, world, shops, portal, store
):
    request_id = request(db, world.shop_a)
    url = f"/s/shop-a/sasage/{request_id}"
    portal.login(world.operator_a)
    page = page_of(portal, "shop-a", request_id)
    assigned = portal.post_form(
        f"{url}/tasks/photo/assign",
        {"version": hidden(page, "assign-photo-version"), "assignee": str(world.operator_a.id)},
        form_url=url,
    )
    assert assigned.status_code == 303
    uploaded = portal.post_form(
        f"{url}/images",
        {"images": files(("front.jpg", photo()), ("back.png", photo("PNG", color=(0, 0, 150))))},
        form_url=url,
    )
    assert uploaded.status_code == 303
    page = page_of(portal, "shop-a", request_id)
    assert page.count('data-testid="photo"') == 2 and 'data-status="pending"' in page
    assert 'data-testid="task-progress"' in page
    render(db, world.shop_a, request_id, store)
    page = page_of(portal, "shop-a", request_id)
    image_ids = re.findall(r'data-testid="photo" data-id="(\d+)"', page)
    thumb = portal.get(f"{url}/images/{image_ids[0]}/thumb")
    assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"
    assert "private" in thumb.headers["Cache-Control"]
    measured = portal.post_form(
        f"{url}/measurement",
        {"version": "", "length_mm": "300", "width_mm": "250", "height_mm": "40",
         "weight_g": "180", "names-0": "着丈", "names-1": "身幅", "rows-0-size": "M",
         "rows-0-values-0": "68", "rows-0-values-1": "51.5", "rows-1-size": "L",
         "rows-1-values-0": "71", "rows-1-values-1": "54"},
        form_url=url,
    )  # fmt: skip
    assert measured.status_code == 303
    written = portal.post_form(f"{url}/copy", {**COPY}, form_url=url)
    assert written.status_code == 303
    page = page_of(portal, "shop-a", request_id)
    assert 'data-testid="size-table"' in page and "51.5" in page
    assert 'data-testid="measure-size_class">60<' in page
    for kind in ("photo", "measure", "copy"):
        version = hidden(page, f"submit-{kind}-version")
        sent = portal.post_form(f"{url}/tasks/{kind}/submit", {"version": version}, form_url=url)
        assert sent.status_code == 303, kind
        page = page_of(portal, "shop-a", request_id)
        assert _state(page, kind) == "waiting"
    portal.logout()

    portal.login(world.shop_admin_a)
    page = page_of(portal, "shop-a", request_id)
    assert 'data-testid="upload-form"' not in page
    for kind in ("photo", "measure"):
        version = hidden(page, f"review-{kind}-version")
        done = _review(portal, url, kind, version, "approve")
        assert done.status_code == 303
        page = page_of(portal, "shop-a", request_id)
    version = hidden(page, "review-copy-version")
    empty = _review(portal, url, "copy", version, "return", " ")
    assert empty.status_code == 422 and 'data-testid="review-copy-error"' in empty.get_data(
        as_text=True
    )
    returned = _review(portal, url, "copy", version, "return", "素材の産地を書いてください")
    assert returned.status_code == 303
    page = page_of(portal, "shop-a", request_id)
    assert _state(page, "copy") == "returned" and "素材の産地を書いてください" in page
    assert 'data-testid="sasage-complete"' not in page
    portal.logout()

    portal.login(world.operator_a)
    page = page_of(portal, "shop-a", request_id)
    assert hidden(page, "copy-based_on") == "1"
    rewritten = portal.post_form(f"{url}/copy",
                                 {**COPY, "materials": "綿100%(インド産オーガニックコットン)",
                                  "based_on": "1"}, form_url=url)  # fmt: skip
    assert rewritten.status_code == 303
    page = page_of(portal, "shop-a", request_id)
    assert 'data-testid="copy-version" data-number="1"' in page  # the returned one is kept
    version = hidden(page, "submit-copy-version")
    portal.post_form(f"{url}/tasks/copy/submit", {"version": version}, form_url=url)
    portal.logout()

    portal.login(world.shop_admin_a)
    page = page_of(portal, "shop-a", request_id)
    version = hidden(page, "review-copy-version")
    approved = _review(portal, url, "copy", version, "approve")
    assert approved.status_code == 303
    page = page_of(portal, "shop-a", request_id)
    assert 'data-testid="sasage-complete"' in page
    assert 'data-action="sasage.completed"' in page and 'data-action="sasage.returned"' in page
    assert _rows(portal.get("/s/shop-a/sasage").get_data(as_text=True)) == {"TEE-001": "yes"}
    complete = portal.get("/s/shop-a/sasage?state=complete").get_data(as_text=True)
    assert _rows(complete) == {"TEE-001": "yes"}


def test_an_approval_made_on_an_old_page_answers_409(db, world, shops, portal):
    request_id = request(db, world.shop_a)
    write(db, world.shop_a, request_id)
    submit(db, world.shop_a, request_id, "copy")
    portal.login(world.shop_admin_a)
    url = f"/s/shop-a/sasage/{request_id}"
    old = hidden(page_of(portal, "shop-a", request_id), "review-copy-version")
    # Meanwhile the operator takes the copy back to change it and submits it again.
    write(db, world.shop_a, request_id, {**COPY, "title": "差し替えた題", "based_on": 1})
    submit(db, world.shop_a, request_id, "copy")
    stale = _review(portal, url, "copy", old, "approve")
    assert stale.status_code == 409
    assert 'data-testid="sasage-conflict"' in stale.get_data(as_text=True)
    assert task(db, world.shop_a, request_id, "copy").state == "waiting"


def test_a_move_the_state_does_not_allow_answers_409_with_the_reason(db, world, shops, portal):
    request_id = request(db, world.shop_a)
    portal.login(world.operator_a)
    url = f"/s/shop-a/sasage/{request_id}"
    version = str(task(db, world.shop_a, request_id, "measure").version)
    refused = portal.post_form(f"{url}/tasks/measure/submit", {"version": version}, form_url=url)
    assert refused.status_code == 409
    assert 'data-testid="sasage-problem"' in refused.get_data(as_text=True)


def test_the_board_shows_the_shops_an_operator_serves_and_marks_overdue_work(
    db, world, shops, portal, monkeypatch
):
    monkeypatch.setattr(services, "utcnow", lambda: datetime(2026, 6, 1, 1, tzinfo=UTC))
    request(db, world.shop_a, ("TEE-001",))
    monkeypatch.undo()
    request(db, world.shop_b, ("CUP-001",))
    portal.login(world.operator_a)
    board = portal.get("/agency/sasage").get_data(as_text=True)
    cards = re.findall(r'data-testid="board-card" data-shop="([^"]+)" data-sku="([^"]+)" '
                       r'data-kind="(\w+)" data-overdue="(\w+)"', board)  # fmt: skip
    assert sorted(cards) == [("shop-a", "TEE-001", k, "yes") for k in ("copy", "measure", "photo")]
    assert 'data-testid="board-overdue"' in board
    only_copy = portal.get("/agency/sasage?kind=copy").get_data(as_text=True)
    assert only_copy.count('data-testid="board-card"') == 1
    assert portal.get("/agency/sasage?shop=shop-b").status_code == 404
    portal.logout()
    portal.login(world.operator_b)
    board = portal.get("/agency/sasage").get_data(as_text=True)
    assert "TEE-001" not in board and world.shop_a.name not in board and "CUP-001" in board
    portal.logout()
    portal.login(world.shop_admin_a)
    assert portal.get("/agency/sasage").status_code == 403


def test_the_products_of_a_sku_answer_the_measurement(db, world, shops, portal):
    """Saving through the page changes the catalog's sides, weight and size class."""
    request_id = request(db, world.shop_a)
    portal.login(world.operator_a)
    url = f"/s/shop-a/sasage/{request_id}"
    portal.post_form(f"{url}/measurement", {"length_mm": "600", "width_mm": "400",
                     "height_mm": "300", "weight_g": "4000"}, form_url=url)  # fmt: skip
    with db.tenant_session(world.shop_a.id) as s:
        product = s.scalar(select(Product).where(Product.sku == "TEE-001"))
    assert (product.weight_g, product.size_class) == (4000, 140)


def test_the_copy_page_counts_against_the_malls(db, world, shops, portal):
    request_id = request(db, world.shop_a)
    write(db, world.shop_a, request_id, {**COPY, "title": "あ" * 80})  # 160 units: over Yahoo!
    portal.login(world.operator_a)
    page = page_of(portal, "shop-a", request_id)
    over = dict(re.findall(r'data-testid="mall-count" data-field="(\w+)" data-over="(\w+)"', page))
    counts = re.findall(r'data-field="title" data-over="(\w+)"', page)
    assert counts == ["no", "yes", "no"]  # Rakuten 255, Yahoo! 150, Amazon 200
    assert over["description"] == "no"
    assert "160 / 150" in page
