"""The helper the demo and the tests share starts real servers, also as root."""

from __future__ import annotations

from redis import Redis
from sqlalchemy import func, select, text

from urakata.demo import PEOPLE, SHOPS, _ledger_key, first_checkpoints, seed_demo
from urakata.platform import checkpoints
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


def test_demo_seed_creates_the_agency_once(db, tmp_path, monkeypatch):
    monkeypatch.setenv("FILES_DIR", str(tmp_path / "files"))  # its photos, not the repo's var/
    token = seed_demo(db, b"k")
    assert token and token.startswith("uk_")
    assert seed_demo(db, b"k") is None
    assert any((tmp_path / "files").rglob("original.*"))  # the sasage photos went there
    with db.platform_session() as s:
        slugs = set(s.scalars(select(Tenant.slug)))
        users = s.scalar(select(func.count()).select_from(UserAccount))
        roles = {(m.role, m.shop_id is None) for m in s.scalars(select(Membership))}
    assert {slug for slug, _, _ in SHOPS} <= slugs
    assert users >= len({email for email, *_ in PEOPLE})
    assert ("operator", False) in roles and ("auditor", True) in roles

    # The demo signs every chain once at seed time with its own key under ./var, so an
    # auditor can verify right away; the key is reused by the next run.
    key_path, signer = _ledger_key(tmp_path)
    assert key_path.stat().st_mode & 0o077 == 0
    assert (tmp_path / "ledger_public_key.pem").read_bytes().startswith(b"-----BEGIN PUBLIC KEY")
    assert _ledger_key(tmp_path)[1].key_id == signer.key_id
    signed = first_checkpoints(db, signer, tmp_path / "checkpoints")
    assert signed == len(slugs) + 1  # every shop and the agency
    with db.platform_session() as s:
        shops = list(s.scalars(select(Tenant.id)))
    for shop in shops:  # each shop's chain is signed at its head
        with db.tenant_session(shop) as s:
            head = s.execute(text("SELECT seq FROM chain_head WHERE tenant_id = :t"), {"t": shop})
            assert checkpoints.latest_checkpoint(s).seq == head.scalar_one()
    assert len(list((tmp_path / "checkpoints").rglob("*.json"))) == signed
