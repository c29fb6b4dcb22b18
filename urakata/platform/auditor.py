"""What auditors do with a chain: search it, read an event's changes, start its tasks
(an export, a verification up to the latest signed checkpoint) and verify it.

Every function works on the session's bound chain (a shop's, or the agency's nil id), so
one auditor's search can never reach another chain's rows: RLS and the ORM wall agree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, text

from urakata.platform import audit, checkpoints, outbox
from urakata.platform.audit import AGENCY_CHAIN_ID, Actor, AuditEvent
from urakata.platform.db import UrakataSession
from urakata.platform.ledger import Verdict, verify_events

VERIFY_KIND = "audit.verify_checkpoint"
VERIFY_JOB = "audit.verify_to_checkpoint"
TASK_QUEUE = "default"
PAGE = 50


@dataclass(frozen=True)
class EventQuery:
    actor: str = ""  # an actor id, or part of the actor's recorded name
    action: str = ""  # exact, or a prefix ending in "." (e.g. "order.")
    object_type: str = ""
    object_id: str = ""
    start: datetime | None = None
    end: datetime | None = None
    text: str = ""  # anywhere in the event's body
    before_seq: int | None = None

    def filters(self) -> dict:
        """The non-empty filters, as recorded on the chain with the search."""
        names = ("actor", "action", "object_type", "object_id", "start", "end", "text")
        return {n: getattr(self, n) for n in names if getattr(self, n)}


def _like(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_events(session: UrakataSession, query: EventQuery, limit: int = PAGE) -> list:
    """The bound chain's events matching ``query``, newest first (keyset by ``seq``)."""
    body_text = func.convert_from(AuditEvent.body, "UTF8")
    statement = select(AuditEvent)
    if query.actor:
        statement = statement.where(
            (AuditEvent.actor_id == query.actor)
            | body_text.ilike(_like(f'"label":"{query.actor}'), escape="\\")
            | body_text.ilike(_like(query.actor) + '","type":"', escape="\\")
        )
    if query.action:
        if query.action.endswith("."):
            statement = statement.where(AuditEvent.action.startswith(query.action))
        else:
            statement = statement.where(AuditEvent.action == query.action)
    if query.object_type:
        statement = statement.where(AuditEvent.object_type == query.object_type)
    if query.object_id:
        statement = statement.where(AuditEvent.object_id == query.object_id)
    if query.start:
        statement = statement.where(AuditEvent.occurred_at >= query.start)
    if query.end:
        statement = statement.where(AuditEvent.occurred_at < query.end)
    if query.text:
        statement = statement.where(body_text.ilike(_like(query.text), escape="\\"))
    if query.before_seq is not None:
        statement = statement.where(AuditEvent.seq < query.before_seq)
    statement = statement.order_by(AuditEvent.seq.desc()).limit(limit)
    return list(session.scalars(statement))


def get_event(session: UrakataSession, seq: int) -> AuditEvent | None:
    return session.get(AuditEvent, (session.tenant_id, seq))


def record_search(session: UrakataSession, actor: Actor, query: EventQuery, found: int) -> None:
    """Every auditor search is itself an event of the searched chain."""
    audit.record(
        session,
        actor,
        "audit.searched",
        object_type="chain",
        object_id=session.tenant_id,
        data={"filters": query.filters(), "results": found, "before_seq": query.before_seq},
    )


def record_event_read(session: UrakataSession, actor: Actor, what: str, object_id) -> None:
    audit.record(
        session, actor, "audit.viewed", object_type="chain", object_id=session.tenant_id,
        data={"what": what, "id": str(object_id)},
    )  # fmt: skip


def start_chain_task(session: UrakataSession, actor: Actor, *, kind: str, job: str, **args):
    """A task of the bound chain (a shop's, or the agency's) and its job, after commit.

    The agency chain is no shop: its job goes without ``shop_id`` and so runs in the
    worker's default scope, the agency chain; its task row lives in that chain.
    """
    from urakata.platform import tasks

    chain = session.tenant_id
    if chain is None:
        raise ValueError("bind the session to a chain first")
    task = tasks.ShopTask(tenant_id=chain, kind=kind, created_by=actor.user_id)
    session.add(task)
    session.flush()
    message = outbox.enqueue(
        session,
        job,
        queue=TASK_QUEUE,
        shop_id=None if chain == AGENCY_CHAIN_ID else chain,
        task_id=task.id,
        **args,
    )
    task.outbox_id = message.id
    return task


def start_verification(session: UrakataSession, actor: Actor):
    task = start_chain_task(session, actor, kind=VERIFY_KIND, job=VERIFY_JOB)
    audit.record(
        session, actor, "task.started", object_type="task", object_id=task.id,
        data={"kind": VERIFY_KIND},
    )  # fmt: skip
    return task


_ROWS = text(
    "SELECT seq, occurred_at, actor_type, actor_id, action, object_type, object_id,"
    " body, prev_hash, hash FROM audit_event"
    " WHERE tenant_id = :chain AND seq > :after AND seq <= :upto ORDER BY seq LIMIT :limit"
)


def verify_to_checkpoint(
    session: UrakataSession, progress: Callable[[int, int], None], chunk: int = 1_000
) -> dict:
    """Check the bound chain from seq 1 up to its latest signed checkpoint.

    The ledger rules (docs/ledger-spec.md) for every event, then the checkpoint: its
    signature with the public key it names, and its hash equal to the event's at its seq.
    """
    chain = session.tenant_id
    checkpoint = checkpoints.latest_checkpoint(session)
    if checkpoint is None:
        return {"ok": False, "reason": "no signed checkpoint yet", "bad_seq": None, "count": 0}
    upto = checkpoint.seq
    progress(0, upto)

    def rows():
        after = 0
        while after < upto:
            batch = session.execute(
                _ROWS, {"chain": chain, "after": after, "upto": upto, "limit": chunk}
            ).all()
            if not batch:
                return
            yield from batch
            after = batch[-1].seq
            progress(after, upto)

    verdict = verify_events(chain, rows())
    result = _checkpoint_verdict(verdict, checkpoint)
    result.update(
        checkpoint_seq=checkpoint.seq,
        key_id=checkpoint.key_id,
        signed_at=audit.format_time(checkpoint.signed_at),
    )
    return result


def _checkpoint_verdict(verdict: Verdict, checkpoint) -> dict:
    base = {"count": verdict.count, "last_seq": verdict.last_seq}
    if not verdict.ok:
        return {**base, "ok": False, "bad_seq": verdict.bad_seq, "reason": verdict.reason}
    if not checkpoints.verify_checkpoint(checkpoint):
        reason = "the checkpoint's signature does not verify"
        return {**base, "ok": False, "bad_seq": checkpoint.seq, "reason": reason}
    if verdict.last_seq != checkpoint.seq:
        reason = f"events end at seq {verdict.last_seq}; the checkpoint covers {checkpoint.seq}"
        return {**base, "ok": False, "bad_seq": verdict.last_seq + 1, "reason": reason}
    if verdict.last_hash != bytes(checkpoint.hash):
        reason = "the event's hash differs from the signed checkpoint (the chain was rewritten)"
        return {**base, "ok": False, "bad_seq": checkpoint.seq, "reason": reason}
    return {**base, "ok": True, "bad_seq": None, "reason": ""}
