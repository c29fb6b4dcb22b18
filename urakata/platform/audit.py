"""The audit ledger: one hash chain per shop and one for the agency (docs/ledger-spec.md).

:func:`record` appends an event in the caller's transaction with one statement: the chain
head's row is updated (seq + 1, hash computed by PostgreSQL's ``sha256``) and the event
inserted from its RETURNING row. The head's row lock serialises writers of one chain
until they commit or roll back, so a chain never forks and never has a gap.

The app role may INSERT and SELECT events, never UPDATE or DELETE them (triggers refuse
those even for the owner); it may UPDATE the head only forwards (a trigger checks).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import hmac
import json
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import BigInteger, Index, LargeBinary, String, select, text
from sqlalchemy.orm import Mapped, mapped_column

from urakata.platform.bulk import Alongside, paused_gc
from urakata.platform.db import Base, TenantOwned, UrakataSession, utcnow

AGENCY_CHAIN_ID = uuid.UUID(int=0)
ZERO_HASH = bytes(32)
EVENT_DOMAIN = b"\x00"
FORMAT_VERSION = 1


class AuditEvent(TenantOwned, Base):
    """One event. ``tenant_id`` is the chain id (the nil UUID for the agency chain)."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_tenant_id_object", "tenant_id", "object_type", "object_id", "seq"),
        Index("ix_audit_event_tenant_id_occurred_at", "tenant_id", "occurred_at"),
    )

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    occurred_at: Mapped[datetime]
    actor_type: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str] = mapped_column(String(64))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    prev_hash: Mapped[bytes] = mapped_column(LargeBinary)
    hash: Mapped[bytes] = mapped_column(LargeBinary)

    @property
    def payload(self) -> dict:
        return json.loads(self.body)


class ChainHead(TenantOwned, Base):
    """The last ``seq`` and ``hash`` of a chain; locked while appending."""

    __tablename__ = "chain_head"

    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[bytes] = mapped_column(LargeBinary)
    prev_hash: Mapped[bytes] = mapped_column(LargeBinary)


@dataclass(frozen=True)
class Actor:
    """Who did it, and from where. The portal builds one per request, a job per run."""

    type: str  # user | api_key | job | system
    id: str = ""
    label: str = ""
    request_id: str = ""
    ip: str = ""
    # The user's memberships decide their home chain; not part of the recorded body.
    user_id: uuid.UUID | None = field(default=None, compare=False)

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        return cls(type="system", label=label)

    @classmethod
    def job(cls, name: str, job_id: str = "") -> Actor:
        return cls(type="job", id=job_id, label=name)

    def with_request(self, request_id: str, ip: str) -> Actor:
        return dataclasses.replace(self, request_id=request_id or "", ip=ip or "")


def home_chain(user) -> uuid.UUID:
    """Where a person's own events go (logins, password changes).

    Agency staff and agency-wide auditors: the agency chain. A shop user (or a shop's
    auditor) with exactly one shop: that shop's chain, so the shop sees who logged in.
    """
    if user is None:
        return AGENCY_CHAIN_ID
    shop_ids = {m.shop_id for m in user.memberships if m.shop_id is not None}
    agency = any(
        m.role in ("agency_admin", "operator") or m.shop_id is None for m in user.memberships
    )
    if agency or len(shop_ids) != 1:
        return AGENCY_CHAIN_ID
    return next(iter(shop_ids))


def user_actor(user, request_id: str = "", ip: str = "") -> Actor:
    return Actor(
        type="user",
        id=str(user.id),
        label=user.display_name,
        request_id=request_id,
        ip=ip,
        user_id=user.id,
    )


# -- canonical JSON ---------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """Turn a value into JSON types deterministically; floats are refused."""
    if isinstance(value, bool) or value is None or isinstance(value, int | str):
        return value
    if isinstance(value, float):
        raise TypeError("floats are not allowed in the ledger; use int yen or a string")
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [_plain(v) for v in value]
        return sorted(items, key=canonical_json) if isinstance(value, set | frozenset) else items
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, Enum):
        return _plain(value.value)
    raise TypeError(f"cannot record a {type(value).__name__} in the ledger")


def _default(value: Any) -> Any:
    """The non-JSON types ``_plain`` knows, for the C encoder's fast path."""
    if value.__class__ is datetime:
        return _time_text(value)
    if isinstance(value, Mapping | set | frozenset | datetime | date | time):
        return _plain(value)
    if isinstance(value, uuid.UUID | Decimal | Enum):
        return _plain(value)
    raise TypeError(f"cannot record a {type(value).__name__} in the ledger")


