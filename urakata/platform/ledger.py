"""Verify audit chains exactly as docs/ledger-spec.md describes them.

Standard library only and no imports from the rest of Urakata, so this module can be run
by anyone who has an export of the ledger and does not trust the application. The body is
checked as stored: parsed, never re-serialised (DESIGN §5).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

ZERO_HASH = bytes(32)
EVENT_DOMAIN = b"\x00"
FORMAT_VERSION = 1
# The order of a row when rows are given as tuples (the fast path).
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


def _refuse(token: str):
    raise ValueError(f"{token} is not allowed in a ledger body")


# Floats, NaN and Infinity are not allowed in a body (money is integer yen). The scanner
# is called directly: a canonical body has no whitespace to skip around it.
_scan = json.JSONDecoder(parse_float=_refuse, parse_constant=_refuse).scan_once


def _decode(text: str):
    try:
        payload, end = _scan(text, 0)
    except StopIteration as exc:
        raise ValueError("not JSON") from exc
    if end != len(text):
        raise ValueError("extra data after the JSON object")
    return payload


def format_time(value) -> str:
    """The body's form of a time: ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` in UTC."""
    if isinstance(value, str):
        return value
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _body_problem(chain: str, row: Sequence, body: bytes) -> str | None:
    try:
        payload = _decode(body.decode("utf-8"))
        actor, obj = payload["actor"], payload["object"]
        if payload["v"] != FORMAT_VERSION:
            return f"unknown body format version {payload['v']!r}"
        if payload["chain"] != chain:
            return "column chain does not match the body"
        if payload["occurred_at"] != format_time(row[1]):
            return "column occurred_at does not match the body"
        if actor["type"] != row[2]:
            return "column actor_type does not match the body"
        if actor["id"] != row[3]:
            return "column actor_id does not match the body"
        if payload["action"] != row[4]:
            return "column action does not match the body"
        if obj["type"] != row[5]:
            return "column object_type does not match the body"
        if obj["id"] != row[6]:
            return "column object_id does not match the body"
    except ValueError as exc:  # not UTF-8, not JSON, or a float
        return f"body is not valid ledger JSON ({exc})"
    except (KeyError, TypeError):
        return "body lacks a required key"
    return None


def _tuples(rows: Iterable) -> Iterable[Sequence]:
    """Rows as tuples in COLUMNS order, whether given as tuples or as mappings."""
    iterator = iter(rows)
    for first in iterator:
        if isinstance(first, Mapping):
            yield tuple(first[c] for c in COLUMNS)
            for row in iterator:
                yield tuple(row[c] for c in COLUMNS)
        else:
            yield first
            yield from iterator


def verify_events(chain_id: uuid.UUID, rows: Iterable) -> Verdict:
    """Check one chain's events, given in ``seq`` order; stop at the first bad one.

    A row is a mapping with the :data:`COLUMNS` keys, or a tuple in that order.
    """
    prefix = EVENT_DOMAIN + chain_id.bytes
    chain = str(chain_id)
    sha256 = hashlib.sha256
    expected_seq, prev, count = 1, ZERO_HASH, 0
    for row in _tuples(rows):
        seq = row[0]
        body, prev_hash, digest = bytes(row[7]), bytes(row[8]), bytes(row[9])
        if seq != expected_seq:
            problem = f"expected seq {expected_seq} (a gap or reordering)"
        elif prev_hash != prev:
            problem = "prev_hash does not match the previous event's hash"
        elif sha256(prefix + seq.to_bytes(8, "big") + prev_hash + body).digest() != digest:
            problem = "hash does not match the event's bytes"
        else:
            problem = _body_problem(chain, row, body)
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
