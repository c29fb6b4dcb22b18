"""Verify audit chains exactly as docs/ledger-spec.md describes them.

Standard library only and no imports from the rest of Urakata, so this module can be run
by anyone who has an export of the ledger and does not trust the application.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

ZERO_HASH = bytes(32)
EVENT_DOMAIN = b"\x00"
COLUMNS = (
    "seq",
    "occurred_at",
    "actor_type",
    "actor_id",
    "action",
    "object_type",
    "object_id",
    "body",
    "prev_hash",
    "hash",
)


@dataclass(frozen=True)
class Verdict:
    chain_id: uuid.UUID
    ok: bool
    count: int  # events checked before the first failure (all of them when ok)
    last_seq: int
    last_hash: bytes
    bad_seq: int | None = None
    reason: str = ""

    def __str__(self) -> str:
        if self.ok:
            return f"chain {self.chain_id}: ok, {self.count} events, head seq {self.last_seq}"
        return f"chain {self.chain_id}: FAILED at seq {self.bad_seq}: {self.reason}"


def _time(value) -> str:
    if isinstance(value, str):
        return value
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _canonical(payload) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _body_problem(chain_id: uuid.UUID, row: Mapping, body: bytes) -> str | None:
    try:
        payload = json.loads(body)
    except ValueError:
        return "body is not JSON"
    if _canonical(payload) != body:
        return "body is not in canonical form"
    try:
        expected = {
            "chain": str(chain_id),
            "occurred_at": _time(row["occurred_at"]),
            "actor.type": row["actor_type"],
            "actor.id": row["actor_id"],
            "action": row["action"],
            "object.type": row["object_type"],
            "object.id": row["object_id"],
        }
        found = {
            "chain": payload["chain"],
            "occurred_at": payload["occurred_at"],
            "actor.type": payload["actor"]["type"],
            "actor.id": payload["actor"]["id"],
            "action": payload["action"],
            "object.type": payload["object"]["type"],
            "object.id": payload["object"]["id"],
        }
    except (KeyError, TypeError):
        return "body lacks a required key"
    for key, value in expected.items():
        if found[key] != value:
            return f"column {key} does not match the body"
    return None


def verify_events(chain_id: uuid.UUID, rows: Iterable[Mapping]) -> Verdict:
    """Check one chain's events, given in ``seq`` order; stop at the first bad one."""
    chain_bytes = chain_id.bytes
    expected_seq, prev, count = 1, ZERO_HASH, 0
    for row in rows:
        seq = row["seq"]
        body, prev_hash, digest = bytes(row["body"]), bytes(row["prev_hash"]), bytes(row["hash"])

        problem = None
        if seq != expected_seq:
            problem = f"expected seq {expected_seq} (a gap or reordering)"
        elif prev_hash != prev:
            problem = "prev_hash does not match the previous event's hash"
        elif (
            hashlib.sha256(
                EVENT_DOMAIN + chain_bytes + seq.to_bytes(8, "big") + prev_hash + body
            ).digest()
            != digest
        ):
            problem = "hash does not match the event's bytes"
        else:
            problem = _body_problem(chain_id, row, body)
        if problem:
            return Verdict(chain_id, False, count, expected_seq - 1, prev, seq, problem)
        prev, expected_seq, count = digest, seq + 1, count + 1
    return Verdict(chain_id, True, count, expected_seq - 1, prev)


def verify_head(verdict: Verdict, head_seq: int, head_hash: bytes) -> Verdict:
    """The stored chain head must point at the last verified event (catches a cut tail)."""
    if not verdict.ok:
        return verdict
    if head_seq != verdict.last_seq or bytes(head_hash) != verdict.last_hash:
        return Verdict(
            verdict.chain_id,
            False,
            verdict.count,
            verdict.last_seq,
            verdict.last_hash,
            verdict.last_seq + 1,
            f"chain head says seq {head_seq}; events end at {verdict.last_seq}",
        )
    return verdict


def parse_time(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