def _refuse_float(token: str):
    raise TypeError("floats are not allowed in the ledger; use int yen or a string")


_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_default
)
_FLOAT_CHECK = json.JSONDecoder(parse_float=_refuse_float).decode


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no whitespace, UTF-8, no floats (docs/ledger-spec.md, "Body").

    The C encoder does the work; floats are caught by reading the result back with a
    decoder that refuses them (cheaper than walking the value in Python first).
    """
    try:
        text = _ENCODER.encode(value)
    except (TypeError, ValueError):
        text = _ENCODER.encode(_plain(value))  # e.g. non-string keys: normalised first
    _FLOAT_CHECK(text)
    return text.encode()


def format_time(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("ledger times must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# A batch repeats its times (sale dates, the event's own): each is formatted once.
_time_text = functools.lru_cache(maxsize=1024)(format_time)


def pseudonymize(key: bytes, value: str) -> dict:
    """Personal data goes into the ledger only as a keyed hash (erasure keeps it verifiable)."""
    return {"hmac": hmac.new(key, value.strip().lower().encode(), hashlib.sha256).hexdigest()}


def event_hash(chain_id: uuid.UUID, seq: int, prev_hash: bytes, body: bytes) -> bytes:
    return hashlib.sha256(
        EVENT_DOMAIN + chain_id.bytes + seq.to_bytes(8, "big") + prev_hash + body
    ).digest()


# -- appending --------------------------------------------------------------------------

_APPEND = text(
    """
    WITH head AS (
        UPDATE chain_head
           SET seq = seq + 1,
               prev_hash = hash,
               hash = sha256('\\x00'::bytea || uuid_send(tenant_id) || int8send(seq + 1)
                             || hash || :body)
         WHERE tenant_id = :chain
     RETURNING tenant_id, seq, prev_hash, hash
    )
    INSERT INTO audit_event (tenant_id, seq, occurred_at, actor_type, actor_id, action,
                             object_type, object_id, body, prev_hash, hash)
    SELECT tenant_id, seq, :occurred_at, :actor_type, :actor_id, :action,
           :object_type, :object_id, :body, prev_hash, hash
      FROM head
    RETURNING seq, hash
    """
)


@dataclass(frozen=True)
class Recorded:
    chain_id: uuid.UUID
    seq: int
    hash: bytes


def ensure_chain(session: UrakataSession, chain_id: uuid.UUID) -> None:
    """Create the chain's head (seq 0, zero hash) if it does not exist yet."""
    session.execute(
        text(
            "INSERT INTO chain_head (tenant_id, seq, hash, prev_hash)"
            " VALUES (:chain, 0, :zero, :zero) ON CONFLICT (tenant_id) DO NOTHING"
        ),
        {"chain": chain_id, "zero": ZERO_HASH},
    )


def _bind_chain(session: UrakataSession, chain_id: uuid.UUID | None) -> uuid.UUID:
    if chain_id is None:
        if session.tenant_id is None:
            raise ValueError("no chain: bind the session to a shop or name the chain")
        return session.tenant_id
    session.bind_tenant(chain_id)  # raises TenantRebind for a session of another shop
    return chain_id


def _body(chain_id, occurred_at, actor: Actor, action, object_type, object_id, changes, data):
    return canonical_json(
        {
            "v": FORMAT_VERSION,
            "chain": str(chain_id),
            "occurred_at": occurred_at,
            "actor": {"type": actor.type, "id": actor.id, "label": actor.label},
            "action": action,
            "object": {"type": object_type, "id": str(object_id or "")},
            "changes": {k: [before, after] for k, (before, after) in (changes or {}).items()},
            "data": data or {},
            "request_id": actor.request_id,
            "ip": actor.ip,
        }
    )


def record(
    session: UrakataSession,
    actor: Actor,
    action: str,
    *,
    object_type: str,
    object_id: Any = "",
    changes: Mapping[str, tuple[Any, Any]] | None = None,
    data: Mapping[str, Any] | None = None,
    chain_id: uuid.UUID | None = None,
) -> Recorded:
    """Append one event to the chain of the session's shop (or ``chain_id``).

    ``changes`` maps each changed field to ``(before, after)``. Call it in the same
    transaction as the change it records; it never commits.
    """
    chain = _bind_chain(session, chain_id)
    occurred_at = utcnow()
    params = {
        "chain": chain,
        "occurred_at": occurred_at,
        "actor_type": actor.type,
        "actor_id": actor.id,
        "action": action,
        "object_type": object_type,
        "object_id": str(object_id or ""),
        "body": _body(chain, occurred_at, actor, action, object_type, object_id, changes, data),
    }
    row = session.execute(_APPEND, params).one_or_none()
    if row is None:  # first event of this chain
        ensure_chain(session, chain)
        row = session.execute(_APPEND, params).one()
    return Recorded(chain, row.seq, bytes(row.hash))


