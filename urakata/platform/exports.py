"""Ledger exports: one chain's events for a date range, its checkpoints and public keys.

One JSON Lines file (README "Auditors", export format 1), in this order:

1. a header ``{"type":"urakata-ledger-export","format":1,"chain":…,"first_seq":…,
   "last_seq":…,…}``;
2. one ``{"type":"key",…}`` line per public key that signed a checkpoint below;
3. the checkpoints with ``first_seq - 1 <= seq <= last_seq`` (the latest per ``seq``), in
   ``seq`` order, the last one made for this export at ``last_seq``;
4. the events ``first_seq..last_seq``, one per line, exactly
   ``{"seq":N,"prev_hash":"<hex>","hash":"<hex>","body":<stored body bytes>}``: the body is
   embedded verbatim, so a verifier hashes the line's bytes without re-serialising.

The final checkpoint is signed when the export is made, so the last exported event is
always covered by a signature; the hash links carry that signature back to the first one.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import func, select, text

from urakata.platform import checkpoints
from urakata.platform.audit import AGENCY_CHAIN_ID, AuditEvent, format_time
from urakata.platform.db import UrakataSession, utcnow

EXPORT_TYPE = "urakata-ledger-export"
EXPORT_FORMAT = 1
EXPORT_KIND = "audit.export"
EXPORT_JOB = "audit.export_chain"
EXPORT_QUEUE = "default"
CHUNK = 5_000

_EVENTS = text(
    "SELECT seq, prev_hash, hash, body FROM audit_event"
    " WHERE tenant_id = :chain AND seq > :after AND seq <= :upto ORDER BY seq LIMIT :limit"
)


@dataclass(frozen=True)
class SeqRange:
    first: int
    last: int  # first - 1 when the range holds no events

    @property
    def count(self) -> int:
        return self.last - self.first + 1


def seq_range(session: UrakataSession, start: datetime | None, end: datetime | None) -> SeqRange:
    """The bound chain's ``seq`` span of events recorded in ``[start, end)``.

    An export is contiguous by ``seq`` (the links must hold), so it runs from the first
    event at or after ``start`` to the last one before ``end``.
    """
    last_query = select(func.max(AuditEvent.seq))
    if end is not None:
        last_query = last_query.where(AuditEvent.occurred_at < end)
    last = session.scalar(last_query) or 0
    first_query = select(func.min(AuditEvent.seq))
    if start is not None:
        first_query = first_query.where(AuditEvent.occurred_at >= start)
    first = session.scalar(first_query)
    if first is None or first > last:
        first = last + 1
    return SeqRange(first, last)


def export_path(files_dir: str | Path, chain_id: uuid.UUID, task_id: uuid.UUID) -> Path:
    # Absolute: Flask's send_file reads a relative path from the app's package, not cwd.
    return Path(files_dir).resolve() / "ledger-exports" / str(chain_id) / f"{task_id}.jsonl"


def file_name(label: str, span: SeqRange) -> str:
    return f"ledger-{label}-{span.first}-{span.last}.jsonl"


def write_export(
    session: UrakataSession,
    signer: checkpoints.Signer,
    checkpoint_dir: str | Path,
    out: BinaryIO,
    *,
    label: str,
    start: datetime | None,
    end: datetime | None,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Write the bound chain's export for ``[start, end)`` to ``out``; returns a summary."""
    chain = session.tenant_id
    span = seq_range(session, start, end)
    final = checkpoints.make_checkpoint(
        session, signer, checkpoint_dir, purpose="export", seq=span.last
    )
    signed = checkpoints.checkpoints_between(session, max(0, span.first - 1), span.last)
    signed = [c for c in signed if c.id != final.id and c.seq != final.seq] + [final]
    keys = {bytes(c.public_key) for c in signed}
    digest = hashlib.sha256()

    def emit(data: bytes) -> None:
        digest.update(data)
        out.write(data)

    header = {
        "type": EXPORT_TYPE,
        "format": EXPORT_FORMAT,
        "chain": str(chain),
        "label": label,
        "first_seq": span.first,
        "last_seq": span.last,
        "from": format_time(start) if start else None,
        "to": format_time(end) if end else None,
        "events": span.count,
        "created_at": format_time(utcnow()),
    }
    emit(_line(header))
    for raw in sorted(keys, key=checkpoints.key_id):
        emit(_line(checkpoints.key_record(raw)))
    for checkpoint in signed:
        emit(_line(checkpoint.as_record()))
    done = 0
    if progress:
        progress(0, span.count)
    after = span.first - 1
    while after < span.last:
        rows = session.execute(
            _EVENTS, {"chain": chain, "after": after, "upto": span.last, "limit": CHUNK}
        ).all()
        if not rows:
            break
        emit(b"".join(_event_line(*row) for row in rows))
        after = rows[-1].seq
        done += len(rows)
        if progress:
            progress(done, span.count)
    return {
        "chain": str(chain),
        "label": label,
        "first_seq": span.first,
        "last_seq": span.last,
        "events": done,
        "checkpoints": len(signed),
        "sha256": digest.hexdigest(),
        "file_name": file_name(label, span),
    }


def _line(record: dict) -> bytes:
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def _event_line(seq: int, prev_hash: bytes, digest: bytes, body: bytes) -> bytes:
    return b'{"seq":%d,"prev_hash":"%s","hash":"%s","body":%s}\n' % (
        seq,
        bytes(prev_hash).hex().encode(),
        bytes(digest).hex().encode(),
        bytes(body),
    )


def chain_label(chain_id: uuid.UUID, slug: str | None) -> str:
    return "agency" if chain_id == AGENCY_CHAIN_ID else (slug or str(chain_id))


def start_export(
    session: UrakataSession,
    actor,
    *,
    start: datetime | None,
    end: datetime | None,
):
    """Request an export of the bound chain (a shop's or the agency's) as a task; the
    request is recorded on the exported chain (every auditor export is)."""
    from urakata.platform import audit
    from urakata.platform.auditor import start_chain_task

    task = start_chain_task(
        session,
        actor,
        kind=EXPORT_KIND,
        job=EXPORT_JOB,
        start=format_time(start) if start else None,
        end=format_time(end) if end else None,
    )
    audit.record(
        session,
        actor,
        "audit.export.requested",
        object_type="task",
        object_id=task.id,
        data={"from": start, "to": end},
    )
    return task
