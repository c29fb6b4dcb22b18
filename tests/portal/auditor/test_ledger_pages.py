"""The auditor portal: search, an event's before/after, an object's history, verify up to
the latest checkpoint, exports the standalone verifier accepts; every search and export
recorded; a shop's auditor sees only that shop; everyone else is refused."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

import urakata_verify
from tests.factories import make_user
from tests.portal_client import PortalClient
from urakata.platform import audit, checkpoints
from urakata.platform.audit import AGENCY_CHAIN_ID, Actor, AuditEvent
from urakata.platform.db import utcnow
from urakata.platform.identity import Role

CLERK = Actor(
    type="user", id=str(uuid.uuid4()), label="受注 次郎", request_id="r-9", ip="192.0.2.9"
)


@pytest.fixture
def ledger(db, world):
    """Shop A: an order confirmed, then its address changed; shop B: its own order."""
    with db.tenant_session(world.shop_a.id) as s:
        audit.record(
            s,
            CLERK,
            "order.confirmed",
            object_type="order",
            object_id="A-1001",
            changes={"status": ("new", "confirmed")},
        )
        audit.record(
            s,
            CLERK,
            "order.address_changed",
            object_type="order",
            object_id="A-1001",
            changes={"prefecture": ("大阪府", "京都府")},
            data={"note": "お客様から電話"},
        )
    with db.tenant_session(world.shop_b.id) as s:
        audit.record(
            s,
            CLERK,
            "order.confirmed",
            object_type="order",
            object_id="B-2002",
            changes={"status": ("new", "confirmed")},
        )
    return world


def _portal(app, db, user) -> PortalClient:
    portal = PortalClient(app, db)
    portal.login(user)
    return portal


def _seq_of(db, shop, object_id, action) -> int:
    with db.tenant_session(shop.id) as s:
        return s.scalar(
            select(AuditEvent.seq).where(
                AuditEvent.object_id == object_id, AuditEvent.action == action
            )
        )


def _last(db, chain) -> AuditEvent:
    with db.tenant_session(chain) as s:
        return s.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()


def test_the_home_page_links_every_chain_the_auditor_may_audit(app, db, ledger):
    page = _portal(app, db, ledger.auditor).get("/audit/").get_data(as_text=True)
    assert "/audit/_agency/events" in page
    assert "/audit/shop-a/events" in page and "/audit/shop-b/events" in page


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"action": "order.address_changed"}, ["A-1001"]),
        ({"object_type": "order", "object_id": "A-1001"}, ["A-1001", "A-1001"]),
        ({"q": "京都府"}, ["A-1001"]),
        ({"actor": "受注"}, ["A-1001", "A-1001"]),
        ({"actor": CLERK.id}, ["A-1001", "A-1001"]),
        ({"q": "B-2002"}, []),
    ],
)
def test_search_filters_the_shops_chain_and_is_recorded(app, db, ledger, params, expected):
    portal = _portal(app, db, ledger.auditor)
    response = portal.get("/audit/shop-a/events", query_string=params)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    rows = page.count('data-testid="audit-event-row"')
    if "action" not in params and "object_id" not in params and "actor" not in params:
        # A free-text search may also match the audit trail's own events: count ours.
        rows = sum(page.count(f">order {oid}<") for oid in {"A-1001"})
    assert rows == len(expected), page
    assert ">order B-2002<" not in page
    recorded = _last(db, ledger.shop_a.id)
    assert recorded.action == "audit.searched" and recorded.actor_id == str(ledger.auditor.id)
    filters = recorded.payload["data"]["filters"]
    for key, value in params.items():
        assert filters[{"q": "text"}.get(key, key)] == value


def test_the_date_range_is_read_in_the_shops_time_zone(app, db, ledger):
    portal = _portal(app, db, ledger.auditor)
    today = utcnow().astimezone(ledger.shop_a.zone).date()
    hit = portal.get(
        "/audit/shop-a/events",
        query_string={"action": "order.confirmed", "from": str(today), "to": str(today)},
    ).get_data(as_text=True)
    assert hit.count('data-testid="audit-event-row"') == 1
    tomorrow = today + timedelta(days=1)
    miss = portal.get(
        "/audit/shop-a/events",
        query_string={"action": "order.confirmed", "from": str(tomorrow)},
    ).get_data(as_text=True)
    assert 'data-testid="no-events"' in miss
    bad = portal.get("/audit/shop-a/events", query_string={"from": "yesterday"})
    assert bad.status_code == 200 and "YYYY-MM-DD" in bad.get_data(as_text=True)


def test_the_event_page_shows_before_and_after_and_the_read_is_recorded(app, db, ledger):
    portal = _portal(app, db, ledger.auditor)
    seq = _seq_of(db, ledger.shop_a, "A-1001", "order.address_changed")
    page = portal.get(f"/audit/shop-a/events/{seq}").get_data(as_text=True)
    assert "大阪府" in page and "京都府" in page and "お客様から電話" in page
    assert 'data-testid="change-row"' in page and "/audit/shop-a/objects/order/A-1001" in page
    recorded = _last(db, ledger.shop_a.id)
    assert recorded.action == "audit.viewed" and recorded.payload["data"]["id"] == str(seq)
    assert portal.get("/audit/shop-a/events/999999").status_code == 404


def test_an_objects_history_lists_its_events_newest_first(app, db, ledger):
    portal = _portal(app, db, ledger.auditor)
    page = portal.get("/audit/shop-a/objects/order/A-1001").get_data(as_text=True)
    assert page.count('data-testid="object-event-row"') == 2
    assert page.index("京都府") < page.index("confirmed")
    strangers = portal.get("/audit/shop-a/objects/order/B-2002").get_data(as_text=True)
    assert 'data-testid="object-event-row"' not in strangers


def test_a_shop_auditor_sees_only_that_shops_chain(app, db, ledger):
    portal = _portal(app, db, make_user(db, Role.auditor, ledger.shop_a))
    assert portal.get("/audit/shop-a/events").status_code == 200
    assert portal.get("/audit/shop-b/events").status_code == 404
    assert portal.get("/audit/_agency/events").status_code == 404
    seq = _seq_of(db, ledger.shop_b, "B-2002", "order.confirmed")
    assert portal.get(f"/audit/shop-b/events/{seq}").status_code == 404
    home = portal.get("/audit/").get_data(as_text=True)
    assert "/audit/shop-a/events" in home and "shop-b" not in home and "_agency" not in home


@pytest.mark.parametrize("who", ["shop_admin_a", "operator_a", "agency_admin"])
def test_nobody_but_auditors_reads_the_ledger_pages(app, db, ledger, who):
    portal = _portal(app, db, getattr(ledger, who))
    assert portal.get("/audit/shop-a/events").status_code == 403


def test_the_agency_chain_is_searchable_by_an_agency_wide_auditor(app, db, ledger):
    with db.tenant_session(AGENCY_CHAIN_ID) as s:
        audit.record(s, CLERK, "agency.closed_day_added", object_type="closed_day", object_id="x")
    page = _portal(app, db, ledger.auditor).get("/audit/_agency/events").get_data(as_text=True)
    assert "closed_day x" in page
    assert _last(db, AGENCY_CHAIN_ID).action == "audit.searched"


def test_verify_checks_up_to_the_latest_checkpoint(app, db, ledger, spine, settings, signer):
    spine.run()
    portal = _portal(app, db, ledger.auditor)
    with db.tenant_session(ledger.shop_a.id) as s:
        checkpoint = checkpoints.make_checkpoint(s, signer, settings.checkpoint_dir)
    response = portal.post_form("/audit/shop-a/verify", form_url="/audit/shop-a/events")
    assert response.status_code == 302
    task_url = response.headers["Location"]
    spine.run()
    page = portal.get(task_url).get_data(as_text=True)
    assert 'data-testid="verdict-ok"' in page and f"#{checkpoint.seq}" in page
    assert signer.key_id in page


def test_verify_without_a_checkpoint_says_so(app, db, ledger, spine):
    spine.run()
    portal = _portal(app, db, ledger.auditor)
    response = portal.post_form("/audit/shop-b/verify", form_url="/audit/shop-b/events")
    spine.run()
    page = portal.get(response.headers["Location"]).get_data(as_text=True)
    assert "no signed checkpoint yet" in page


def test_an_export_downloads_verifies_and_is_recorded(app, db, ledger, spine, signer, tmp_path):
    spine.run()
    portal = _portal(app, db, ledger.auditor)
    response = portal.post_form("/audit/shop-a/exports", form_url="/audit/shop-a/events")
    assert response.status_code == 302
    task_url = response.headers["Location"]
    spine.run()
    progress = portal.get(task_url + "/progress.json").get_json()
    assert progress["status"] == "done" and progress["result_url"].endswith("/download")
    download = portal.get(progress["result_url"])
    assert download.status_code == 200
    assert "attachment" in download.headers["Content-Disposition"]
    path = tmp_path / "export.jsonl"
    path.write_bytes(download.data)
    result = urakata_verify.verify_export(str(path), {signer.key_id: signer.public_raw})
    assert result.ok, str(result)
    assert b"B-2002" not in download.data and str(ledger.shop_b.id).encode() not in download.data
    assert _last(db, ledger.shop_a.id).action == "audit.export.downloaded"
    with db.tenant_session(ledger.shop_a.id) as s:
        actions = set(s.scalars(select(AuditEvent.action)))
    assert {"audit.export.requested", "audit.exported"} <= actions

    # The task of shop A is nobody's under another chain's URL, and no stranger's at all.
    task_id = task_url.rsplit("/", 1)[1]
    assert portal.get(f"/audit/shop-b/tasks/{task_id}").status_code == 404
    assert portal.get(f"/audit/shop-b/exports/{task_id}/download").status_code == 404
    stranger = _portal(app, db, make_user(db, Role.auditor, ledger.shop_b))
    assert stranger.get(f"/audit/shop-a/exports/{task_id}/download").status_code == 404


def test_an_export_with_backwards_dates_is_refused_with_a_message(app, db, ledger):
    portal = _portal(app, db, ledger.auditor)
    response = portal.post_form(
        "/audit/shop-a/exports",
        {"start": "2026-11-20", "end": "2026-11-01"},
        form_url="/audit/shop-a/events",
        follow_redirects=True,
    )
    assert "「終了日」は「開始日」より前にできません。" in response.get_data(as_text=True)
