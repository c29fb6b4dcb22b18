"""The audit ledger: appends, chain integrity, append-only enforcement, concurrency."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime

import psycopg
import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from tests.committed import insert_shop
from urakata.platform import audit
from urakata.platform.audit import AGENCY_CHAIN_ID, Actor, AuditEvent, PendingEvent
from urakata.platform.db import Database, TenantRebind
from urakata.platform.ledger import COLUMNS, verify_events

ALICE = Actor(
    type="user", id=str(uuid.uuid4()), label="検証 太郎", request_id="r-1", ip="192.0.2.1"
)


def _events(db, chain_id):
    with db.tenant_session(chain_id) as s:
        return s.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()


def test_events_chain_and_verify(db, world):
    with db.tenant_session(world.shop_a.id) as s:
        first = audit.record(
            s,
            ALICE,
            "shop.renamed",
            object_type="shop",
            object_id=world.shop_a.id,
            changes={"name": ("旧", "新")},
        )
        second = audit.record(
            s, ALICE, "shop.viewed", object_type="shop", object_id=world.shop_a.id
        )
    assert second.seq == first.seq + 1
    events = _events(db, world.shop_a.id)
    assert events[0].seq == 1 and events[0].action == "shop.onboarded"
    assert audit.event_hash(world.shop_a.id, 1, bytes(32), events[0].body) == events[0].hash
    mine = [e for e in events if e.seq == first.seq][0]
    assert events[first.seq].prev_hash == mine.hash
    body = mine.payload
    assert body["changes"] == {"name": ["旧", "新"]}
    assert body["actor"] == {"type": "user", "id": ALICE.id, "label": "検証 太郎"}
    assert (body["request_id"], body["ip"]) == ("r-1", "192.0.2.1")
    assert verify_events(world.shop_a.id, [_row(e) for e in events]).ok


def _row(e: AuditEvent) -> dict:
    return {c: getattr(e, c) for c in COLUMNS}


def test_each_shop_has_its_own_chain_and_cannot_read_the_others(db, world):
    with db.tenant_session(world.shop_a.id) as s:
        audit.record(s, ALICE, "a.thing", object_type="shop")
    with db.tenant_session(world.shop_b.id) as s:
        audit.record(s, ALICE, "b.thing", object_type="shop")
        actions = [e.action for e in s.scalars(select(AuditEvent))]
        chains = set(s.scalars(select(AuditEvent.tenant_id)))
    assert "b.thing" in actions and "a.thing" not in actions
    assert chains == {world.shop_b.id}
    with db.tenant_session(world.shop_b.id) as s, pytest.raises(TenantRebind):
        audit.record(s, ALICE, "x", object_type="shop", chain_id=world.shop_a.id)


def test_agency_events_go_to_the_agency_chain(db):
    with db.session() as s, s.begin():
        rec = audit.record(s, ALICE, "staff.invited", object_type="user", chain_id=AGENCY_CHAIN_ID)
    assert rec.chain_id == AGENCY_CHAIN_ID and rec.seq >= 1


def test_floats_are_refused(db, world):
    with pytest.raises(TypeError), db.tenant_session(world.shop_a.id) as s:
        audit.record(s, ALICE, "x", object_type="y", data={"price": 1.5})


def test_record_many_continues_the_chain(db, world):
    with db.tenant_session(world.shop_a.id) as s:
        audit.record(s, ALICE, "one", object_type="x")
        audit.record_many(s, ALICE, [PendingEvent("bulk", "row", n) for n in range(5)])
        audit.record(s, ALICE, "after", object_type="x")
    events = _events(db, world.shop_a.id)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert [e.action for e in events[-7:]] == ["one"] + ["bulk"] * 5 + ["after"]
    assert verify_events(world.shop_a.id, [_row(e) for e in events]).ok


def test_a_batch_body_is_the_body_one_event_would_have(db, world):
    when = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
    event = PendingEvent(
        "product.imported",
        "product",
        7,
        {"price_yen": (800, 900), "sale_starts_at": (None, when), "barcodes": ([], ["X1"])},
        {"row": 3, "task": "t-1"},
    )
    occurred = datetime(2026, 11, 27, 3, 4, 5, 678901, tzinfo=UTC)
    single = audit._body(
        world.shop_a.id, occurred, ALICE, event.action, "product", 7, event.changes, event.data
    )
    assert audit._bodies(world.shop_a.id, occurred, ALICE, [event]) == [single]


def test_a_batch_with_a_float_writes_nothing(db, world):
    with db.tenant_session(world.shop_a.id) as s:
        audit.record(s, ALICE, "before", object_type="x")
    events = [PendingEvent("bulk", "row", 1), PendingEvent("bulk", "row", 2, data={"w": 0.5})]
    with pytest.raises(TypeError), db.tenant_session(world.shop_a.id) as s:
        audit.record_many(s, ALICE, events)
    assert [e.action for e in _events(db, world.shop_a.id)][-1] == "before"


def test_a_statement_alongside_runs_in_the_same_transaction(db, world):
    """``alongside`` runs on the session's own connection: it sees the shop binding and
    its writes commit or roll back with the events."""
    seen = []

    def alongside(connection):
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('app.tenant_id')")
            seen.append(cursor.fetchone()[0])

    with db.tenant_session(world.shop_a.id) as s:
        recorded = audit.record_many(
            s, ALICE, [PendingEvent("bulk", "row", n) for n in range(40)], alongside=alongside
        )
    assert seen == [str(world.shop_a.id)] and len(recorded) == 40


def test_a_failing_statement_alongside_writes_no_event(db, world):
    with db.tenant_session(world.shop_a.id) as s:
        audit.record(s, ALICE, "before", object_type="x")

    def alongside(connection):
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 / 0")

    one = [PendingEvent("bulk", "row", 1)]
    with (
        pytest.raises(psycopg.errors.DivisionByZero, match="division by zero"),
        db.tenant_session(world.shop_a.id) as s,
    ):
        audit.record_many(s, ALICE, one, alongside=alongside)
    assert [e.action for e in _events(db, world.shop_a.id)][-1] == "before"


def test_a_rolled_back_transaction_leaves_no_gap(db, world):
    with db.tenant_session(world.shop_a.id) as s:
        audit.record(s, ALICE, "kept", object_type="x")
    with pytest.raises(RuntimeError), db.tenant_session(world.shop_a.id) as s:
        audit.record(s, ALICE, "lost", object_type="x")
        raise RuntimeError("the change failed")
    with db.tenant_session(world.shop_a.id) as s:
        audit.record(s, ALICE, "next", object_type="x")
    events = _events(db, world.shop_a.id)
    assert [e.action for e in events[-2:]] == ["kept", "next"]
    assert events[-1].seq == events[-2].seq + 1


def test_history_lists_one_objects_events_newest_first(db, world):
    with db.tenant_session(world.shop_a.id) as s:
        for n in range(3):
            audit.record(s, ALICE, f"edit.{n}", object_type="settings", object_id="s1")
        audit.record(s, ALICE, "other", object_type="settings", object_id="s2")
        page = audit.history(s, object_type="settings", object_id="s1", limit=2)
        rest = audit.history(s, object_type="settings", object_id="s1", before_seq=page[-1].seq)
    assert [e.action for e in page] == ["edit.2", "edit.1"]
    assert [e.action for e in rest] == ["edit.0"]


def test_the_app_role_cannot_update_or_delete_events(connection, db, world):
    with db.tenant_session(world.shop_a.id) as s:
        audit.record(s, ALICE, "x", object_type="y")
    connection.exec_driver_sql(f"SET LOCAL app.tenant_id = '{world.shop_a.id}'")
    for statement in (
        "UPDATE audit_event SET action = 'forged'",
        "DELETE FROM audit_event",
        "TRUNCATE audit_event",
        "UPDATE chain_head SET seq = 0",
        "DELETE FROM chain_head",
    ):
        with pytest.raises(DBAPIError), connection.begin_nested():
            connection.exec_driver_sql(statement)


def test_triggers_stop_even_the_owner(test_database):
    from urakata.platform.db import make_engine

    owner = make_engine(test_database.owner_url)
    chain = uuid.uuid4()
    try:
        for statement in (
            "UPDATE audit_event SET action = 'forged'",
            "DELETE FROM audit_event",
            "TRUNCATE audit_event",
        ):
            with owner.connect() as conn, conn.begin() as trans:
                conn.exec_driver_sql(f"SET LOCAL app.tenant_id = '{chain}'")
                conn.execute(
                    text(
                        "INSERT INTO audit_event VALUES (:c, 1, now(), 'system', '', 'x', 'y',"
                        " '', '\\x7b7d', :z, :z)"
                    ),
                    {"c": chain, "z": bytes(32)},
                )
                with pytest.raises(DBAPIError, match="append-only"):
                    conn.exec_driver_sql(statement)
                trans.rollback()
    finally:
        owner.dispose()


def test_concurrent_writers_on_one_chain_never_fork_or_gap(test_database, admin_engine):
    """Real connections, committed: 4 threads × 50 appends on one fresh chain."""
    db = Database.from_url(test_database.app_url)
    chain = insert_shop(admin_engine, "concurrency", "c")
    errors = []

    def writer(n):
        try:
            for i in range(50):
                with db.tenant_session(chain) as s:
                    audit.record(s, ALICE, f"w{n}.{i}", object_type="x")
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == []
        with db.tenant_session(chain) as s:
            events = s.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
        assert [e.seq for e in events] == list(range(1, 201))
        assert verify_events(chain, [_row(e) for e in events]).ok
    finally:
        db.dispose()
        with admin_engine.begin() as conn:
            conn.exec_driver_sql("SET session_replication_role = replica")
            conn.execute(text("DELETE FROM audit_event WHERE tenant_id = :c"), {"c": chain})
            conn.execute(text("DELETE FROM chain_head WHERE tenant_id = :c"), {"c": chain})
            conn.execute(text("DELETE FROM tenant WHERE id = :c"), {"c": chain})


def test_a_look_at_personal_data_is_one_event_not_one_per_row(db, world):
    with db.tenant_session(world.shop_a.id) as s:
        rec = audit.record_read(
            s, ALICE, what="order_customers", object_type="order_list", rows=120
        )
        event = s.scalar(select(AuditEvent).where(AuditEvent.seq == rec.seq))
    assert event.action == "personal_data.viewed"
    assert event.payload["data"] == {"what": "order_customers", "rows": 120}


def test_personal_data_is_pseudonymised_with_a_key(db):
    a = audit.pseudonymize(b"key-1", "Taro@Example.com ")
    assert a == audit.pseudonymize(b"key-1", "taro@example.com")
    assert a != audit.pseudonymize(b"key-2", "taro@example.com")
    assert "taro" not in a["hmac"]


def test_canonical_json_is_sorted_compact_utf8_and_refuses_floats():
    import json
    from datetime import UTC, date, datetime
    from decimal import Decimal

    moment = datetime(2026, 11, 27, 1, 2, 3, 4, tzinfo=UTC)
    value = {
        "b": [date(2026, 1, 2), {2, 1}, Decimal("1.50"), uuid.UUID(int=1)],
        "a": {"山": '田\n"', 5: moment},
    }
    expected = json.dumps(
        audit._plain(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode()
    assert audit.canonical_json(value) == expected
    assert expected.startswith(b'{"a":{"5":"2026-11-27T01:02:03.000004Z","\xe5\xb1\xb1"')
    for bad in ({"x": 1.5}, {"x": [float("nan")]}, {"x": {"y": 1e3}}):
        with pytest.raises(TypeError):
            audit.canonical_json(bad)
