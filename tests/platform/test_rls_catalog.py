"""The database catalog proves isolation is on for every tenant table, now and later."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import ProgrammingError

from urakata.model_registry import metadata
from urakata.platform.catalog import isolation_problems
from urakata.platform.db import Base, TenantOwned
from urakata.platform.migration_support import tenant_rls_statements
from urakata.platform.tenancy import PLATFORM_TABLES


def test_the_migrated_schema_has_no_isolation_problem(admin_engine):
    with admin_engine.connect() as conn:
        assert isolation_problems(conn) == []


def test_the_check_names_each_kind_of_mistake(admin_engine):
    """Plant every mistake in one rolled-back transaction; each must be reported."""
    with admin_engine.connect() as conn, conn.begin() as trans:
        conn.exec_driver_sql("CREATE TABLE no_tenant (id int PRIMARY KEY)")
        conn.exec_driver_sql(
            "CREATE TABLE no_rls (tenant_id uuid, id int, sku text, PRIMARY KEY (tenant_id, id))"
        )
        conn.exec_driver_sql("CREATE UNIQUE INDEX no_rls_sku ON no_rls (sku)")
        conn.exec_driver_sql(
            "CREATE TABLE bad_fk (tenant_id uuid, id int, parent int, PRIMARY KEY (tenant_id, id))"
        )
        for statement in tenant_rls_statements("bad_fk", "urakata_app"):
            conn.exec_driver_sql(statement)
        conn.exec_driver_sql("CREATE UNIQUE INDEX no_rls_id ON no_rls (id)")
        conn.exec_driver_sql("ALTER TABLE bad_fk ADD FOREIGN KEY (parent) REFERENCES no_rls (id)")
        conn.exec_driver_sql("ALTER ROLE urakata_app BYPASSRLS")
        problems = isolation_problems(conn)
        trans.rollback()
    text = "\n".join(problems)
    assert "no_tenant: has no tenant_id" in text
    assert "no_rls: row-level security is not enabled and forced" in text
    assert "no_rls.no_rls_sku: unique index lacks tenant_id" in text
    assert "foreign key to no_rls does not lead with tenant_id" in text
    assert "role urakata_app: has BYPASSRLS" in text


def test_every_model_is_either_a_platform_table_or_tenant_owned():
    for table in metadata.sorted_tables:
        mappers = [m for m in Base.registry.mappers if table in m.tables]
        tenant_owned = any(issubclass(m.class_, TenantOwned) for m in mappers)
        if table.name in PLATFORM_TABLES:
            assert not tenant_owned, f"{table.name} is named a platform table but is TenantOwned"
        else:
            assert tenant_owned, f"{table.name} is neither a platform table nor TenantOwned"
            assert next(iter(table.primary_key.columns)).name == "tenant_id", table.name


def test_the_app_role_cannot_create_tables(connection):
    with pytest.raises(ProgrammingError, match="permission denied"), connection.begin_nested():
        connection.exec_driver_sql("CREATE TABLE sneaky (id int)")
