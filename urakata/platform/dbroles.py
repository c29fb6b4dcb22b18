"""Database roles: the guard that keeps isolation on, and the bootstrap of roles.

The app connects as a role that owns nothing, is not superuser and has no BYPASSRLS.
On a machine where the obvious URL is a superuser, RLS would silently be off, so the app
refuses to start instead.
"""

from __future__ import annotations

import contextlib
import re

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, ProgrammingError

from urakata.platform.db import make_engine, normalise_url

ROLE_NAME_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class UnsafeDatabaseRole(RuntimeError):
    """The app's database role could read past row-level security."""


def check_app_role(engine: Engine) -> None:
    """Raise :class:`UnsafeDatabaseRole` unless the connected role is safe for the app."""
    with engine.connect() as conn:
        role = conn.execute(
            text(
                "SELECT current_user AS name, rolsuper, rolbypassrls"
                " FROM pg_roles WHERE rolname = current_user"
            )
        ).one()
        owned = (
            conn.execute(
                text(
                    "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                    " WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')"
                    " AND n.nspname NOT LIKE 'pg_toast%'"
                    " AND c.relkind IN ('r', 'p', 'v', 'm', 'S')"
                    " AND pg_has_role(current_user, c.relowner, 'USAGE')"
                    " ORDER BY 1 LIMIT 5"
                )
            )
            .scalars()
            .all()
        )
    problems = []
    if role.rolsuper:
        problems.append("is a superuser")
    if role.rolbypassrls:
        problems.append("has BYPASSRLS")
    if owned:
        problems.append(f"owns (or is a member of the owner of) tables: {', '.join(owned)}")
    if problems:
        raise UnsafeDatabaseRole(
            f"refusing to start: database role {role.name!r} "
            + "; ".join(problems)
            + ". Row-level security would not isolate shops. Point DATABASE_URL at the"
            " application role (see README, 'Database roles')."
        )


def _ident(name: str) -> str:
    if not ROLE_NAME_RE.match(name):
        raise ValueError(f"invalid role or database name {name!r}")
    return f'"{name}"'


def bootstrap_database(
    admin_url: str,
    database: str,
    owner_role: str = "urakata_owner",
    app_role: str = "urakata_app",
    *,
    recreate: bool = False,
) -> tuple[str, str]:
    """Create the owner and app roles and the database, using a superuser URL.

    Returns ``(owner_url, app_url)``, the admin URL with user and database swapped.
    Passwordless: meant for local servers with trust or peer authentication (the demo
    and the tests). Production creates roles with passwords (docker/postgres-init).
    """
    admin = normalise_url(admin_url)
    engine = make_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            for role in (owner_role, app_role):
                exists = conn.execute(
                    text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}
                ).scalar()
                if not exists:
                    # A concurrent bootstrap (parallel test runs) may create it meanwhile.
                    with contextlib.suppress(IntegrityError, ProgrammingError):
                        conn.exec_driver_sql(
                            f"CREATE ROLE {_ident(role)} LOGIN NOSUPERUSER NOBYPASSRLS"
                            " NOCREATEDB NOCREATEROLE"
                        )
            if recreate:
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {_ident(database)} WITH (FORCE)")
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": database}
            ).scalar()
            if not exists:
                conn.exec_driver_sql(
                    f"CREATE DATABASE {_ident(database)} OWNER {_ident(owner_role)}"
                    " ENCODING 'UTF8' TEMPLATE template0"
                )
        db_engine = make_engine(admin.set(database=database), isolation_level="AUTOCOMMIT")
        try:
            with db_engine.connect() as conn:
                conn.exec_driver_sql("REVOKE ALL ON SCHEMA public FROM PUBLIC")
                conn.exec_driver_sql(f"ALTER SCHEMA public OWNER TO {_ident(owner_role)}")
                conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA public TO {_ident(app_role)}")
                conn.exec_driver_sql(
                    f"GRANT CONNECT ON DATABASE {_ident(database)} TO {_ident(app_role)}"
                )
        finally:
            db_engine.dispose()
    finally:
        engine.dispose()
    owner_url = admin.set(username=owner_role, password=None, database=database)
    app_url = admin.set(username=app_role, password=None, database=database)
    return (
        owner_url.render_as_string(hide_password=False),
        app_url.render_as_string(hide_password=False),
    )


def drop_database(admin_url: str, database: str) -> None:
    engine = make_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {_ident(database)} WITH (FORCE)")
    finally:
        engine.dispose()
