"""The app refuses to start on a role that could read past row-level security."""

from __future__ import annotations

import pytest

from urakata.platform.config import ConfigError, Settings
from urakata.platform.dbroles import UnsafeDatabaseRole
from urakata.portal import create_app


def _settings(url: str, redis_url: str) -> Settings:
    return Settings(mode="test", secret_key="k", database_url=url, redis_url=redis_url)


def test_the_app_refuses_a_superuser_url(test_database, redis_url):
    with pytest.raises(UnsafeDatabaseRole, match="superuser"):
        create_app(_settings(test_database.admin_url, redis_url))


def test_the_app_refuses_the_table_owner(test_database, redis_url):
    with pytest.raises(UnsafeDatabaseRole, match="owns"):
        create_app(_settings(test_database.owner_url, redis_url))


def test_the_app_starts_on_the_application_role(test_database, redis_url):
    app = create_app(_settings(test_database.app_url, redis_url))
    assert app.test_client().get("/healthz").status_code == 200


def test_secret_key_is_required_in_production():
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        Settings.from_env({"DATABASE_URL": "postgresql://x@localhost/db"})


def test_demo_and_test_modes_make_a_secret_key():
    s = Settings.from_env({"URAKATA_MODE": "demo", "DATABASE_URL": "postgresql://x@h/db"})
    assert s.secret_key and len(s.secret_key) >= 32


def test_database_url_is_required():
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        Settings.from_env({"URAKATA_MODE": "test"})


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"URAKATA_MODE": "staging"}, "URAKATA_MODE"),
        ({"URAKATA_MODE": "test", "TRUSTED_PROXIES": "one"}, "TRUSTED_PROXIES"),
    ],
)
def test_bad_settings_name_what_is_wrong(env, message):
    with pytest.raises(ConfigError, match=message):
        Settings.from_env({"DATABASE_URL": "postgresql://x@h/db", **env})
