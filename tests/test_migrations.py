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
