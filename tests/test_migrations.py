"""Models and migrations agree, and the schema survives a round trip."""

from __future__ import annotations

from alembic import command
from alembic.script import ScriptDirectory

from urakata.platform.dbroles import bootstrap_database, drop_database
from urakata.platform.migrate import alembic_config, upgrade_head


def test_alembic_check_finds_no_difference(test_database):
    command.check(alembic_config(test_database.owner_url))


def test_migrations_are_named_by_date_and_slug():
    import re

    script = ScriptDirectory.from_config(alembic_config("postgresql://unused/x"))
    for rev in script.walk_revisions():
        name = rev.path.rsplit("/", 1)[-1]
        assert re.match(r"^\d{4}_\d{2}_\d{2}_[0-9a-f]{12}_[a-z0-9_]+\.py$", name), name


def test_downgrade_to_base_and_upgrade_again(admin_database_url):
    name = "urakata_test_roundtrip"
    owner_url, _ = bootstrap_database(admin_database_url, name, recreate=True)
    try:
        upgrade_head(owner_url)
        command.downgrade(alembic_config(owner_url), "base")
        upgrade_head(owner_url)
        command.check(alembic_config(owner_url))
    finally:
        drop_database(admin_database_url, name)


def test_upgrading_a_schema_with_data_keeps_and_completes_it(admin_database_url):
    """From the foundation release with shops and users loaded to head."""
    import uuid

    from sqlalchemy import text

    from urakata.platform.db import make_engine

    name = "urakata_test_upgrade_data"
    owner_url, _ = bootstrap_database(admin_database_url, name, recreate=True)
    cfg = alembic_config(owner_url)
    shops = [uuid.uuid4(), uuid.uuid4()]
    try:
        command.upgrade(cfg, "a1f0c0de0001")
        owner = make_engine(owner_url)
        with owner.begin() as conn:
            for n, shop in enumerate(shops):
                conn.execute(
                    text(
                        "INSERT INTO tenant (id, slug, name, timezone, status, created_at)"
                        " VALUES (:id, :slug, :name, 'Asia/Tokyo', 'active', now())"
                    ),
                    {"id": shop, "slug": f"old-{n}", "name": f"旧店舗{n}"},
                )
            conn.execute(
                text(
                    "INSERT INTO user_account (id, email, display_name, locale, is_active,"
                    " created_at) VALUES (:id, 'old@shops.example', '旧利用者', 'ja', true, now())"
                ),
                {"id": uuid.uuid4()},
            )
        upgrade_head(owner_url)
        admin = make_engine(admin_database_url.rsplit("/", 1)[0] + f"/{name}")
        with admin.connect() as conn:
            settings = conn.execute(
                text("SELECT tenant_id, sender_name FROM shop_settings ORDER BY sender_name")
            ).all()
            user = conn.execute(text("SELECT session_token, failed_logins FROM user_account")).one()
        owner.dispose()
        admin.dispose()
        assert {row.tenant_id for row in settings} == set(shops)
        assert [row.sender_name for row in settings] == ["旧店舗0", "旧店舗1"]
        assert len(user.session_token) >= 32 and user.failed_logins == 0
    finally:
        drop_database(admin_database_url, name)