@dataclass(frozen=True)
class PendingEvent:
    action: str
    object_type: str
    object_id: Any = ""
    changes: Mapping[str, tuple[Any, Any]] | None = None
    data: Mapping[str, Any] | None = None


def record_many(
    session: UrakataSession,
    actor: Actor,
    events: Iterable[PendingEvent],
    *,
    chain_id: uuid.UUID | None = None,
    alongside: Callable[[Any], None] | None = None,
) -> list[Recorded]:
    """Append many events (an import, an order's moves): lock the head, add every event,
    move the head.

    ``alongside(driver_connection)`` is a statement of the caller's own that the database
    runs while the bodies and hashes are computed here, once the head is locked: a
    thread sends it on the session's connection (the wait releases the GIL); nothing
    else uses the connection until it is done, and its error is raised here.

    The bodies are encoded and checked for floats (one read-back) ``STREAM_CHUNK`` at a
    time. A small batch goes as one INSERT that also moves the head. A big one streams:
    each chunk, once hashed, is sent by the same thread by COPY into a temporary table
    (COPY cannot write a table under row-level security) and moved with one INSERT,
    which the policies check, while the next chunk is hashed here. The head's lock is
    held from here to commit, as with :func:`record`.
    """
    chain = _bind_chain(session, chain_id)
    return _append(session, chain, actor, utcnow(), list(events), None, alongside)


@dataclass
class Batch:
    """Events encoded ahead of being recorded (a file's orders' moves, while the next
    orders are checked): ``add`` makes their bodies at once, :func:`record_batch` later
    only hashes and writes them, the head locked from then on, as with
    :func:`record_many`. ``occurred_at`` is when the batch was begun."""

    chain: uuid.UUID
    actor: Actor
    occurred_at: datetime = field(default_factory=utcnow)
    events: list[PendingEvent] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)

    def add(self, events: list[PendingEvent]) -> None:
        with paused_gc():
            self.bodies += _bodies(self.chain, self.occurred_at, self.actor, events)
        self.events += events


def record_batch(
    session: UrakataSession,
    batch: Batch,
    *,
    first: PendingEvent | None = None,
    alongside: Callable[[Any], None] | None = None,
) -> list[Recorded]:
    """Append a :class:`Batch`'s events, after ``first`` when given (an import's own
    event, which says what the batch came to); ``alongside`` as for :func:`record_many`."""
    chain = _bind_chain(session, batch.chain)
    events, bodies = batch.events, batch.bodies
    if first is not None:
        events = [first, *events]
        bodies = _bodies(chain, batch.occurred_at, batch.actor, [first]) + bodies
    return _append(session, chain, batch.actor, batch.occurred_at, events, bodies, alongside)


def _append(session, chain, actor, occurred_at, events, bodies, alongside) -> list[Recorded]:
    """:func:`record_many`'s work, with the bodies made ahead (``bodies``) or here."""
    if not events:
        return []
    seq, prev = _lock_head(session, chain)
    small = len(events) <= SMALL_BATCH
    recorded: list[Recorded] = []
    rows: list[tuple] = []
    driver = session.connection().connection.driver_connection
    with paused_gc(), Alongside(driver, "audit-writer") as writer:
        if alongside is not None:
            writer.send(alongside)
        for start in range(0, len(events), STREAM_CHUNK):
            chunk = events[start : start + STREAM_CHUNK]
            encoded = (
                _bodies(chain, occurred_at, actor, chunk)
                if bodies is None
                else bodies[start : start + STREAM_CHUNK]
            )
            rows = []
            for event, body in zip(chunk, encoded, strict=True):
                seq += 1
                digest = event_hash(chain, seq, prev, body)
                rows.append(
                    (chain, seq, occurred_at, actor.type, actor.id, event.action,
                     event.object_type, str(event.object_id or ""), body, prev, digest)
                )  # fmt: skip
                recorded.append(Recorded(chain, seq, digest))
                prev = digest
            if not small:
                writer.send(functools.partial(_copy_rows, rows=rows, first=start == 0))
    head = {"chain": chain, "seq": seq, "prev_hash": rows[-1][9], "hash": prev}
    if small:
        _insert_small_batch(session, rows, head)
    else:
        session.execute(text(_MOVE_HEAD), head)
    return recorded


# A batch up to this size goes as one INSERT … VALUES with the head's move (one round
# trip); a bigger one by COPY through a temporary table, STREAM_CHUNK events at a time.
SMALL_BATCH = 32
STREAM_CHUNK = 5_000


