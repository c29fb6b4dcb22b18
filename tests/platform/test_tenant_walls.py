"""The two walls between shops: PostgreSQL RLS and the ORM, each proven on its own."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError, ProgrammingError

from tests.platform.conftest import ProbeNote
from urakata.platform.db import (
    CrossTenantWrite,
    Database,
    TenantNotBound,
    TenantRebind,
)
from urakata.platform.tenancy import NotFound, fan_out_across_tenants, get_scoped


@pytest.fixture
def notes(db, world, probe_table):
    """One note in each shop, written through tenant-bound sessions."""
    with db.tenant_session(world.shop_a.id) as s:
        a = ProbeNote(body="shop A's customer: 山田太郎")
        s.add(a)
    with db.tenant_session(world.shop_b.id) as s:
        b = ProbeNote(body="shop B's customer: 佐藤花子")
        s.add(b)
    return a, b


def test_a_tenant_session_reads_only_its_own_rows(db, world, notes):
    with db.tenant_session(world.shop_a.id) as s:
        bodies = s.scalars(select(ProbeNote.body)).all()
    assert bodies == ["shop A's customer: 山田太郎"]


def test_no_rows_are_visible_with_no_tenant_bound(connection, notes):
    connection.exec_driver_sql("SET LOCAL app.tenant_id = ''")
    assert connection.execute(text("SELECT count(*) FROM rls_probe_note")).scalar() == 0


def test_an_unset_setting_also_shows_nothing(app_engine, world, probe_table):
    with app_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM rls_probe_note")).scalar() == 0


def test_cross_tenant_insert_is_rejected_by_with_check(connection, world, probe_table):
    connection.exec_driver_sql(f"SET LOCAL app.tenant_id = '{world.shop_a.id}'")
    with pytest.raises(ProgrammingError, match="row-level security"), connection.begin_nested():
        connection.execute(
            text("INSERT INTO rls_probe_note (tenant_id, body) VALUES (:t, 'x')"),
            {"t": world.shop_b.id},
        )


def test_moving_a_row_to_another_tenant_is_rejected_by_with_check(connection, world, notes):
    a, _ = notes
    connection.exec_driver_sql(f"SET LOCAL app.tenant_id = '{world.shop_a.id}'")
    with pytest.raises(ProgrammingError, match="row-level security"), connection.begin_nested():
        connection.execute(
            text("UPDATE rls_probe_note SET tenant_id = :b WHERE id = :id"),
            {"b": world.shop_b.id, "id": a.id},
        )


def test_another_tenants_rows_cannot_be_updated_or_deleted(connection, world, notes):
    _, b = notes
    connection.exec_driver_sql(f"SET LOCAL app.tenant_id = '{world.shop_a.id}'")
    changed = connection.execute(
        text("UPDATE rls_probe_note SET body = 'stolen' WHERE id = :id"), {"id": b.id}
    )
    deleted = connection.execute(text("DELETE FROM rls_probe_note WHERE id = :id"), {"id": b.id})
    assert (changed.rowcount, deleted.rowcount) == (0, 0)


def test_rls_alone_stops_a_cross_tenant_read(db, world, notes):
    """Raw SQL skips the ORM wall; the database still shows only the bound shop."""
    with db.tenant_session(world.shop_a.id) as s:
        rows = s.execute(text("SELECT body FROM rls_probe_note")).scalars().all()
    assert rows == ["shop A's customer: 山田太郎"]


def test_orm_wall_alone_stops_a_cross_tenant_read(admin_engine, probe_table):
    """A superuser bypasses RLS; the loader criteria still keep shop B's row out."""
    shop_a, shop_b = uuid.uuid4(), uuid.uuid4()
    with admin_engine.connect() as conn:
        conn.begin()
        conn.execute(
            text(
                "INSERT INTO tenant (id, slug, name, timezone, status, created_at) VALUES"
                " (:a, :sa, 'A', 'Asia/Tokyo', 'active', now()),"
                " (:b, :sb, 'B', 'Asia/Tokyo', 'active', now())"
            ),
            {"a": shop_a, "b": shop_b, "sa": f"w{shop_a.hex[:8]}", "sb": f"w{shop_b.hex[:8]}"},
        )
        conn.execute(
            text(
                "INSERT INTO rls_probe_note (tenant_id, body) VALUES (:a, 'A row'), (:b, 'B row')"
            ),
            {"a": shop_a, "b": shop_b},
        )
        superuser_db = Database.joined_to(conn)
        with superuser_db.tenant_session(shop_a) as s:
            raw = s.execute(text("SELECT count(*) FROM rls_probe_note")).scalar()
            orm = s.scalars(select(ProbeNote.body)).all()
        conn.rollback()
    assert raw >= 2, "the superuser sees every shop's rows: RLS is not helping here"
    assert orm == ["A row"]


