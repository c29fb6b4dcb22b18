"""Tampering drills on real 10,000-event chains: each forgery is caught at its first bad seq.

Every drill gets its own freshly built chain, committed through the application role. The
forger is the superuser with ``session_replication_role = replica`` (which turns the
append-only triggers off) and commits; the verifier reads through the application role, as
``urakata audit verify`` does. Each chain and its shop row are removed afterwards.
"""

from __future__ import annotations

import ast
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from urakata.platform import audit, ledger
from urakata.platform.audit import Actor, PendingEvent
from urakata.platform.db import Database

EVENTS = 10_000
BATCH = 2_500
CLERK = Actor(
    type="user", id=str(uuid.uuid4()), label="出荷 花子", request_id="r-tamper", ip="192.0.2.7"
)


def _create_shop(admin_engine: Engine, chain: uuid.UUID) -> None:
    with admin_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO tenant (id, slug, name, timezone, status, created_at)"
                " VALUES (:id, :slug, 'tamper drill', 'Asia/Tokyo', 'active', now())"
            ),
            {"id": chain, "slug": f"t-{chain.hex[:12]}"},
        )


def _fill(db: Database, chain: uuid.UUID, count: int) -> None:
    """``count`` shipments, appended in committed batches as an import would."""
    for start in range(0, count, BATCH):
        with db.tenant_session(chain) as s:
            audit.record_many(
                s,
                CLERK,
                [
                    PendingEvent(
                        "order.shipped",
                        "order",
                        f"o-{n}",
                        changes={"status": ("paid", "shipped")},
                        data={"parcels": n % 3 + 1},
                    )
                    for n in range(start, min(start + BATCH, count))
                ],
            )


def _remove(admin_engine: Engine, chain: uuid.UUID) -> None:
    with admin_engine.begin() as conn:
        conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        conn.execute(text("DELETE FROM audit_event WHERE tenant_id = :c"), {"c": chain})
        conn.execute(text("DELETE FROM chain_head WHERE tenant_id = :c"), {"c": chain})
        conn.execute(text("DELETE FROM tenant WHERE id = :c"), {"c": chain})


def _built_chain(app_db: Database, admin_engine: Engine):
    chain = uuid.uuid4()
    try:
        _create_shop(admin_engine, chain)
        _fill(app_db, chain, EVENTS)
        yield chain
    finally:
        _remove(admin_engine, chain)


@pytest.fixture(scope="module")
def app_db(test_database):
    db = Database.from_url(test_database.app_url)
    yield db
    db.dispose()


@pytest.fixture(scope="module")
def other_chain(app_db, admin_engine):
    """A second shop's chain, the source of copied events; never tampered with."""
    yield from _built_chain(app_db, admin_engine)


@pytest.fixture
def chain(app_db, admin_engine):
    """The chain under attack: fresh for every drill."""
    yield from _built_chain(app_db, admin_engine)


@dataclass(frozen=True)
class Forger:
    """The superuser with the triggers off; every statement is committed."""

    engine: Engine
    chain: uuid.UUID

    def run(self, sql: str, **params) -> None:
        with self.engine.begin() as conn:
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
            conn.execute(text(sql), {"chain": self.chain, **params})

    def hash_of(self, seq: int) -> bytes:
        with self.engine.connect() as conn:
            return conn.execute(
                text("SELECT hash FROM audit_event WHERE tenant_id = :chain AND seq = :seq"),
                {"chain": self.chain, "seq": seq},
            ).scalar_one()


@pytest.fixture
def forger(chain, admin_engine) -> Forger:
    return Forger(admin_engine, chain)


@pytest.fixture
def verify(app_db, chain):
    return lambda: audit.verify_chain(app_db, chain)


def assert_fails_at(verdict: ledger.Verdict, seq: int, reason: str) -> None:
    assert not verdict.ok, str(verdict)
    assert verdict.bad_seq == seq, str(verdict)
    assert reason in verdict.reason, str(verdict)


