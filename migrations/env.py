"""Alembic environment: runs as the owner role (MIGRATE_DATABASE_URL), never as the app."""

import os

from alembic import context
from sqlalchemy import pool

from urakata.model_registry import metadata
from urakata.platform.db import make_engine

config = context.config
x_args = context.get_x_argument(as_dictionary=True)
if "app_role" in x_args:
    config.attributes["app_role"] = x_args["app_role"]
config.attributes.setdefault("app_role", os.environ.get("URAKATA_APP_ROLE", "urakata_app"))


def _url() -> str:
    url = config.attributes.get("url") or os.environ.get("MIGRATE_DATABASE_URL")
    if not url:
        raise SystemExit("MIGRATE_DATABASE_URL (the owner role's URL) is required to migrate")
    return url


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=metadata)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(_url(), poolclass=pool.NullPool)
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=metadata)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