def _lock_head(session: UrakataSession, chain: uuid.UUID) -> tuple[int, bytes]:
    """Lock the chain's head (created on the chain's first event) until commit."""
    lock = text("SELECT seq, hash FROM chain_head WHERE tenant_id = :chain FOR UPDATE")
    head = session.execute(lock, {"chain": chain}).one_or_none()
    if head is None:
        ensure_chain(session, chain)
        head = session.execute(lock, {"chain": chain}).one()
    return head.seq, bytes(head.hash)


_MOVE_HEAD = (
    "UPDATE chain_head SET seq = :seq, prev_hash = :prev_hash, hash = :hash"
    " WHERE tenant_id = :chain"
)


def _insert_small_batch(session: UrakataSession, rows: list[tuple], head: dict) -> None:
    names = [f"{column}_{n}" for n in range(len(rows)) for column in _EVENT_NAMES]
    values = ", ".join(
        "(" + ", ".join(f":{column}_{n}" for column in _EVENT_NAMES) + ")" for n in range(len(rows))
    )
    params = dict(zip(names, (value for row in rows for value in row), strict=True))
    statement = (
        f"WITH head AS ({_MOVE_HEAD}) INSERT INTO audit_event ({_EVENT_COLUMNS}) VALUES {values}"
    )
    session.execute(text(statement), {**params, **head})


def _copy_rows(driver, *, rows: list[tuple], first: bool) -> None:
    """COPY events into the temporary table and move them into the ledger (a thread's
    statement: see :func:`record_many`). The table is filled anew for each chunk, so its
    rows come back in the order they were written, which is ``seq`` order."""
    with driver.cursor() as cursor:
        if first:
            cursor.execute(_BATCH_TABLE)
        with cursor.copy(_COPY_EVENTS) as copy:
            copy.set_types(_COPY_TYPES)
            for row in rows:
                copy.write_row(row)
        cursor.execute(_MOVE_BATCH)


_EVENT_NAMES = (
    "tenant_id", "seq", "occurred_at", "actor_type", "actor_id", "action", "object_type",
    "object_id", "body", "prev_hash", "hash",
)  # fmt: skip
_EVENT_COLUMNS = ", ".join(_EVENT_NAMES)
_BATCH_TABLE = (
    "CREATE TEMP TABLE IF NOT EXISTS audit_event_batch"
    " (LIKE audit_event INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
)
# Binary: the bodies travel as they are, not doubled into hex text.
_COPY_EVENTS = f"COPY audit_event_batch ({_EVENT_COLUMNS}) FROM STDIN (FORMAT BINARY)"
_COPY_TYPES = ("uuid", "int8", "timestamptz", *["text"] * 5, "bytea", "bytea", "bytea")
_MOVE_BATCH = (
    f"INSERT INTO audit_event ({_EVENT_COLUMNS}) SELECT {_EVENT_COLUMNS}"
    " FROM audit_event_batch; TRUNCATE audit_event_batch"
)


def _bodies(chain, occurred_at, actor: Actor, events: list[PendingEvent]) -> list[bytes]:
    """Each event's canonical body, byte for byte what :func:`_body` makes, for a batch.

    The parts every event shares are encoded once and the body is put together in the
    canonical key order (tests compare it with :func:`_body`); floats are refused by one
    read-back of all the bodies as a JSON array (:func:`record_many` pauses the cyclic
    collector: the decoded objects are garbage at once, and tracking them costs more
    than decoding).
    """
    encode = _ENCODER.encode
    actor_text = encode({"type": actor.type, "id": actor.id, "label": actor.label})
    chain_text = encode(str(chain))
    ip = encode(actor.ip)
    tail = encode(
        {
            "occurred_at": format_time(occurred_at),
            "request_id": actor.request_id,
            "v": FORMAT_VERSION,
        }
    )[1:]  # '"occurred_at":…}' ends the object after "object"
    quote = json.encoder.encode_basestring  # what the encoder does with a str, called directly
    texts, values = [], []
    for event in events:
        try:
            changes = encode(event.changes or {})
            data = encode(event.data or {})
        except (TypeError, ValueError):  # e.g. non-string keys: normalised first
            changes = encode(_plain(dict(event.changes or {})))
            data = encode(_plain(event.data or {}))
        values += (changes, data)
        texts.append(
            f'{{"action":{quote(event.action)},"actor":{actor_text},"chain":{chain_text},'
            f'"changes":{changes},"data":{data},"ip":{ip},'
            f'"object":{{"id":{quote(str(event.object_id or ""))},'
            f'"type":{quote(event.object_type)}}},{tail}'
        )
    _FLOAT_CHECK("[" + ",".join(values) + "]")  # only changes and data can hold a number
    return [t.encode() for t in texts]


