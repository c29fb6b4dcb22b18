"""``urakata audit verify``, run as a real process against the test database.

The shared test database may hold other chains (the agency's, other tests' committed
shops); these tests look only at the shop they create, and remove it afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text

from urakata.platform import audit
from urakata.platform.audit import Actor
from urakata.platform.db import Database

ROOT = Path(__file__).resolve().parents[1]
EVENTS = 12
CLERK = Actor(type="user", id=str(uuid.uuid4()), label="監査 一郎", request_id="r-cli", ip="")


@dataclass(frozen=True)
class Shop:
    id: uuid.UUID
    slug: str


@pytest.fixture
def shop(test_database, admin_engine):
    """A committed shop with a 12-event chain, written through the application role."""
    chain = uuid.uuid4()
    created = Shop(chain, f"cli-{chain.hex[:12]}")
    db = Database.from_url(test_database.app_url)
    try:
        with admin_engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO tenant (id, slug, name, timezone, status, created_at)"
                    " VALUES (:id, :slug, '監査テスト', 'Asia/Tokyo', 'active', now())"
                ),
                {"id": created.id, "slug": created.slug},
            )
        for n in range(EVENTS):
            with db.tenant_session(created.id) as s:
                audit.record(
                    s,
                    CLERK,
                    "order.shipped",
                    object_type="order",
                    object_id=f"o-{n}",
                    changes={"status": ("paid", "shipped")},
                )
        yield created
    finally:
        db.dispose()
        with admin_engine.begin() as conn:
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
            conn.execute(text("DELETE FROM audit_event WHERE tenant_id = :c"), {"c": chain})
            conn.execute(text("DELETE FROM chain_head WHERE tenant_id = :c"), {"c": chain})
            conn.execute(text("DELETE FROM tenant WHERE id = :c"), {"c": chain})


def _tamper_with_event(admin_engine, chain: uuid.UUID, seq: int) -> None:
    """As the superuser with the append-only triggers off: ``"paid"`` becomes ``"Xaid"``."""
    with admin_engine.begin() as conn:
        conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        conn.execute(
            text(
                "UPDATE audit_event SET body = overlay(body PLACING 'X'::bytea"
                " FROM position('\"paid\"'::bytea IN body) + 1 FOR 1)"
                " WHERE tenant_id = :c AND seq = :seq"
            ),
            {"c": chain, "seq": seq},
        )


def run_verify(test_database, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": test_database.app_url, "URAKATA_MODE": "test"}
    return subprocess.run(
        [sys.executable, "-m", "urakata.cli", "audit", "verify", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_every_chain_of_a_good_database_is_ok(test_database, shop):
    result = run_verify(test_database)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert any(line.startswith("agency: ok, ") for line in lines), result.stdout
    assert f"{shop.slug}: ok, {EVENTS} events (head seq {EVENTS})" in lines
    assert lines[-1].endswith("; 0 failed")


def test_one_shop_is_verified_alone(test_database, shop):
    result = run_verify(test_database, "--shop", shop.slug)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"{shop.slug}: ok, {EVENTS} events (head seq {EVENTS})"
    assert lines[-1].startswith(f"1 chain, {EVENTS} events verified in ")


def test_a_tampered_event_fails_with_its_seq(test_database, admin_engine, shop):
    _tamper_with_event(admin_engine, shop.id, seq=7)
    failed = f"{shop.slug}: FAILED at seq 7: hash does not match the event's bytes"

    alone = run_verify(test_database, "--shop", shop.slug)
    assert alone.returncode == 1, alone.stdout + alone.stderr
    assert failed in alone.stdout.splitlines()
    assert alone.stdout.splitlines()[-1].endswith("; 1 failed")

    everything = run_verify(test_database)
    assert everything.returncode == 1, everything.stdout + everything.stderr
    assert failed in everything.stdout.splitlines()


def test_an_unknown_shop_exits_2(test_database):
    slug = f"no-such-shop-{uuid.uuid4().hex[:8]}"
    result = run_verify(test_database, "--shop", slug)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"no shop {slug!r}" in result.stderr
    assert result.stdout == ""
