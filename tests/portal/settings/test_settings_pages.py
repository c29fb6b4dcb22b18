"""The settings and contract pages: agency admins edit, the shop reads, strangers get 404."""

from __future__ import annotations

from io import BytesIO
from zoneinfo import ZoneInfo

import pytest

from tests.portal.settings.conftest import HISTORY, LOGO, SETTINGS, in_english, version_on
from urakata.platform.audit import user_actor
from urakata.tenants.shop.services import get_settings, settings_history


def settings_of(db, shop):
    with db.tenant_session(shop.id) as session:
        return get_settings(session)


def test_the_dashboard_links_to_the_settings(portal, world):
    portal.login(world.shop_admin_a)
    page = portal.get("/s/shop-a/").get_data(as_text=True)
    assert f'href="{SETTINGS}"' in page


def test_agency_admin_edits_shop_a_settings_and_history_shows_it(portal, world, db):
    portal.login(world.agency_admin)
    in_english(portal)
    page = portal.get(SETTINGS)
    assert page.status_code == 200
    assert 'data-testid="settings-form"' in page.get_data(as_text=True)

    response = portal.post_form(
        SETTINGS,
        {
            "version": version_on(page),
            "same_day_cutoff": "15:30",
            "sender_postal_code": "１５０－０００１",
            "split_policy": "split_allowed",
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"] == SETTINGS
    after = portal.get(SETTINGS).get_data(as_text=True)
    assert "Settings saved as version 2." in after
    assert 'value="150-0001"' in after

    saved = settings_of(db, world.shop_a)
    assert (saved.version, saved.sender_postal_code, saved.split_policy) == (
        2,
        "150-0001",
        "split_allowed",
    )
    assert settings_of(db, world.shop_b).version == 1

    history = portal.get(HISTORY)
    html = history.get_data(as_text=True)
    assert history.status_code == 200
    assert html.count('data-testid="history-row"') == 1
    assert world.agency_admin.display_name in html
    assert "<del>14:00</del> → <ins>15:30</ins>" in html
    assert "<del>Not set</del> → <ins>150-0001</ins>" in html
    assert "Split when items arrive at different times" in html


def test_history_shows_times_in_the_shops_time_zone(portal, world, db):
    portal.login(world.agency_admin)
    page = portal.get(SETTINGS)
    portal.post_form(SETTINGS, {"version": version_on(page), "timezone": "America/New_York"})
    html = portal.get(HISTORY).get_data(as_text=True)
    assert "America/New_York" in html
    with db.tenant_session(world.shop_a.id) as session:
        [row] = settings_history(session).versions
    local = row.changed_at.astimezone(ZoneInfo("America/New_York"))
    assert local.strftime("%Y-%m-%d %H:%M") in html


@pytest.mark.parametrize("who", ["shop_admin_a", "operator_a", "auditor"])
def test_the_shop_and_others_without_edit_rights_read_only(portal, world, db, who):
    portal.login(getattr(world, who))
    page = portal.get(SETTINGS)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'data-testid="settings-readonly"' in html
    assert 'data-testid="settings-form"' not in html
    assert 'data-testid="logo-form"' not in html
    assert 'data-testid="setting-sender_name">あかり雑貨<' in html

    for url, data in [
        (SETTINGS, {"version": "1", "sender_name": "乗っ取り"}),
        (LOGO, {"version": "1"}),
        (LOGO + "/remove", {"version": "1"}),
    ]:
        assert portal.post_form(url, data, form_url=SETTINGS).status_code == 403
    assert settings_of(db, world.shop_a).sender_name == "あかり雑貨"
    assert portal.get(HISTORY).status_code == 200


def test_the_webhook_secret_is_never_shown(portal, world, db):
    portal.login(world.agency_admin)
    page = portal.get(SETTINGS)
    portal.post_form(
        SETTINGS, {"version": version_on(page), "shopify_webhook_secret": "shpss_topsecret"}
    )
    assert "shpss_topsecret" not in portal.get(SETTINGS).get_data(as_text=True)
    assert "shpss_topsecret" not in portal.get(HISTORY).get_data(as_text=True)
    portal.logout()
    portal.login(world.shop_admin_a)
    assert "shpss_topsecret" not in portal.get(SETTINGS).get_data(as_text=True)
    assert settings_of(db, world.shop_a).shopify_webhook_secret == "shpss_topsecret"


@pytest.mark.parametrize("who", ["shop_admin_b", "operator_b"])
def test_strangers_get_404_for_every_settings_page(portal, world, who, png, db):
    from urakata.tenants.shop.services import set_logo

    with db.tenant_session(world.shop_a.id) as session:
        set_logo(session, actor=user_actor(world.agency_admin), expected_version=1, data=png)
    portal.login(getattr(world, who))
    for url in (SETTINGS, HISTORY, LOGO, HISTORY + "?page=2"):
        assert portal.get(url).status_code == 404, url
    for url in (SETTINGS, LOGO, LOGO + "/remove"):
        response = portal.post_form(url, {"version": "2"}, form_url="/account")
        assert response.status_code == 404, url
    assert settings_of(db, world.shop_a).logo == png


def test_a_stale_version_gets_409_and_keeps_the_other_edit(portal, world, db):
    portal.login(world.agency_admin)
    in_english(portal)
    read_at = version_on(portal.get(SETTINGS))
    first = portal.post_form(SETTINGS, {"version": read_at, "same_day_cutoff": "15:00"})
    assert first.status_code == 302

    second = portal.post_form(SETTINGS, {"version": read_at, "same_day_cutoff": "16:00"})
    html = second.get_data(as_text=True)
    assert second.status_code == 409
    assert 'data-testid="settings-conflict"' in html
    assert "Someone else changed the settings" in html
    assert f'href="{SETTINGS}"' in html and 'data-testid="settings-reload"' in html

    saved = settings_of(db, world.shop_a)
    assert (saved.version, saved.same_day_cutoff.strftime("%H:%M")) == (2, "15:00")


def test_invalid_input_gets_422_with_the_message_next_to_the_field(portal, world, db):
    portal.login(world.agency_admin)
    in_english(portal)
    page = portal.get(SETTINGS)
    response = portal.post_form(
        SETTINGS,
        {
            "version": version_on(page),
            "sender_postal_code": "12345",
            "sender_phone": "0-9-0-1234-56-78",
            "sender_name": "正しい名前",
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'data-testid="settings-errors"' in html
    assert 'id="sender_postal_code-error">Use a 7-digit postal code, e.g. 150-0001.<' in html
    assert 'id="sender_phone-error">Use at most 15 characters including hyphens' in html
    assert 'value="0-9-0-1234-56-78"' in html  # the input is kept, not truncated
    assert 'name="version" type="hidden" value="1"' in html
    assert 'id="timezone" name="timezone" type="text" value="Asia/Tokyo"' in html  # not posted
    saved = settings_of(db, world.shop_a)
    assert (saved.version, saved.sender_name) == (1, "あかり雑貨")


def test_errors_are_shown_next_to_the_field_on_japanese_pages_too(portal, world):
    portal.login(world.agency_admin)
    page = portal.get(SETTINGS)
    response = portal.post_form(SETTINGS, {"version": version_on(page), "b2_freight_code": "1"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="b2_freight_code-error">' in html


def test_saving_unchanged_values_writes_no_version(portal, world, db):
    portal.login(world.agency_admin)
    in_english(portal)
    page = portal.get(SETTINGS)
    html = page.get_data(as_text=True)
    assert html.count('id="version"') == 1 and html.count('id="csrf_token"') == 1
    response = portal.post_form(
        SETTINGS,
        {"version": "1", "timezone": "Asia/Tokyo", "sender_name": "あかり雑貨"},
        follow_redirects=True,
    )
    assert "Nothing changed; the settings stay at version 1." in response.get_data(as_text=True)
    assert settings_of(db, world.shop_a).version == 1
    assert portal.get(HISTORY).get_data(as_text=True).count('data-testid="history-row"') == 0


def test_a_post_without_a_version_is_a_bad_request(portal, world):
    portal.login(world.agency_admin)
    assert portal.post_form(SETTINGS, {"sender_name": "x"}).status_code == 400
    assert portal.post_form(SETTINGS, {"version": "abc"}).status_code == 400


def test_logo_upload_accepts_a_real_png_and_serves_it_to_shop_a_only(portal, app, db, world, png):
    portal.login(world.agency_admin)
    page = portal.get(SETTINGS)
    response = portal.post_form(
        LOGO,
        {"version": version_on(page), "logo": (BytesIO(png), "logo.png")},
        form_url=SETTINGS,
    )
    assert response.status_code == 302
    assert 'data-testid="settings-logo-image"' in portal.get(SETTINGS).get_data(as_text=True)

    from tests.portal_client import PortalClient

    shop_a = PortalClient(app, db)
    shop_a.login(world.shop_admin_a)
    served = shop_a.get(LOGO)
    assert served.status_code == 200
    assert served.mimetype == "image/png"
    assert served.data == png
    assert served.headers["Cache-Control"].startswith("private")

    shop_b = PortalClient(app, db)
    shop_b.login(world.shop_admin_b)
    assert shop_b.get(LOGO).status_code == 404
    assert shop_b.get("/s/shop-b/settings/logo").status_code == 404  # shop B has none

    html = portal.get(HISTORY).get_data(as_text=True)
    assert 'data-testid="history-change-logo"' in html and "image/png 160×48" in html


def test_a_text_file_renamed_png_is_refused(portal, world, db):
    portal.login(world.agency_admin)
    in_english(portal)
    page = portal.get(SETTINGS)
    response = portal.post_form(
        LOGO,
        {
            "version": version_on(page),
            "logo": (BytesIO(b"hello, I am text\n"), "logo.png", "image/png"),
        },
        form_url=SETTINGS,
    )
    assert response.status_code == 422
    assert "This file is not a PNG, JPEG or WebP image." in response.get_data(as_text=True)
    assert settings_of(db, world.shop_a).logo is None
    assert portal.get(LOGO).status_code == 404


def test_removing_the_logo(portal, world, db, png):
    portal.login(world.agency_admin)
    page = portal.get(SETTINGS)
    portal.post_form(
        LOGO, {"version": version_on(page), "logo": (BytesIO(png), "a.png")}, form_url=SETTINGS
    )
    page = portal.get(SETTINGS)
    assert 'data-testid="logo-remove"' in page.get_data(as_text=True)
    response = portal.post_form(LOGO + "/remove", {"version": "2"}, form_url=SETTINGS)
    assert response.status_code == 302
    assert portal.get(LOGO).status_code == 404
    assert settings_of(db, world.shop_a).version == 3


def test_history_is_paginated_twenty_a_page(portal, world, db):
    from urakata.tenants.shop.services import update_settings

    with db.tenant_session(world.shop_a.id) as session:
        for n in range(21):
            update_settings(
                session,
                actor=user_actor(world.agency_admin),
                expected_version=n + 1,
                changes={"sasage_turnaround_days": str(n + 10)},
            )
    portal.login(world.shop_admin_a)
    first = portal.get(HISTORY).get_data(as_text=True)
    assert first.count('data-testid="history-row"') == 20
    assert 'data-testid="history-older"' in first
    second = portal.get(HISTORY + "?page=2").get_data(as_text=True)
    assert second.count('data-testid="history-row"') == 1
    filtered = portal.get(HISTORY + "?field=logo").get_data(as_text=True)
    assert filtered.count('data-testid="history-row"') == 0
    assert portal.get(HISTORY + "?page=abc").status_code == 200
    assert portal.get(HISTORY + "?page=" + "9" * 25).status_code == 200
    assert portal.get(HISTORY + "?page=-3").status_code == 200
