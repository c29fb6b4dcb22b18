"""Helpers for Alembic revisions: row-level security and grants for the app role.

Every tenant table is created with :func:`enable_tenant_rls`; the catalog test fails for a
table with ``tenant_id`` that skipped it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

from alembic import op

_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
DEFAULT_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE"
TENANT_PREDICATE = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid"


def _ident(name: str) -> str:
    if not _IDENT.match(name):
        raise ValueError(f"invalid identifier {name!r}")
    return f'"{name}"'


def app_role() -> str:
    """The application role named by env.py (``-x app_role=…`` or ``URAKATA_APP_ROLE``)."""
    ctx = op.get_context()
    role = ctx.config.attributes.get("app_role") if ctx.config is not None else None
    return role or os.environ.get("URAKATA_APP_ROLE", "urakata_app")


def grant_statement(table: str, role: str, privileges: str) -> str:
    if not re.fullmatch(r"[A-Z, ]+", privileges):
        raise ValueError(f"invalid privileges {privileges!r}")
    return f"GRANT {privileges} ON {_ident(table)} TO {_ident(role)}"


def tenant_rls_statements(table: str, role: str, privileges: str = DEFAULT_PRIVILEGES) -> list[str]:
    """ENABLE + FORCE row-level security with the one tenant policy, then the grant."""
    t = _ident(table)
    return [
        f"ALTER TABLE {t} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {t} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY tenant_isolation ON {t} "
        f"USING ({TENANT_PREDICATE}) WITH CHECK ({TENANT_PREDICATE})",
        grant_statement(table, role, privileges),
    ]


def grant_app(table: str, privileges: str = DEFAULT_PRIVILEGES) -> None:
    op.execute(grant_statement(table, app_role(), privileges))


def grant_sequence_usage(sequence: str, revoke: bool = False) -> None:
    """Let the app role call ``nextval`` on ``sequence`` (or take that back)."""
    if revoke:
        op.execute(f"REVOKE USAGE ON SEQUENCE {_ident(sequence)} FROM {_ident(app_role())}")
    else:
        op.execute(f"GRANT USAGE ON SEQUENCE {_ident(sequence)} TO {_ident(app_role())}")


def enable_tenant_rls(table: str, privileges: str = DEFAULT_PRIVILEGES) -> None:
    for statement in tenant_rls_statements(table, app_role(), privileges):
        op.execute(statement)


def each_tenant() -> Iterator[str]:
    """Yield each tenant id with ``app.tenant_id`` set to it, for data migrations.

    FORCE RLS binds the owner role too, so a data migration writes one shop at a time.
    """
    conn = op.get_bind()
    tenant_ids = [str(r[0]) for r in conn.exec_driver_sql("SELECT id FROM tenant ORDER BY id")]
    for tenant_id in tenant_ids:
        conn.exec_driver_sql(f"SET LOCAL app.tenant_id = '{tenant_id}'")
        yield tenant_id
    conn.exec_driver_sql("SET LOCAL app.tenant_id = ''")
