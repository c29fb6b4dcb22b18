"""Agency closed days: agency admins add and remove them on a page of their own; every
shop's ship-by clock skips them; each change is on the agency's ledger."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from urakata.platform.audit import AGENCY_CHAIN_ID, AuditEvent
from urakata.platform.closed_days import AgencyClosedDay
from urakata.platform.db import utcnow

URL = "/agency/closed-days"


def _today() -> date:
    return utcnow().astimezone(ZoneInfo("Asia/Tokyo")).date()


def _days(db) -> list[tuple[date, str]]:
    with db.platform_session() as s:
        return [(d.day, d.note) for d in s.scalars(select(AgencyClosedDay))]


def _agency_actions(db) -> list[str]:
    with db.tenant_session(AGENCY_CHAIN_ID) as s:
        return list(s.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))


def test_an_agency_admin_closes_a_day_and_opens_it_again(portal, db, world):
    day = _today() + timedelta(days=30)
    portal.login(world.agency_admin)
    added = portal.post_form(URL, {"day": day.isoformat(), "note": "棚卸し  (全店)"})
    assert added.status_code == 302, added.get_data(as_text=True)[:2000]
    assert _days(db) == [(day, "棚卸し (全店)")]
    page = portal.get(URL).get_data(as_text=True)
    assert day.isoformat() in page and "棚卸し (全店)" in page
    assert _agency_actions(db)[-1] == "agency.closed_day_added"

    removed = portal.post_form(f"{URL}/{day.isoformat()}/remove", {}, form_url=URL)
    assert removed.status_code == 302
    assert _days(db) == []
    assert _agency_actions(db)[-1] == "agency.closed_day_removed"


def test_bad_days_are_refused_next_to_the_field_and_nothing_is_stored(portal, db, world):
    portal.login(world.agency_admin)
    day = _today() + timedelta(days=3)
    assert portal.post_form(URL, {"day": day.isoformat()}).status_code == 302
    for sent, says in (
        ("2026-13-45", "YYYY-MM-DD"),
        ("", "YYYY-MM-DD"),
        ((_today() - timedelta(days=1)).isoformat(), "今日以降"),
        (day.isoformat(), "すでに休業日"),
    ):
        response = portal.post_form(URL, {"day": sent})
        body = response.get_data(as_text=True)
        assert response.status_code == 422, sent
        assert 'id="day-error"' in body and says in body, (sent, body[:3000])
    assert _days(db) == [(day, "")]
    assert portal.post_form(f"{URL}/2099-01-01/remove", {}, form_url=URL).status_code == 404
    assert portal.post_form(f"{URL}/not-a-day/remove", {}, form_url=URL).status_code == 404


def test_only_agency_admins_manage_closed_days(portal, world):
    for user in (world.operator_a, world.shop_admin_a, world.auditor):
        portal.login(user)
        assert portal.get(URL).status_code == 403
        day = (_today() + timedelta(days=5)).isoformat()
        assert portal.post_form(URL, {"day": day}, form_url="/account").status_code == 403
        portal.logout()
