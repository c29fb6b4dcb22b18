"""Isolation checks read from pg_catalog: what a migration forgot, named table by table.

Run by the test suite on the migrated schema and by ``urakata check-db`` in operations.
Every table is either named in ``PLATFORM_TABLES`` or is tenant-owned, and a tenant-owned
table has ``tenant_id`` leading its keys, RLS enabled and forced, and the tenant policy.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

from urakata.platform.tenancy import PLATFORM_TABLES

POLICY_PREDICATE = "current_setting('app.tenant_id'::text, true)"


def _tables(conn: Connection) -> dict[str, dict]:
    rows = conn.execute(
        text(
            "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,"
            " EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid"
            "         AND a.attname = 'tenant_id' AND NOT a.attisdropped) AS has_tenant"
            " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')"
        )
    ).mappings()
    return {r["relname"]: dict(r) for r in rows}


def _rls_problems(conn: Connection, tables: dict[str, dict]) -> list[str]:
    policies: dict[str, list] = {}
    for row in conn.execute(
        text("SELECT tablename, qual, with_check, cmd FROM pg_policies WHERE schemaname='public'")
    ):
        policies.setdefault(row.tablename, []).append(row)
    problems = []
    for name, t in sorted(tables.items()):
        if name in PLATFORM_TABLES:
            if t["has_tenant"]:
                problems.append(f"{name}: a platform table must call its shop column shop_id")
            continue
        if not t["has_tenant"]:
            problems.append(f"{name}: has no tenant_id and is not a named platform table")
            continue
        if not (t["relrowsecurity"] and t["relforcerowsecurity"]):
            problems.append(f"{name}: row-level security is not enabled and forced")
        table_policies = policies.get(name, [])
        if len(table_policies) != 1:
            problems.append(f"{name}: expected one tenant policy, found {len(table_policies)}")
            continue
        policy = table_policies[0]
        for clause in ("qual", "with_check"):
            if POLICY_PREDICATE not in (getattr(policy, clause) or ""):
                problems.append(f"{name}: policy {clause} does not compare app.tenant_id")
        if policy.cmd != "ALL":
            problems.append(f"{name}: the policy covers {policy.cmd}, not ALL")
    return problems


def _key_problems(conn: Connection, tables: dict[str, dict]) -> list[str]:
    problems = []
    indexes = conn.execute(
        text(
            "SELECT t.relname, i.relname, x.indisunique,"
            " array_agg(a.attname ORDER BY k.ord) AS cols"
            " FROM pg_index x JOIN pg_class t ON t.oid = x.indrelid"
            " JOIN pg_class i ON i.oid = x.indexrelid"
            " JOIN pg_namespace n ON n.oid = t.relnamespace"
            " CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, ord)"
            " LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum"
            " WHERE n.nspname = 'public'"
            " GROUP BY t.relname, i.relname, x.indisunique"
        )
    )
    for table, index, unique, cols in indexes:
        if not tables.get(table, {}).get("has_tenant"):
            continue
        if unique and "tenant_id" not in cols:
            problems.append(f"{table}.{index}: unique index lacks tenant_id")
        elif cols[0] != "tenant_id":
            kind = "unique index" if unique else "index"
            problems.append(f"{table}.{index}: {kind} does not lead with tenant_id")
    fks = conn.execute(
        text(
            "SELECT con.conname, src.relname, dst.relname,"
            " (SELECT attname FROM pg_attribute WHERE attrelid = con.conrelid"
            "  AND attnum = con.conkey[1])"
            " FROM pg_constraint con JOIN pg_class src ON src.oid = con.conrelid"
            " JOIN pg_class dst ON dst.oid = con.confrelid"
            " JOIN pg_namespace n ON n.oid = src.relnamespace"
            " WHERE con.contype = 'f' AND n.nspname = 'public'"
        )
    )
    for name, src, dst, first in fks:
        if tables[dst]["has_tenant"] and first != "tenant_id":
            problems.append(f"{src}.{name}: foreign key to {dst} does not lead with tenant_id")
    return problems


def _role_problems(conn: Connection, app_role: str) -> list[str]:
    role = conn.execute(
        text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = :r"), {"r": app_role}
    ).one_or_none()
    if role is None:
        return [f"role {app_role}: does not exist"]
    problems = []
    if role.rolsuper:
        problems.append(f"role {app_role}: is a superuser")
    if role.rolbypassrls:
        problems.append(f"role {app_role}: has BYPASSRLS")
    owned = (
        conn.execute(
            text(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = 'public' AND pg_has_role(:r, c.relowner, 'USAGE')"
            ),
            {"r": app_role},
        )
        .scalars()
        .all()
    )
    if owned:
        problems.append(f"role {app_role}: owns {', '.join(sorted(owned))}")
    return problems


def isolation_problems(conn: Connection, app_role: str = "urakata_app") -> list[str]:
    """Every way the schema or the app role falls short of DESIGN §4; [] when none."""
    tables = _tables(conn)
    return (
        _rls_problems(conn, tables) + _key_problems(conn, tables) + _role_problems(conn, app_role)
    )
