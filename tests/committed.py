"""Shops whose rows are really committed, for tests of transactions racing (the per-test
SAVEPOINT cannot show two of them), and their removal afterwards."""

from __future__ import annotations

import time
import uuid

from sqlalchemy import text

WAITING = text(
    "SELECT l.locktype FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
    " WHERE NOT l.granted AND a.datname = current_database() ORDER BY 1"
)


def insert_shop(admin_engine, name: str, slug_prefix: str = "race") -> uuid.UUID:
    """A committed ``tenant`` row of its own (its settings, catalog… are the caller's)."""
    shop_id = uuid.uuid4()
    with admin_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO tenant (id, slug, name, timezone, status, created_at)"
                " VALUES (:id, :slug, :name, 'Asia/Tokyo', 'active', now())"
            ),
            {"id": shop_id, "slug": f"{slug_prefix}-{shop_id.hex[:12]}", "name": name},
        )
    return shop_id


def remove_shop(admin_engine, shop_id: uuid.UUID) -> None:
    """Delete every row of the shop (as the superuser, past row-level security)."""
    with admin_engine.begin() as conn:
        # Replica mode skips the ledger's append-only triggers and the foreign keys.
        conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        owned = conn.execute(
            text(
                "SELECT table_name, column_name FROM information_schema.columns"
                " WHERE table_schema = 'public' AND column_name IN ('tenant_id', 'shop_id')"
            )
        ).all()
        for table, column in owned:
            conn.execute(text(f'DELETE FROM "{table}" WHERE {column} = :id'), {"id": shop_id})
        conn.execute(text("DELETE FROM tenant WHERE id = :id"), {"id": shop_id})


def wait_for_waiters(admin_engine, expected: list[str], deadline: float) -> list[str]:
    """The lock types sessions of this database wait on, once they are ``expected`` (sorted)
    or the deadline passed."""
    while True:
        with admin_engine.connect() as conn:
            waiting = list(conn.execute(WAITING).scalars())
        if waiting == expected or time.monotonic() > deadline:
            return waiting
        time.sleep(0.02)
