"""A shop requests sasage; the agency photographs, measures and writes; the shop returns
and approves each task; the SKU is complete only when all three are approved. Every step
is on the ledger; the other shop sees and changes nothing of it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from tests.tenants.sasage.helpers import (
    COPY,
    OPERATOR,
    SHOP_ACTOR,
    finish_all,
    measure,
    photo,
    render,
    request,
    review,
    submit,
    task,
    upload,
    write,
)
from urakata.platform import audit
from urakata.platform.identity import UserAccount
from urakata.platform.mail import MailMessage
from urakata.platform.tenancy import NotFound
from urakata.tenants.catalog.models import Product
from urakata.tenants.sasage import services
from urakata.tenants.sasage.models import SasageRequest, SasageReview, SasageTask
from urakata.tenants.sasage.services import IllegalMove, SasageInvalid, StaleSasage
from urakata.tenants.shop.services import get_settings


def _history(db, shop, request_id) -> list[str]:
    with db.tenant_session(shop.id) as s:
        events = audit.history(s, object_type="sasage_request", object_id=request_id, limit=200)
        return [e.action for e in reversed(events)]


def _frozen(monkeypatch, moment: datetime) -> None:
    monkeypatch.setattr(services, "utcnow", lambda: moment)


def test_a_request_opens_three_tasks_due_after_the_turnaround_in_business_days(
    db, shops, monkeypatch
):
    shop_a, _ = shops
    # Friday 18 Sep 2026; 21–23 Sep are 敬老の日, 国民の休日 and 秋分の日; the shop closes on
    # the 29th. Five business days, the request day not counted: 24, 25, 28, 30, 1 Oct.
    _frozen(monkeypatch, datetime(2026, 9, 18, 2, 0, tzinfo=UTC))
    with db.tenant_session(shop_a.id) as s:
        get_settings(s).closed_days = [datetime(2026, 9, 29).date()]
    request_id = request(db, shop_a, ("TEE-001",), note="白背景で")
    with db.tenant_session(shop_a.id) as s:
        made = services.get_request(s, request_id)
        assert made.due_date.isoformat() == "2026-10-01"
        assert sorted((t.kind, t.state, t.due_date.isoformat()) for t in made.tasks) == [
            ("copy", "todo", "2026-10-01"),
            ("measure", "todo", "2026-10-01"),
            ("photo", "todo", "2026-10-01"),
        ]
        assert (made.note, made.requested_by_name, made.is_complete) == (
            "白背景で",
            "店長 山本",
            False,
        )
        event = audit.history(s, object_type="sasage_request", object_id=request_id)[0]
    assert event.action == "sasage.requested"
    assert event.payload["data"] == {
        "sku": "TEE-001", "due_date": "2026-10-01", "turnaround_days": 5, "note": "白背景で",
    }  # fmt: skip


def test_requests_for_unknown_repeated_or_already_requested_skus_are_refused_whole(db, shops):
    shop_a, _ = shops
    request(db, shop_a, ("CUP-001",))
    with db.tenant_session(shop_a.id) as s, pytest.raises(SasageInvalid) as refused:
        services.request_sasage(
            s, actor=SHOP_ACTOR, data={"skus": ["TEE-001", "NOPE-1", "CUP-001", "TEE-001"]}
        )
    errors = {k: [str(m) for m in v] for k, v in refused.value.errors.items()}
    assert errors == {
        "skus[1]": ["No product of the shop has the SKU NOPE-1."],
        "skus[2]": ["Sasage of CUP-001 is requested already."],
        "skus[3]": ["The SKU TEE-001 is given twice."],
    }
    with db.tenant_session(shop_a.id) as s, pytest.raises(SasageInvalid) as refused:
        services.request_sasage(s, actor=SHOP_ACTOR, data={"skus": ["TEE-001", "bad sku!"]})
    assert list(refused.value.errors) == ["skus[1]"]
    with db.tenant_session(shop_a.id) as s:
        assert s.scalar(select(func.count()).select_from(SasageRequest)) == 1
    for bad in ({"skus": []}, {"skus": "  \n "}, {}, {"skus": ["A"], "tenant_id": "x"}):
        with db.tenant_session(shop_a.id) as s, pytest.raises(SasageInvalid):
            services.request_sasage(s, actor=SHOP_ACTOR, data=bad)


def test_the_whole_flow_with_one_return_ends_in_sasage_complete(db, shops, store, mailbox):
    shop_a, _ = shops
    request_id = request(db, shop_a)
    upload(db, shop_a, request_id, store, photo(), photo(color=(20, 90, 200)))
    assert task(db, shop_a, request_id, "photo").state == "in_progress"
    assert render(db, shop_a, request_id, store) == {"ready": 2, "failed": 0}
    measure(db, shop_a, request_id)
    write(db, shop_a, request_id)
    for kind in ("photo", "measure", "copy"):
        assert submit(db, shop_a, request_id, kind) == "waiting"
    assert review(db, shop_a, request_id, "photo") == "approved"
    assert review(db, shop_a, request_id, "measure") == "approved"
    assert (
        review(db, shop_a, request_id, "copy", "return", "キャッチコピーに「国産」を") == "returned"
    )
    with db.tenant_session(shop_a.id) as s:
        assert services.get_request(s, request_id).is_complete is False
    write(
        db,
        shop_a,
        request_id,
        {**COPY, "catch_copy": "国産仕立て、肌ざわりやさしい一枚", "based_on": 1},
    )
    assert task(db, shop_a, request_id, "copy").state == "in_progress"
    submit(db, shop_a, request_id, "copy")
    assert review(db, shop_a, request_id, "copy") == "approved"
    with db.tenant_session(shop_a.id) as s:
        done = services.get_request(s, request_id)
        assert done.is_complete and done.completed_at is not None
        assert done.task("copy").return_count == 1
        reviews = services.reviews_of(s, done)
        assert [(r.decision, r.comment) for r in reviews["copy"]] == [
            ("approved", ""), ("returned", "キャッチコピーに「国産」を"),
        ]  # fmt: skip
        assert services.complete_product_ids(s, [done.product_id]) == {done.product_id}
    assert _history(db, shop_a, request_id) == [
        "sasage.requested",
        "sasage.photos_uploaded",
        "sasage.photos_rendered",
        "sasage.measured",
        "sasage.copy_saved",
        "sasage.submitted",
        "sasage.submitted",
        "sasage.submitted",
        "sasage.approved",
        "sasage.approved",
        "sasage.returned",
        "sasage.copy_saved",
        "sasage.submitted",
        "sasage.approved",
        "sasage.completed",
    ]


def test_complete_only_when_all_three_are_approved(db, shops, store):
    shop_a, _ = shops
    request_id = request(db, shop_a)
    upload(db, shop_a, request_id, store, photo())
    render(db, shop_a, request_id, store)
    measure(db, shop_a, request_id)
    for kind in ("photo", "measure"):
        submit(db, shop_a, request_id, kind)
        review(db, shop_a, request_id, kind)
    with db.tenant_session(shop_a.id) as s:
        current = services.get_request(s, request_id)
        assert not current.is_complete
        assert services.complete_product_ids(s, [current.product_id]) == set()
        page = services.list_requests(s, state="complete")
        assert page.items == []


def test_measuring_updates_the_products_sizes_and_size_class(db, shops):
    shop_a, _ = shops
    request_id = request(db, shop_a)
    measure(db, shop_a, request_id)
    with db.tenant_session(shop_a.id) as s:
        product = s.scalar(select(Product).where(Product.sku == "TEE-001"))
        assert (product.length_mm, product.width_mm, product.height_mm, product.weight_g) == (
            300, 250, 40, 180,
        )  # fmt: skip
        assert product.size_class == 60  # 590 mm of sides, 180 g
        events = audit.history(s, object_type="product", object_id=product.id)
        assert events[0].action == "product.updated"
        sasage_event = audit.history(s, object_type="sasage_request", object_id=request_id)[0]
    assert sasage_event.payload["data"]["size_class"] == 60
    assert sasage_event.payload["changes"]["sizes"][1] == [
        {"size": "S", "values": [["着丈", 650], ["身幅", 485]]},
        {"size": "M", "values": [["着丈", 680], ["身幅", 510]]},
    ]


def test_a_measurement_made_on_an_old_version_answers_stale(db, shops):
    shop_a, _ = shops
    request_id = request(db, shop_a)
    version = measure(db, shop_a, request_id)
    measure(db, shop_a, request_id, {"length_mm": 310, "width_mm": 250, "height_mm": 40,
                                    "weight_g": 180, "version": version})  # fmt: skip
    with pytest.raises(StaleSasage):
        measure(db, shop_a, request_id, {"length_mm": 320, "width_mm": 250, "height_mm": 40,
                                        "weight_g": 180, "version": version})  # fmt: skip


def test_copy_keeps_every_version_and_refuses_a_stale_base(db, shops):
    shop_a, _ = shops
    request_id = request(db, shop_a)
    assert write(db, shop_a, request_id) == 1
    assert write(db, shop_a, request_id, {**COPY, "based_on": 1}) == 1  # unchanged: no version
    assert write(db, shop_a, request_id, {**COPY, "title": "新しい題", "based_on": 1}) == 2
    with pytest.raises(StaleSasage):
        write(db, shop_a, request_id, {**COPY, "title": "古い版から", "based_on": 1})
    from urakata.tenants.sasage.copywriting import copy_versions

    with db.tenant_session(shop_a.id) as s:
        versions = copy_versions(s, request_id)
    assert [(v.number, v.title) for v in versions] == [(2, "新しい題"), (1, COPY["title"])]


def test_copy_is_normalised_but_never_cut(db, shops):
    shop_a, _ = shops
    request_id = request(db, shop_a)
    number = write(db, shop_a, request_id, {**COPY, "title": "ｵｰｶﾞﾆｯｸ　Ｔシャツ①", "based_on": 0})
    from urakata.tenants.sasage.copywriting import latest_copy

    with db.tenant_session(shop_a.id) as s:
        assert (number, latest_copy(s, request_id).title) == (1, "オーガニック　Tシャツ①")
    with pytest.raises(SasageInvalid) as refused:
        write(db, shop_a, request_id, {**COPY, "title": "あ" * 256, "based_on": 1})
    assert "at most 255" in str(refused.value.errors["title"][0])
    with pytest.raises(SasageInvalid) as refused:
        write(
            db,
            shop_a,
            request_id,
            {**COPY, "title": "一行目\n二行目", "description": "", "based_on": 1},
        )
    assert set(refused.value.errors) == {"title", "description"}


def test_the_shop_approves_only_what_it_saw_and_only_what_waits(db, shops, store):
    shop_a, _ = shops
    request_id = request(db, shop_a)
    write(db, shop_a, request_id)
    with pytest.raises(IllegalMove):
        review(db, shop_a, request_id, "copy")  # in progress, not submitted
    submit(db, shop_a, request_id, "copy")
    seen = task(db, shop_a, request_id, "copy").version
    # The operator changes the copy while the shop is reading it: back in progress.
    write(db, shop_a, request_id, {**COPY, "title": "直した題", "based_on": 1})
    assert task(db, shop_a, request_id, "copy").state == "in_progress"
    data = {"decision": "approve", "comment": "", "version": seen}
    with db.tenant_session(shop_a.id) as s, pytest.raises(StaleSasage):
        services.review_task(s, actor=SHOP_ACTOR, request_id=request_id, kind="copy", data=data)
    submit(db, shop_a, request_id, "copy")
    with pytest.raises(SasageInvalid) as refused:
        review(db, shop_a, request_id, "copy", "return", "")
    assert list(refused.value.errors) == ["comment"]
    assert review(db, shop_a, request_id, "copy") == "approved"
    with pytest.raises(IllegalMove):
        write(db, shop_a, request_id, {**COPY, "title": "承認後の変更", "based_on": 2})
    with db.tenant_session(shop_a.id) as s:
        assert s.scalar(select(func.count()).select_from(SasageReview)) == 1


def test_work_cannot_be_submitted_before_it_exists(db, shops, store):
    shop_a, _ = shops
    request_id = request(db, shop_a)
    for kind in ("photo", "measure", "copy"):
        with pytest.raises(IllegalMove):
            submit(db, shop_a, request_id, kind)  # nothing done: still to do
    upload(db, shop_a, request_id, store, photo())
    with pytest.raises(IllegalMove) as refused:
        submit(db, shop_a, request_id, "photo")  # renditions not made yet
    assert "being prepared" in str(refused.value.message)
    render(db, shop_a, request_id, store)
    assert submit(db, shop_a, request_id, "photo") == "waiting"


def test_submitting_mails_the_shop_admins(db, shops, world):
    shop_a, _ = shops
    request_id = request(db, shop_a)
    write(db, shop_a, request_id)
    submit(db, shop_a, request_id, "copy")
    with db.tenant_session(shop_a.id) as s:
        mails = list(s.scalars(select(MailMessage)))
        event = audit.history(s, object_type="sasage_request", object_id=request_id)[0]
    assert [(m.kind, m.to_address) for m in mails if m.kind == "sasage_waiting"] == [
        ("sasage_waiting", world.shop_admin_a.email)
    ]
    assert event.action == "sasage.submitted" and event.payload["data"]["mails"] == 1


def test_assignment_goes_to_an_operator_of_the_shop(db, shops, world):
    shop_a, _ = shops
    request_id = request(db, shop_a)
    version = task(db, shop_a, request_id, "photo").version
    with db.tenant_session(shop_a.id) as s:
        assert [u.email for u in services.operators_of(s)] == [world.operator_a.email]
        stranger = s.get(UserAccount, world.operator_b.id)
        with pytest.raises(SasageInvalid):
            services.assign_task(s, actor=OPERATOR, request_id=request_id, kind="photo",
                                 version=version, assignee=stranger)  # fmt: skip
    with db.tenant_session(shop_a.id) as s:
        operator = s.get(UserAccount, world.operator_a.id)
        assigned = services.assign_task(s, actor=OPERATOR, request_id=request_id, kind="photo",
                                        version=version, assignee=operator)  # fmt: skip
        assert (assigned.assignee_id, assigned.state) == (world.operator_a.id, "todo")
    with db.tenant_session(shop_a.id) as s, pytest.raises(StaleSasage):
        services.assign_task(s, actor=OPERATOR, request_id=request_id, kind="photo",
                             version=version, assignee=None)  # fmt: skip


def test_the_other_shop_can_neither_see_nor_change_a_request(db, shops, store):
    shop_a, shop_b = shops
    request_id = request(db, shop_a)
    write(db, shop_a, request_id)
    submit(db, shop_a, request_id, "copy")
    version = task(db, shop_a, request_id, "copy").version
    with db.tenant_session(shop_b.id) as s:
        with pytest.raises(NotFound):
            services.get_request(s, request_id)
        with pytest.raises(NotFound):
            services.review_task(s, actor=SHOP_ACTOR, request_id=request_id, kind="copy",
                                 data={"decision": "approve", "version": version})  # fmt: skip
        assert services.list_requests(s).items == []
        assert services.board_tasks(s, services.BoardFilter()) == []
        assert s.scalar(select(func.count()).select_from(SasageTask)) == 0
    assert task(db, shop_a, request_id, "copy").state == "waiting"


def test_the_board_lists_open_tasks_first_due_and_marks_the_overdue(db, shops, monkeypatch):
    shop_a, _ = shops
    _frozen(monkeypatch, datetime(2026, 6, 1, 1, 0, tzinfo=UTC))  # Monday
    request(db, shop_a, ("TEE-001",))
    _frozen(monkeypatch, datetime(2026, 6, 12, 1, 0, tzinfo=UTC))  # due 8 June: overdue now
    newer = request(db, shop_a, ("CUP-001",))
    write(db, shop_a, newer)
    with db.tenant_session(shop_a.id) as s:
        rows = services.board_tasks(s, services.BoardFilter())
        copy_only = services.board_tasks(s, services.BoardFilter(kind="copy", state="in_progress"))
        unassigned = services.board_tasks(s, services.BoardFilter(assignee="none", query="CUP"))
    assert [(r.sku, r.task.kind, r.overdue) for r in rows[:3]] == [
        ("TEE-001", "photo", True), ("TEE-001", "measure", True), ("TEE-001", "copy", True),
    ]  # fmt: skip
    assert [r.overdue for r in rows[3:]] == [False, False, False]
    assert [(r.sku, r.task.kind) for r in copy_only] == [("CUP-001", "copy")]
    assert {r.sku for r in unassigned} == {"CUP-001"}


def test_finish_all_helper_really_finishes(db, shops, store):
    shop_a, _ = shops
    request_id = request(db, shop_a, ("CUP-001",))
    finish_all(db, shop_a, request_id, store)
    with db.tenant_session(shop_a.id) as s:
        assert services.get_request(s, request_id).is_complete
