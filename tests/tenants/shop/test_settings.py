"""Shop settings change as versions: validated, normalised, recorded, and kept per shop."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select, text, update

from tests.tenants.shop.conftest import image_bytes
from urakata.platform.audit import user_actor
from urakata.platform.tenancy import Tenant
from urakata.tenants.shop.models import ShopSettings, ShopSettingsVersion
from urakata.tenants.shop.services import (
    HISTORY_PAGE_SIZE,
    SettingsInvalid,
    StaleSettings,
    get_settings,
    remove_logo,
    set_logo,
    settings_history,
    update_settings,
)


def change(db, world, changes, *, version=1, shop=None, actor=None):
    with db.tenant_session((shop or world.shop_a).id) as session:
        return update_settings(
            session,
            actor=user_actor(actor or world.agency_admin),
            expected_version=version,
            changes=changes,
        )


def history_of(db, shop) -> list[ShopSettingsVersion]:
    with db.tenant_session(shop.id) as session:
        return list(session.scalars(select(ShopSettingsVersion).order_by(ShopSettingsVersion.id)))


def settings_of(db, shop) -> ShopSettings:
    with db.tenant_session(shop.id) as session:
        return get_settings(session)


def refused(db, world, changes, version=1) -> dict[str, list[str]]:
    with pytest.raises(SettingsInvalid) as caught:
        change(db, world, changes, version=version)
    return caught.value.errors


def test_a_change_is_one_new_version_with_who_when_and_old_and_new(db, world):
    before = datetime.now(UTC)
    saved = change(db, world, {"same_day_cutoff": "15:30", "sender_phone": "03-1234-5678"})

    assert saved.version == 2
    assert saved.same_day_cutoff == time(15, 30)
    assert saved.updated_by == world.agency_admin.id
    [row] = history_of(db, world.shop_a)
    assert row.version == 2
    assert row.changed_by == world.agency_admin.id
    assert row.changed_by_name == world.agency_admin.display_name
    assert before - timedelta(seconds=5) <= row.changed_at <= datetime.now(UTC)
    assert row.changes == {
        "same_day_cutoff": {"old": "14:00", "new": "15:30"},
        "sender_phone": {"old": "", "new": "03-1234-5678"},
    }


def test_only_the_fields_that_differ_are_recorded(db, world):
    current = settings_of(db, world.shop_a)
    change(db, world, {"sender_name": current.sender_name, "sasage_turnaround_days": "7"})
    [row] = history_of(db, world.shop_a)
    assert row.changes == {"sasage_turnaround_days": {"old": 5, "new": 7}}


def test_nothing_changed_writes_no_version(db, world):
    current = settings_of(db, world.shop_a)
    saved = change(
        db,
        world,
        {
            "timezone": "Asia/Tokyo",
            "same_day_cutoff": "14:00",
            "split_policy": current.split_policy,
            "sender_name": current.sender_name,
            "shopify_webhook_secret": "",
        },
    )
    assert saved.version == 1
    assert history_of(db, world.shop_a) == []


def test_a_stale_version_is_refused_and_changes_nothing(db, world):
    change(db, world, {"same_day_cutoff": "15:00"}, version=1)

    with pytest.raises(StaleSettings):
        change(db, world, {"same_day_cutoff": "16:00", "sender_name": "上書き"}, version=1)

    current = settings_of(db, world.shop_a)
    assert current.version == 2
    assert current.same_day_cutoff == time(15, 0)
    assert current.sender_name == "あかり雑貨"
    assert len(history_of(db, world.shop_a)) == 1


def test_the_conditional_update_catches_a_version_bumped_after_it_was_read(db, world):
    """Another transaction commits between our read and our write: the UPDATE matches none."""
    with pytest.raises(StaleSettings), db.tenant_session(world.shop_a.id) as session:
        get_settings(session)  # read at version 1 and kept in the identity map
        session.execute(
            update(ShopSettings).values(version=2).execution_options(synchronize_session=False)
        )
        update_settings(
            session,
            actor=user_actor(world.agency_admin),
            expected_version=1,
            changes={"same_day_cutoff": "16:00"},
        )
    assert settings_of(db, world.shop_a).same_day_cutoff == time(14, 0)
    assert history_of(db, world.shop_a) == []


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("timezone", "Mars/Olympus", "Unknown time zone"),
        ("timezone", "", "Enter a time zone"),
        ("same_day_cutoff", "25:00", "HH:MM"),
        ("same_day_cutoff", "2pm", "HH:MM"),
        ("closed_days", "2026-12-31\n2026-02-30", "Not a date: 2026-02-30"),
        ("split_policy", "whenever", "Choose one of"),
        ("stocktake_approval_threshold_yen", "-1", "from 0 to"),
        ("stocktake_approval_threshold_yen", "1.5", "whole number"),
        ("stocktake_approval_threshold_yen", "9" * 5000, "from 0 to 1,000,000,000"),
        ("sasage_turnaround_days", "0", "from 1 to 60"),
        ("sasage_turnaround_days", "61", "from 1 to 60"),
        ("sender_name", "あ" * 101, "at most 100 characters"),
        ("sender_name", "一行目\n二行目", "single line"),
        ("sender_postal_code", "150-001", "7-digit postal code"),
        ("sender_address", "住" * 201, "at most 200 characters"),
        ("sender_phone", "03-1234-567", "10 or 11 digits"),
        ("sender_phone", "03(1234)5678", "digits and hyphens"),
        ("sender_email", "not-an-address", "e-mail address"),
        ("b2_customer_code", "12345678901", "exactly 12 digits"),
        ("b2_freight_code", "1", "exactly 2 digits"),
        ("ehiden_customer_code", "1" * 21, "up to 20 digits"),
        ("ehiden_customer_code", "12AB", "up to 20 digits"),
        ("shopify_webhook_secret", "s" * 201, "at most 200 characters"),
        ("shopify_date_keys", "日" * 51, "at most 50 characters per name"),
        ("shopify_slot_keys", ", ".join(["時間帯候補" + str(n) for n in range(40)]), "in all"),
        ("shopify_noshi_keys", "のし\tの種類", "single line"),
    ],
)
def test_each_invalid_field_is_named_with_what_was_expected(db, world, field, value, message):
    errors = refused(db, world, {"sender_email": "info@example.jp"} | {field: value})
    assert list(errors) == [field]
    assert any(message in m for m in errors[field]), errors
    assert settings_of(db, world.shop_a).version == 1


def test_every_bad_field_is_reported_at_once(db, world):
    errors = refused(db, world, {"sender_postal_code": "x", "b2_freight_code": "123"})
    assert set(errors) == {"sender_postal_code", "b2_freight_code"}


def test_unknown_fields_and_keys_of_the_row_are_refused(db, world):
    errors = refused(db, world, {"version": 9, "tenant_id": str(world.shop_b.id), "colour": "red"})
    assert errors == {
        "version": ["Unknown field."],
        "tenant_id": ["Unknown field."],
        "colour": ["Unknown field."],
    }


def test_the_default_carrier_and_service_go_together(db, world):
    saved = change(db, world, {"default_carrier": "sagawa", "default_carrier_service": "hikyaku"})
    assert (saved.default_carrier, saved.default_carrier_service) == ("sagawa", "hikyaku")
    errors = refused(db, world, {"default_carrier": "yamato", "default_carrier_service": "yu_pack"})
    assert "not a service of yamato" in str(errors["default_carrier_service"][0])
    # One of the two alone is checked against the other as stored.
    errors = refused(db, world, {"default_carrier_service": "nekopos"}, version=2)
    assert "not a service of sagawa" in str(errors["default_carrier_service"][0])
    refusal = refused(db, world, {"default_carrier": "fedex"}, version=2)["default_carrier"][0]
    assert "Choose one of" in str(refusal)


def test_note_attribute_names_are_kept_as_one_tidy_list(db, world):
    saved = change(db, world, {"shopify_date_keys": " お届け日，Delivery-Day、お届け日 ,, "})
    assert saved.shopify_date_keys == "お届け日, Delivery-Day"


def test_full_width_japanese_input_is_normalised(db, world):
    saved = change(
        db,
        world,
        {
            "sender_postal_code": "〒１５０－０００１",
            "sender_phone": "０３ー１２３４ー５６７８",
            "same_day_cutoff": "１５：３０",
            "stocktake_approval_threshold_yen": "５，０００",
            "sender_name": "\u3000ｱｶﾘ雑貨　",
            "sender_address": "東京都渋谷区神宮前１－２－３",
            "b2_customer_code": "０１２３４５６７８９０１",
        },
    )
    assert saved.sender_postal_code == "150-0001"
    assert saved.sender_phone == "03-1234-5678"
    assert saved.same_day_cutoff == time(15, 30)
    assert saved.stocktake_approval_threshold_yen == 5000
    assert saved.sender_name == "アカリ雑貨"
    assert saved.sender_address == "東京都渋谷区神宮前1-2-3"
    assert saved.b2_customer_code == "012345678901"


def test_postal_code_without_hyphen_is_stored_with_one(db, world):
    assert change(db, world, {"sender_postal_code": "1500001"}).sender_postal_code == "150-0001"


def test_a_phone_longer_than_yamato_b2_allows_is_refused_not_truncated(db, world):
    too_long = "0-9-0-1234-56-78"  # 11 digits, 16 characters
    errors = refused(db, world, {"sender_phone": too_long})
    assert "at most 15 characters" in errors["sender_phone"][0]
    assert "16" in errors["sender_phone"][0]
    assert settings_of(db, world.shop_a).sender_phone == ""
    assert change(db, world, {"sender_phone": "090-1234-5678"}).sender_phone == "090-1234-5678"


def test_closed_days_are_deduplicated_and_sorted(db, world):
    saved = change(db, world, {"closed_days": "2026-12-31\n2026/12/30, 2026-12-31\n\n"})
    assert saved.closed_days == [date(2026, 12, 30), date(2026, 12, 31)]
    [row] = history_of(db, world.shop_a)
    assert row.changes["closed_days"] == {"old": [], "new": ["2026-12-30", "2026-12-31"]}


def test_the_time_zone_is_kept_on_the_tenant_and_versioned(db, world):
    saved = change(db, world, {"timezone": "Asia/Seoul"})
    assert saved.version == 2
    with db.platform_session() as session:
        assert session.get(Tenant, world.shop_a.id).timezone == "Asia/Seoul"
    [row] = history_of(db, world.shop_a)
    assert row.changes == {"timezone": {"old": "Asia/Tokyo", "new": "Asia/Seoul"}}


def test_secrets_are_never_written_into_history(db, world):
    secret = "shpss_0123456789abcdef"
    change(db, world, {"shopify_webhook_secret": secret}, version=1)
    change(db, world, {"shopify_webhook_secret": secret + "-rotated"}, version=2)
    saved = change(db, world, {"shopify_webhook_secret": "", "sender_name": "新"}, version=3)

    assert saved.shopify_webhook_secret == secret + "-rotated"  # blank kept it
    rows = history_of(db, world.shop_a)
    assert [r.changes.get("shopify_webhook_secret") for r in rows] == [
        {"old": "", "new": "********"},
        {"old": "********", "new": "********"},
        None,
    ]
    assert "shpss_" not in json.dumps([r.changes for r in rows], ensure_ascii=False)


def test_shop_b_never_sees_shop_a_settings_or_history(db, world):
    change(db, world, {"sender_name": "A社の差出人", "shopify_webhook_secret": "a-secret"})

    with db.tenant_session(world.shop_b.id) as session:
        assert get_settings(session).sender_name == "みどり食品"
        assert session.get(ShopSettings, world.shop_a.id) is None
        assert settings_history(session).versions == []
        # Row-level security alone, without the ORM wall:
        assert session.execute(text("SELECT count(*) FROM shop_settings")).scalar() == 1
        assert session.execute(text("SELECT count(*) FROM shop_settings_version")).scalar() == 0
    assert len(history_of(db, world.shop_a)) == 1


def test_shop_b_cannot_change_shop_a_settings(db, world):
    change(db, world, {"sender_name": "B社"}, shop=world.shop_b)
    assert settings_of(db, world.shop_a).sender_name == "あかり雑貨"
    assert settings_of(db, world.shop_b).sender_name == "B社"
    assert history_of(db, world.shop_a) == []


def test_history_pages_newest_first(db, world):
    for n in range(HISTORY_PAGE_SIZE + 5):
        change(db, world, {"sasage_turnaround_days": str(n % 50 + 6)}, version=n + 1)
    with db.tenant_session(world.shop_a.id) as session:
        first = settings_history(session, page=1)
        second = settings_history(session, page=2)
        only_logo = settings_history(session, field="logo")
    assert [v.version for v in first.versions] == list(range(26, 6, -1))
    assert first.has_next
    assert [v.version for v in second.versions] == [6, 5, 4, 3, 2]
    assert not second.has_next
    assert only_logo.versions == []


def test_a_logo_is_accepted_by_its_content_and_recorded_without_bytes(db, world, png):
    with db.tenant_session(world.shop_a.id) as session:
        saved = set_logo(
            session, actor=user_actor(world.agency_admin), expected_version=1, data=png
        )
        assert (saved.logo, saved.logo_mime, saved.version) == (png, "image/png", 2)
    [row] = history_of(db, world.shop_a)
    assert row.changes == {"logo": {"old": None, "new": "image/png 120×40"}}


@pytest.mark.parametrize(("fmt", "mime"), [("JPEG", "image/jpeg"), ("WEBP", "image/webp")])
def test_jpeg_and_webp_logos_are_accepted(db, world, fmt, mime):
    with db.tenant_session(world.shop_a.id) as session:
        saved = set_logo(
            session, actor=user_actor(world.agency_admin), expected_version=1, data=image_bytes(fmt)
        )
        assert saved.logo_mime == mime


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not an image, just text with a .png name", "not a PNG, JPEG or WebP"),
        (b"", "Choose a PNG"),
        (image_bytes("GIF"), "not a PNG, JPEG or WebP"),
        (image_bytes("PNG", (2001, 10)), "2000 × 2000"),
        (image_bytes("PNG")[:60], "not a PNG, JPEG or WebP"),
        (b"\x89PNG\r\n\x1a\n" + b"0" * (512 * 1024), "512 KB"),
    ],
    ids=["text", "empty", "gif", "too-wide", "truncated", "too-large"],
)
def test_a_bad_logo_is_refused(db, world, data, message):
    with pytest.raises(SettingsInvalid) as caught, db.tenant_session(world.shop_a.id) as session:
        set_logo(session, actor=user_actor(world.agency_admin), expected_version=1, data=data)
    assert message in caught.value.errors["logo"][0]
    assert settings_of(db, world.shop_a).logo is None


def test_removing_the_logo_is_a_version_and_a_stale_one_is_refused(db, world, png):
    with db.tenant_session(world.shop_a.id) as session:
        set_logo(session, actor=user_actor(world.agency_admin), expected_version=1, data=png)
    with pytest.raises(StaleSettings), db.tenant_session(world.shop_a.id) as session:
        remove_logo(session, actor=user_actor(world.agency_admin), expected_version=1)
    with db.tenant_session(world.shop_a.id) as session:
        saved = remove_logo(session, actor=user_actor(world.agency_admin), expected_version=2)
        assert (saved.logo, saved.logo_mime, saved.version) == (None, None, 3)
    assert history_of(db, world.shop_a)[-1].changes == {
        "logo": {"old": "image/png 120×40", "new": None}
    }
    with db.tenant_session(world.shop_a.id) as session:
        count = session.scalar(select(func.count()).select_from(ShopSettingsVersion))
    assert count == 2