def test_an_untouched_chain_verifies(verify):
    verdict = verify()
    assert verdict.ok, str(verdict)
    assert (verdict.count, verdict.last_seq) == (EVENTS, EVENTS)


REHASH = (
    "UPDATE audit_event SET hash = sha256('\\x00'::bytea || uuid_send(tenant_id)"
    " || int8send(seq) || prev_hash || body) WHERE tenant_id = :chain AND seq = :seq"
)


def _change_one_byte(forger: Forger, seq: int) -> None:
    """``"paid"`` becomes ``"Xaid"``: still canonical JSON that matches its columns."""
    forger.run(
        "UPDATE audit_event SET body = overlay(body PLACING 'X'::bytea"
        " FROM position('\"paid\"'::bytea IN body) + 1 FOR 1)"
        " WHERE tenant_id = :chain AND seq = :seq",
        seq=seq,
    )


def test_one_changed_byte_in_a_body_breaks_its_hash(forger, verify):
    _change_one_byte(forger, 5000)
    assert_fails_at(verify(), 5000, "hash does not match")


def test_a_changed_body_with_a_recomputed_hash_breaks_the_next_link(forger, verify):
    _change_one_byte(forger, 5000)
    forger.run(REHASH, seq=5000)
    assert_fails_at(verify(), 5001, "prev_hash does not match")


def test_a_deleted_event_shows_as_a_gap(forger, verify):
    forger.run("DELETE FROM audit_event WHERE tenant_id = :chain AND seq = 5000")
    assert_fails_at(verify(), 5001, "expected seq 5000")


def test_two_events_with_swapped_seq_break_the_link(forger, verify):
    forger.run("UPDATE audit_event SET seq = -1 WHERE tenant_id = :chain AND seq = 5000")
    forger.run("UPDATE audit_event SET seq = 5000 WHERE tenant_id = :chain AND seq = 5001")
    forger.run("UPDATE audit_event SET seq = 5001 WHERE tenant_id = :chain AND seq = -1")
    assert_fails_at(verify(), 5000, "prev_hash does not match")


def _copy_from(forger: Forger, other: uuid.UUID, seq: int) -> None:
    forger.run(
        "UPDATE audit_event a SET occurred_at = b.occurred_at, actor_type = b.actor_type,"
        " actor_id = b.actor_id, action = b.action, object_type = b.object_type,"
        " object_id = b.object_id, body = b.body, prev_hash = b.prev_hash, hash = b.hash"
        " FROM audit_event b WHERE a.tenant_id = :chain AND a.seq = :seq"
        " AND b.tenant_id = :other AND b.seq = :seq",
        other=other,
        seq=seq,
    )


def test_an_event_copied_from_another_chain_breaks_the_link(forger, verify, other_chain):
    _copy_from(forger, other_chain, 7000)
    assert_fails_at(verify(), 7000, "prev_hash does not match")


def test_a_copied_event_relinked_and_rehashed_still_names_its_own_chain(
    forger, verify, other_chain
):
    _copy_from(forger, other_chain, 7000)
    forger.run(
        "UPDATE audit_event SET prev_hash = :prev WHERE tenant_id = :chain AND seq = 7000",
        prev=forger.hash_of(6999),
    )
    forger.run(REHASH, seq=7000)
    assert_fails_at(verify(), 7000, "column chain does not match the body")


def test_a_column_changed_without_its_body_is_caught(forger, verify):
    forger.run(
        "UPDATE audit_event SET action = 'order.cancelled' WHERE tenant_id = :chain AND seq = 3000"
    )
    assert_fails_at(verify(), 3000, "column action does not match the body")


def test_a_truncated_tail_is_caught_by_the_chain_head(forger, verify):
    forger.run("DELETE FROM audit_event WHERE tenant_id = :chain AND seq > :keep", keep=EVENTS - 10)
    verdict = verify()
    assert_fails_at(verdict, EVENTS - 9, f"chain head says seq {EVENTS}")
    assert verdict.count == EVENTS - 10


