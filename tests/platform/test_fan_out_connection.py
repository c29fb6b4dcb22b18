"""The fan-out over shops on one pooled connection: still one session and one transaction
per shop, the tenant setting set for each and gone after it, nothing carried between shops.

These run on real, committed sessions (the tests' joined database keeps its own path), so
every row written here is removed again by the superuser at the end.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select, text

from tests.platform.conftest import ProbeNote
from urakata.platform.db import Database
from urakata.platform.tenancy import fan_out_across_tenants


@pytest.fixture
def real_db(test_database):
    db = Database.from_url(test_database.app_url)
    yield db
    db.dispose()


@pytest.fixture
def shops(real_db, admin_engine, probe_table):
    """Three committed shops, each with one note; all removed afterwards."""
    ids = [uuid.uuid4() for _ in range(3)]
    with admin_engine.begin() as conn:
        for n, shop in enumerate(ids):
            conn.execute(
                text(
                    "INSERT INTO tenant (id, slug, name, timezone, status, created_at)"
                    " VALUES (:id, :slug, :name, 'Asia/Tokyo', 'active', now())"
                ),
                {"id": shop, "slug": f"fan-{shop.hex[:12]}", "name": f"shop {n}"},
            )
    for n, shop in enumerate(ids):
        with real_db.tenant_session(shop) as s:
            s.add(ProbeNote(body=f"shop {n}'s customer"))
    yield ids
    with admin_engine.begin() as conn:
        conn.execute(text("DELETE FROM rls_probe_note WHERE tenant_id = ANY(:ids)"), {"ids": ids})
        conn.execute(text("DELETE FROM tenant WHERE id = ANY(:ids)"), {"ids": ids})


def test_each_shop_reads_only_its_rows_with_its_own_setting(real_db, shops):
    seen = []

    def work(session):
        setting = session.execute(text("SELECT current_setting('app.tenant_id', true)")).scalar()
        # Without the ORM wall: what RLS alone lets this transaction see.
        raw = session.execute(text("SELECT body FROM rls_probe_note")).scalars().all()
        # The ORM wall still applies: asking for another shop's rows finds none.
        others = [s for s in shops if s != session.tenant_id]
        foreign = session.scalars(select(ProbeNote).where(ProbeNote.tenant_id.in_(others))).all()
        pid = session.execute(text("SELECT pg_backend_pid()")).scalar()
        seen.append((session, len(session.identity_map), pid))
        notes = session.scalars(select(ProbeNote)).all()
        return setting, raw, foreign, [n.body for n in notes], notes

    result = fan_out_across_tenants(real_db, shops, work)

    for n, shop in enumerate(shops):
        setting, raw, foreign, bodies, _notes = result[shop]
        assert setting == str(shop)
        assert raw == [f"shop {n}'s customer"]
        assert foreign == []
        assert bodies == [f"shop {n}'s customer"]
    sessions = [s for s, _, _ in seen]
    assert len({id(s) for s in sessions}) == 3  # one session per shop
    assert all(size == 0 for _, size, _ in seen)  # none starts with another shop's objects
    assert len({pid for _, _, pid in seen}) == 1  # one connection for the whole fan-out
    loaded = [result[shop][4][0] for shop in shops]
    assert [note.tenant_id for note in loaded] == shops


def test_the_setting_ends_with_each_shops_transaction(real_db, shops):
    """The next shop's transaction, and whoever uses the connection after, start unset."""

    def work(session):
        return session.connection().connection.dbapi_connection

    used = fan_out_across_tenants(real_db, shops, work)
    assert len(set(map(id, used.values()))) == 1
    with real_db.engine.connect() as conn:
        # The pool hands the fan-out's connection back out (it is the only idle one).
        assert conn.connection.dbapi_connection is used[shops[0]]
        assert conn.execute(text("SELECT current_setting('app.tenant_id', true)")).scalar() in (
            "",
            None,
        )
        assert conn.execute(text("SELECT count(*) FROM rls_probe_note")).scalar() == 0


def test_a_failing_shop_rolls_back_only_its_own_writes(real_db, shops, admin_engine):
    def work(session):
        session.add(ProbeNote(body="written in the fan-out"))
        session.flush()
        if session.tenant_id == shops[1]:
            raise RuntimeError("this shop's work fails")
        return True

    with pytest.raises(RuntimeError):
        fan_out_across_tenants(real_db, shops, work)
    with admin_engine.connect() as conn:
        written = dict(
            conn.execute(
                text(
                    "SELECT tenant_id, count(*) FROM rls_probe_note"
                    " WHERE body = 'written in the fan-out' GROUP BY tenant_id"
                )
            ).all()
        )
    assert written == {shops[0]: 1}  # the first shop committed; the failing one did not
