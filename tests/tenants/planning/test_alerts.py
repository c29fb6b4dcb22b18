"""Reorder points and the low-stock alert: once per crossing, not on every movement."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.tenants.planning.conftest import ADMIN, count_actions, mails
from tests.tenants.stock.conftest import PICK_1, RESERVE_1, line, put_away
from urakata.platform.tenancy import NotFound
from urakata.tenants.planning import services
from urakata.tenants.planning.errors import PlanningInvalid, StaleRecord
from urakata.tenants.planning.models import LowStockNotice, ReorderPoint


def _set(db, shop, sku, point, **more):
    with db.tenant_session(shop.id) as s:
        return services.set_reorder_point(
            s,
            actor=ADMIN,
            product_id=shop.products[sku],
            data={"reorder_point": point, **more},
        )


def _check(db, shop) -> list:
    with db.tenant_session(shop.id) as s:
        return services.check_low_stock(s, actor=ADMIN)


def _notices(db, shop) -> int:
    with db.tenant_session(shop.id) as s:
        return len(s.scalars(select(LowStockNotice.id)).all())


def test_an_alert_goes_once_per_crossing(db, shop_a, shop_b):
    put_away(db, shop_a, line("CUP-1", 10, PICK_1))
    _set(db, shop_a, "CUP-1", 5)
    assert _check(db, shop_a) == [] and _notices(db, shop_a) == 0

    _set(db, shop_a, "CUP-1", 12, version=1)  # the stock is now below: announced at once
    assert _notices(db, shop_a) == 1
    assert mails(db, shop_a, "low_stock") == 1  # the shop's admin
    for _ in range(3):  # more checks, more movements below the point: nothing new
        put_away(db, shop_a, line("CUP-1", 1, RESERVE_1))
        assert _check(db, shop_a) == []
    assert _notices(db, shop_a) == 1 and mails(db, shop_a, "low_stock") == 1
    assert count_actions(db, shop_a, "planning.low_stock") == 1

    put_away(db, shop_a, line("CUP-1", 5, PICK_1))  # 18 > 12: recovered, no notice
    assert _check(db, shop_a) == []
    assert count_actions(db, shop_a, "planning.stock_recovered") == 1
    with db.tenant_session(shop_a.id) as s:
        assert s.get(ReorderPoint, (shop_a.id, shop_a.products["CUP-1"])).alert_state == "ok"

    with db.tenant_session(shop_a.id) as s:  # falls again (a higher point): a second crossing
        version = s.get(ReorderPoint, (shop_a.id, shop_a.products["CUP-1"])).version
    _set(db, shop_a, "CUP-1", 30, version=version)
    assert _notices(db, shop_a) == 2 and mails(db, shop_a, "low_stock") == 2
    assert _notices(db, shop_b) == 0 and mails(db, shop_b, "low_stock") == 0


def test_a_sku_without_stock_is_low_at_a_zero_point(db, shop_a):
    _set(db, shop_a, "POT-1", 0)
    assert _notices(db, shop_a) == 1


def test_a_negative_reorder_point_is_refused_with_a_clear_message(db, shop_a):
    with pytest.raises(PlanningInvalid) as refused:
        _set(db, shop_a, "CUP-1", -5)
    assert list(refused.value.errors) == ["reorder_point"]
    assert "cannot be negative" in str(refused.value.errors["reorder_point"][0])
    with pytest.raises(PlanningInvalid) as refused:
        _set(db, shop_a, "CUP-1", "－３")  # full-width, as typed on a Japanese keyboard
    assert "cannot be negative" in str(refused.value.errors["reorder_point"][0])
    with db.tenant_session(shop_a.id) as s:
        assert s.scalars(select(ReorderPoint)).all() == []
    assert count_actions(db, shop_a, "planning.reorder_point_set") == 0


def test_a_stale_version_is_refused(db, shop_a):
    _set(db, shop_a, "CUP-1", 3)
    _set(db, shop_a, "CUP-1", 4, version=1)
    with pytest.raises(StaleRecord):
        _set(db, shop_a, "CUP-1", 5, version=1)


def test_another_shops_product_is_not_found(db, shop_a, shop_b):
    with db.tenant_session(shop_b.id) as s, pytest.raises(NotFound):
        services.set_reorder_point(
            s, actor=ADMIN, product_id=shop_a.products["CUP-1"], data={"reorder_point": 3}
        )


def test_notices_are_marked_read_only_in_their_shop(db, shop_a, shop_b):
    _set(db, shop_a, "POT-1", 0)
    with db.tenant_session(shop_a.id) as s:
        ids = [n.id for n in services.notices(s)]
    with db.tenant_session(shop_b.id) as s:
        assert services.mark_notices_read(s, actor=ADMIN, notice_ids=ids) == 0
    with db.tenant_session(shop_a.id) as s:
        assert services.mark_notices_read(s, actor=ADMIN, notice_ids=ids) == 1
        assert services.unread_notice_count(s) == 0


def test_the_mail_names_the_skus_and_links_the_planning_page(db, shop_a, settings):
    from urakata.platform import mailrender
    from urakata.platform.mail import MailMessage

    _set(db, shop_a, "POT-1", 2)
    with db.tenant_session(shop_a.id) as s:
        (message,) = s.scalars(select(MailMessage).where(MailMessage.kind == "low_stock")).all()
        subject, text = mailrender.render("low_stock", "en", s, message.params, settings)
    assert subject == "Stock is low: time to reorder"
    assert "POT-1" in text and "reorder point 2" in text
    assert f"/s/{shop_a.tenant.slug}/planning" in text