def test_a_prev_hash_relinked_to_skip_an_event_is_caught(forger, verify):
    forger.run(
        "UPDATE audit_event SET prev_hash = :prev WHERE tenant_id = :chain AND seq = 5001",
        prev=forger.hash_of(4999),
    )
    assert_fails_at(verify(), 5001, "prev_hash does not match")


def test_an_event_cut_out_and_the_rest_renumbered_breaks_the_hash(forger, verify):
    """Delete 5000, relink 5001 to 4999 and close the gap: seq is part of the hash."""
    forger.run(
        "UPDATE audit_event SET prev_hash = :prev WHERE tenant_id = :chain AND seq = 5001",
        prev=forger.hash_of(4999),
    )
    forger.run("DELETE FROM audit_event WHERE tenant_id = :chain AND seq = 5000")
    forger.run("UPDATE audit_event SET seq = -seq WHERE tenant_id = :chain AND seq > 5000")
    forger.run("UPDATE audit_event SET seq = -seq - 1 WHERE tenant_id = :chain AND seq < 0")
    assert_fails_at(verify(), 5000, "hash does not match")


def test_the_standalone_verifier_imports_only_the_standard_library():
    source = Path(ledger.__file__).read_text(encoding="utf-8")
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"relative import at line {node.lineno}"
            imported.add(node.module.split(".")[0])
    assert "urakata" not in imported
    assert imported <= sys.stdlib_module_names, imported - sys.stdlib_module_names


def test_verify_chain_works_in_a_session_joined_to_the_tests_transaction(db):
    chain = uuid.uuid4()
    with db.session() as s, s.begin():
        audit.record(s, CLERK, "shop.viewed", object_type="shop", chain_id=chain)
    verdict = audit.verify_chain(db, chain)
    assert (verdict.ok, verdict.count) == (True, 1), str(verdict)


def test_an_append_while_verifying_is_not_reported_as_tampering(app_db, admin_engine, monkeypatch):
    small = uuid.uuid4()
    _create_shop(admin_engine, small)
    try:
        _fill(app_db, small, 5)
        real_verify_events = ledger.verify_events

        def verify_then_append(chain_id, rows):
            verdict = real_verify_events(chain_id, rows)
            with app_db.tenant_session(chain_id) as s:  # a shop clerk ships an order meanwhile
                audit.record(s, CLERK, "order.shipped", object_type="order", object_id="o-late")
            return verdict

        monkeypatch.setattr(ledger, "verify_events", verify_then_append)
        verdict = audit.verify_chain(app_db, small)
    finally:
        _remove(admin_engine, small)
    assert verdict.ok, str(verdict)


@pytest.mark.parametrize("price", ["1.5", "NaN"])
def test_a_body_with_a_float_or_nan_is_refused(price):
    """The spec allows no floats, and NaN is not JSON; neither may pass as canonical."""
    chain = uuid.uuid4()
    at = "2026-11-01T00:00:00.000000Z"
    payload = {
        "v": 1,
        "chain": str(chain),
        "occurred_at": at,
        "actor": {"type": "system", "id": "", "label": ""},
        "action": "order.priced",
        "object": {"type": "order", "id": "o-1"},
        "changes": {},
        "data": {"price": "?"},
        "request_id": "",
        "ip": "",
    }
    body = audit.canonical_json(payload).replace(b'"?"', price.encode())
    row = {
        "seq": 1,
        "occurred_at": at,
        "actor_type": "system",
        "actor_id": "",
        "action": "order.priced",
        "object_type": "order",
        "object_id": "o-1",
        "body": body,
        "prev_hash": audit.ZERO_HASH,
        "hash": audit.event_hash(chain, 1, audit.ZERO_HASH, body),
    }
    assert not ledger.verify_events(chain, [row]).ok