def test_orm_query_with_no_tenant_bound_raises(db, notes):
    with pytest.raises(TenantNotBound), db.platform_session() as s:
        s.scalars(select(ProbeNote)).all()


def test_orm_update_is_scoped_too(db, world, notes):
    _, b = notes
    with db.tenant_session(world.shop_a.id) as s:
        result = s.execute(update(ProbeNote).where(ProbeNote.id == b.id).values(body="stolen"))
    assert result.rowcount == 0


def test_writing_another_tenants_row_raises_before_sql(db, world, probe_table):
    with pytest.raises(CrossTenantWrite), db.tenant_session(world.shop_a.id) as s:
        s.add(ProbeNote(tenant_id=world.shop_b.id, body="planted"))


def test_a_session_is_never_rebound(db, world):
    session = db.session(world.shop_a.id)
    with pytest.raises(TenantRebind):
        session.bind_tenant(world.shop_b.id)
    session.bind_tenant(world.shop_a.id)  # the same shop again is harmless
    session.close()


def test_binding_mid_transaction_sets_the_database_scope(db, world, notes):
    with db.session() as s:
        s.execute(text("SELECT 1"))  # the transaction begins unbound
        s.bind_tenant(world.shop_b.id)
        rows = s.execute(text("SELECT body FROM rls_probe_note")).scalars().all()
        s.rollback()
    assert rows == ["shop B's customer: 佐藤花子"]


def test_tenant_ids_are_validated_before_reaching_sql(db):
    with pytest.raises(ValueError):
        db.session("x'; RESET ROLE; --")


def test_get_scoped_answers_not_found_for_another_shops_id(db, world, notes):
    a, b = notes
    with db.tenant_session(world.shop_a.id) as s:
        assert get_scoped(s, ProbeNote, a.id).body.startswith("shop A")
        with pytest.raises(NotFound):
            get_scoped(s, ProbeNote, b.id)
        with pytest.raises(NotFound):
            get_scoped(s, ProbeNote, 10**12)


def test_fan_out_reads_each_shop_in_its_own_session(db, world, notes):
    def bodies(session):
        return session.scalars(select(ProbeNote.body)).all()

    result = fan_out_across_tenants(db, [world.shop_a.id, world.shop_b.id], bodies)
    assert result == {
        world.shop_a.id: ["shop A's customer: 山田太郎"],
        world.shop_b.id: ["shop B's customer: 佐藤花子"],
    }


def test_unknown_tenant_sees_nothing(db, notes):
    with db.tenant_session(uuid.uuid4()) as s:
        assert s.scalars(select(ProbeNote)).all() == []


def test_the_app_role_cannot_turn_rls_off(connection, probe_table):
    with pytest.raises(DBAPIError), connection.begin_nested():
        connection.exec_driver_sql("ALTER TABLE rls_probe_note DISABLE ROW LEVEL SECURITY")
    with pytest.raises(DBAPIError), connection.begin_nested():
        connection.exec_driver_sql("SET LOCAL row_security = off")
        connection.exec_driver_sql("SELECT * FROM rls_probe_note")
