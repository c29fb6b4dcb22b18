"""The helper the demo and the tests share starts real servers, also as root."""

from __future__ import annotations

from redis import Redis
from sqlalchemy import func, select, text

from urakata.demo import PEOPLE, SHOPS, seed_demo
from urakata.platform.db import make_engine
from urakata.platform.devservers import DevServers
from urakata.platform.identity import Membership, UserAccount
from urakata.platform.tenancy import Tenant


def test_dev_servers_start_reuse_their_directory_and_stop(tmp_path):
    with DevServers(tmp_path / "var") as servers:
        engine = make_engine(servers.admin_database_url)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
        engine.dispose()
        assert Redis.from_url(servers.redis_url).ping()
        appendonly = Redis.from_url(servers.redis_url).config_get("appendonly")
        assert appendonly == {"appendonly": "yes"}
        first_port = servers.info.postgres_port
    again = DevServers(tmp_path / "var").start()  # a second run reuses ./var
    try:
        assert again.info.postgres_port == first_port
    finally:
        again.stop()


def test_demo_seed_creates_the_agency_once(db):
    token = seed_demo(db, b"k")
    assert token and token.startswith("uk_")
    assert seed_demo(db, b"k") is None
    with db.platform_session() as s:
        slugs = set(s.scalars(select(Tenant.slug)))
        users = s.scalar(select(func.count()).select_from(UserAccount))
        roles = {(m.role, m.shop_id is None) for m in s.scalars(select(Membership))}
    assert {slug for slug, _, _ in SHOPS} <= slugs
    assert users >= len({email for email, *_ in PEOPLE})
    assert ("operator", False) in roles and ("auditor", True) in roles