def record_read(
    session: UrakataSession,
    actor: Actor,
    *,
    what: str,
    object_type: str,
    object_id: Any = "",
    rows: int | None = None,
    export: bool = False,
) -> Recorded:
    """Agency staff looked at (or exported) a shop's personal data: one event per view."""
    data = {"what": what}
    if rows is not None:
        data["rows"] = rows
    action = "personal_data.exported" if export else "personal_data.viewed"
    return record(session, actor, action, object_type=object_type, object_id=object_id, data=data)


# -- reading ----------------------------------------------------------------------------


def history(
    session: UrakataSession,
    *,
    object_type: str,
    object_id: Any,
    before_seq: int | None = None,
    limit: int = 50,
) -> list[AuditEvent]:
    """The bound chain's events about one object, newest first (keyset by ``seq``)."""
    query = select(AuditEvent).where(
        AuditEvent.object_type == object_type, AuditEvent.object_id == str(object_id)
    )
    if before_seq is not None:
        query = query.where(AuditEvent.seq < before_seq)
    return list(session.scalars(query.order_by(AuditEvent.seq.desc()).limit(limit)))


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """The fields whose values differ, as ``{field: (before, after)}``."""
    return {k: (before.get(k), after.get(k)) for k in after if before.get(k) != after.get(k)}


# -- verifying the chains in the database ------------------------------------------------

# Times formatted by PostgreSQL exactly as the body has them (saves a strftime per event).
_CHAIN_ROWS = (
    "SELECT seq, to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
    " actor_type, actor_id, action, object_type, object_id, body, prev_hash, hash"
    " FROM audit_event WHERE tenant_id = %s ORDER BY seq"
)


def _prefetched(cursor, batch: int):
    """Rows fetched by a thread while the caller checks the previous batch.

    The database sends and the driver parses the next batch while hashing and JSON
    checks run on this one: on two cores that is nearly twice the speed.
    """
    import queue

    batches: queue.Queue = queue.Queue(maxsize=3)
    stop = threading.Event()

    def fetch():
        try:
            while not stop.is_set():
                rows = cursor.fetchmany(batch)
                batches.put(rows)
                if not rows:
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            batches.put(exc)

    thread = threading.Thread(target=fetch, name="ledger-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            rows = batches.get()
            if isinstance(rows, BaseException):
                raise rows
            if not rows:
                return
            yield from rows
    finally:
        stop.set()
        while thread.is_alive():  # unblock a fetcher waiting on a full queue
            try:
                batches.get_nowait()
            except queue.Empty:
                thread.join(timeout=0.05)


def verify_chain(db, chain_id: uuid.UUID, batch: int = 5_000):
    """Walk one chain in ``seq`` order and check it and its head, from one snapshot.

    The events are streamed through a server-side cursor of the driver (tuples, no ORM),
    so a million events need neither the memory nor the time of mapped rows.
    """
    from urakata.platform.ledger import verify_events, verify_head

    with db.tenant_session(chain_id) as session:
        conn = session.connection()
        if not conn.in_nested_transaction():
            # Events and head from one snapshot: an append meanwhile is no cut tail.
            conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        head = conn.execute(
            text("SELECT seq, hash FROM chain_head WHERE tenant_id = :chain"), {"chain": chain_id}
        ).one_or_none()
        driver = conn.connection.driver_connection
        # Binary results: bytea arrives as bytes without hex decoding.
        with driver.cursor(name=f"ledger_{uuid.uuid4().hex[:12]}", binary=True) as cursor:
            cursor.execute(_CHAIN_ROWS, (chain_id,))
            verdict = verify_events(chain_id, _prefetched(cursor, batch))
    if head is None:
        return verify_head(verdict, 0, ZERO_HASH)
    return verify_head(verdict, head.seq, bytes(head.hash))


def chain_ids(session: UrakataSession, slug: str | None = None) -> list[tuple[str, uuid.UUID]]:
    """(label, chain id) for the agency chain and every shop, or one shop by slug."""
    from urakata.platform.tenancy import Tenant, get_tenant_by_slug

    if slug:
        tenant = get_tenant_by_slug(session, slug)
        return [(tenant.slug, tenant.id)]
    shops = session.execute(select(Tenant.slug, Tenant.id).order_by(Tenant.slug)).all()
    return [("agency", AGENCY_CHAIN_ID)] + [(s, i) for s, i in shops]
