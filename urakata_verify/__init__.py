"""``urakata-verify``: check an Urakata ledger export without trusting Urakata.

Standard library and ``cryptography`` only; nothing here imports the application, so an
auditor can run it on a machine that has never seen Urakata's code. It implements
docs/ledger-spec.md ("Verifying a chain") and the export and checkpoint formats in the
README ("Auditors"): contiguous ``seq``, every ``prev_hash`` link, every hash, every body,
every checkpoint signature, and the last event equal to the final checkpoint.
"""

from __future__ import annotations

import argparse
import binascii
import hashlib
import json
import os
import re
import sys
import uuid
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

EXPORT_TYPE = "urakata-ledger-export"
EXPORT_FORMAT = 1
BODY_VERSION = 1
EVENT_DOMAIN = b"\x00"
CHECKPOINT_DOMAIN = b"\x01"
ZERO_HEX = "0" * 64
_HEX64 = re.compile(r"[0-9a-f]{64}\Z")
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z\Z")


class Rejected(Exception):
    """The export fails a check: ``seq`` is the first bad one (None: before any event)."""

    def __init__(self, seq: int | None, reason: str):
        super().__init__(reason)
        self.seq = seq
        self.reason = reason


@dataclass
class Result:
    ok: bool
    chain: str = ""
    events: int = 0
    first_seq: int = 0
    last_seq: int = 0
    checkpoints: int = 0
    keys: list[str] = field(default_factory=list)
    pinned: bool = False
    bad_seq: int | None = None
    reason: str = ""

    def __str__(self) -> str:
        if not self.ok:
            where = f"seq {self.bad_seq}" if self.bad_seq is not None else "the export"
            return f"FAILED at {where}: {self.reason}"
        trust = "pinned key" if self.pinned else "keys carried by the export (use --pubkey)"
        span = f"seq {self.first_seq}..{self.last_seq}" if self.events else "no events"
        return (
            f"ok: chain {self.chain}, {self.events} events ({span}), "
            f"{self.checkpoints} checkpoints, signed by {', '.join(self.keys) or '-'} "
            f"[{trust}]"
        )


def key_id(raw: bytes) -> str:
    """A public key's id: the first 8 bytes of SHA-256 over its 32 raw bytes, in hex."""
    return hashlib.sha256(raw).hexdigest()[:16]


def checkpoint_message(chain: uuid.UUID, seq: int, digest: bytes, signed_at: str) -> bytes:
    """What a checkpoint signs: 0x01 ‖ chain id ‖ seq ‖ hash ‖ signed_at (27 ASCII bytes)."""
    return CHECKPOINT_DOMAIN + chain.bytes + seq.to_bytes(8, "big") + digest + signed_at.encode()


def _refuse(token: str):
    raise ValueError(f"{token} is not allowed in a ledger body")


_scan = json.JSONDecoder(parse_float=_refuse, parse_constant=_refuse).scan_once
_loads = json.JSONDecoder(parse_float=_refuse, parse_constant=_refuse).decode


def _json_line(line: bytes, seq: int | None, what: str) -> dict:
    try:
        value = _loads(line.decode("utf-8"))
    except ValueError as exc:
        raise Rejected(seq, f"{what} is not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise Rejected(seq, f"{what} is not a JSON object")
    return value


def load_public_keys(path: str) -> dict[str, bytes]:
    """Trusted keys from a file: PEM public keys, or lines of 64 hex digits (raw keys)."""
    with open(path, "rb") as handle:
        data = handle.read()
    keys: dict[str, bytes] = {}
    pems = re.findall(rb"-----BEGIN PUBLIC KEY-----.+?-----END PUBLIC KEY-----", data, re.S)
    for pem in pems:
        key = serialization.load_pem_public_key(pem)
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError(f"{path}: not an Ed25519 public key")
        raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        keys[key_id(raw)] = raw
    if not pems:
        for line in data.decode("ascii", "replace").split():
            if not _HEX64.match(line.lower()):
                raise ValueError(f"{path}: expected PEM public keys or 64-hex-digit raw keys")
            raw = bytes.fromhex(line)
            keys[key_id(raw)] = raw
    if not keys:
        raise ValueError(f"{path}: no public keys found")
    return keys


def _hex(value, length: int, seq: int | None, what: str) -> bytes:
    if not isinstance(value, str) or len(value) != 2 * length:
        raise Rejected(seq, f"{what} is not {length} bytes of lowercase hex")
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raise Rejected(seq, f"{what} is not {length} bytes of lowercase hex") from None
    if raw.hex() != value:
        raise Rejected(seq, f"{what} is not {length} bytes of lowercase hex")
    return raw


def _header(line: bytes) -> dict:
    header = _json_line(line, None, "the first line (header)")
    if header.get("type") != EXPORT_TYPE:
        raise Rejected(None, f"not an Urakata ledger export (first line lacks type {EXPORT_TYPE})")
    if header.get("format") != EXPORT_FORMAT:
        raise Rejected(None, f"unknown export format {header.get('format')!r}")
    try:
        uuid.UUID(header["chain"])
    except (KeyError, TypeError, ValueError):
        raise Rejected(None, "the header's chain is not a UUID") from None
    if str(uuid.UUID(header["chain"])) != header["chain"]:
        raise Rejected(None, "the header's chain is not a lowercase hyphenated UUID")
    for name in ("first_seq", "last_seq"):
        value = header.get(name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise Rejected(None, f"the header's {name} is not a whole number")
    if header["first_seq"] < 1 or header["last_seq"] < header["first_seq"] - 1:
        raise Rejected(None, "the header's first_seq/last_seq do not describe a range")
    return header


def _key(record: dict) -> tuple[str, bytes]:
    if record.get("alg") != "ed25519":
        raise Rejected(None, f"key {record.get('key_id')!r}: unknown algorithm")
    raw = _hex(record.get("public_key"), 32, None, f"key {record.get('key_id')!r}")
    if key_id(raw) != record.get("key_id"):
        raise Rejected(None, f"key {record.get('key_id')!r}: key_id does not match the key")
    return record["key_id"], raw


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: bytes
    signed_at: str
    key_id: str
    purpose: str


def _checkpoint(record: dict, chain: uuid.UUID, keys: dict[str, bytes], header: dict) -> Checkpoint:
    seq = record.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise Rejected(None, "a checkpoint's seq is not a whole number")
    if record.get("chain") != str(chain):
        raise Rejected(seq, f"the checkpoint at seq {seq} is for another chain")
    digest = _hex(record.get("hash"), 32, seq, "the checkpoint's hash")
    signature = _hex(record.get("signature"), 64, seq, "the checkpoint's signature")
    signed_at = record.get("signed_at")
    if not isinstance(signed_at, str) or not _TIME.match(signed_at):
        raise Rejected(seq, "the checkpoint's signed_at is not YYYY-MM-DDTHH:MM:SS.ffffffZ")
    kid = record.get("key_id")
    raw = keys.get(kid)
    if raw is None:
        raise Rejected(
            seq, f"the checkpoint at seq {seq} is signed by key {kid!r}, not a trusted public key"
        )
    message = checkpoint_message(chain, seq, digest, signed_at)
    try:
        Ed25519PublicKey.from_public_bytes(raw).verify(signature, message)
    except InvalidSignature:
        raise Rejected(
            seq, f"the checkpoint signature at seq {seq} does not verify (forged or re-used)"
        ) from None
    if not header["first_seq"] - 1 <= seq <= header["last_seq"]:
        raise Rejected(seq, f"the checkpoint at seq {seq} lies outside the exported range")
    return Checkpoint(seq, digest, signed_at, kid, str(record.get("purpose", "")))


def _body_problem(body: bytes, chain: str) -> str | None:
    try:
        text = body.decode("utf-8")
        payload, end = _scan(text, 0)
        if end != len(text):
            return "body is not valid ledger JSON (extra data)"
        if payload["v"] != BODY_VERSION:
            return f"unknown body format version {payload['v']!r}"
        if payload["chain"] != chain:
            return "the body names another chain"
        payload["occurred_at"], payload["action"], payload["actor"]["type"]  # noqa: B018
        payload["object"]["type"], payload["object"]["id"]  # noqa: B018
    except StopIteration:
        return "body is not valid ledger JSON"
    except ValueError as exc:
        return f"body is not valid ledger JSON ({exc})"
    except (KeyError, TypeError):
        return "body lacks a required key"
    return None


def _diagnose(line: bytes, seq: int, prev_hex: str | None, chain_id: uuid.UUID) -> Rejected:
    """Why an event line failed the fast path (it did: say which check)."""
    record = _json_line(line.rstrip(b"\n"), seq, f"the line of seq {seq}")
    got = record.get("seq")
    if got != seq:
        return Rejected(seq, f"expected seq {seq}, found {got!r} (a gap or reordering)")
    if prev_hex is not None and record.get("prev_hash") != prev_hex:
        return Rejected(seq, "prev_hash does not match the previous event's hash")
    if not isinstance(record.get("body"), dict):
        return Rejected(seq, "the event has no body object")
    return Rejected(
        seq, 'the event line is not in the export layout {"seq","prev_hash","hash","body"}'
    )


def verify_lines(
    lines, trusted: dict[str, bytes] | None = None, *, check_bodies: bool = False
) -> Result:
    """Verify an export given as an iterator of its lines (bytes, newline included).

    ``check_bodies`` also parses every body as ledger JSON (see :func:`verify_export`).
    """
    try:
        lines = iter(lines)
        prelude = _checked(_prelude(lines), trusted)
        seq, _last = _events(prelude.first_event, lines, prelude, check_bodies)
        return _conclude(prelude, seq, trusted)
    except Rejected as exc:
        return Result(False, bad_seq=exc.seq, reason=exc.reason)


@dataclass
class _Prelude:
    """What comes before the events: the header, keys and checkpoints, checked."""

    header: dict
    chain_id: uuid.UUID
    checkpoints: list[Checkpoint]
    signed: dict[int, bytes]
    first_event: bytes | None
    carried: dict[str, bytes]


def _prelude(lines) -> _Prelude:
    first = next(lines, None)
    if first is None:
        raise Rejected(None, "the export is empty")
    header = _header(first.rstrip(b"\n"))
    chain_id = uuid.UUID(header["chain"])
    carried: dict[str, bytes] = {}
    records: list[dict] = []
    line = next(lines, None)
    while line is not None and not line.startswith(b'{"seq":'):
        record = _json_line(line.rstrip(b"\n"), None, "a key or checkpoint line")
        if record.get("type") == "key":
            kid, raw = _key(record)
            carried[kid] = raw
        elif record.get("type") == "checkpoint":
            records.append(record)
        else:
            raise Rejected(None, f"unknown line type {record.get('type')!r} before the events")
        line = next(lines, None)
    return _Prelude(header, chain_id, records, {}, line, carried)


def _checked(prelude: _Prelude, trusted: dict[str, bytes] | None) -> _Prelude:
    """The checkpoints' signatures, against the pinned keys or the carried ones."""
    header, chain_id = prelude.header, prelude.chain_id
    keys = trusted if trusted is not None else prelude.carried
    checkpoints = [_checkpoint(record, chain_id, keys, header) for record in prelude.checkpoints]
    if not checkpoints:
        raise Rejected(header["first_seq"], "the export carries no checkpoint")
    final = checkpoints[-1]
    if final.seq != header["last_seq"]:
        raise Rejected(
            final.seq + 1,
            f"the final checkpoint covers seq {final.seq}, the header says {header['last_seq']}",
        )
    signed: dict[int, bytes] = {}
    for cp in checkpoints:
        if signed.setdefault(cp.seq, cp.hash) != cp.hash:
            raise Rejected(cp.seq, f"two signed checkpoints disagree about seq {cp.seq}")
    prelude.checkpoints, prelude.signed = checkpoints, signed
    return prelude


def _conclude(prelude: _Prelude, seq: int, trusted: dict[str, bytes] | None) -> Result:
    header, checkpoints = prelude.header, prelude.checkpoints
    last = seq - 1
    if last != header["last_seq"]:
        raise Rejected(
            last + 1,
            f"the export ends at seq {last} but the final checkpoint covers seq "
            f"{header['last_seq']} (a cut-off tail)",
        )
    return Result(
        True,
        chain=str(prelude.chain_id),
        events=last - header["first_seq"] + 1,
        first_seq=header["first_seq"],
        last_seq=last,
        checkpoints=len(checkpoints),
        keys=sorted({cp.key_id for cp in checkpoints}),
        pinned=trusted is not None,
    )


def _events(line, lines, prelude: _Prelude, check_bodies: bool, start: int | None = None):
    """Check every event line; returns (next expected seq, last hash in hex).

    From the export's first event, the link before it is the zero hash at seq 1, else a
    signed checkpoint if one covers it. With ``start`` (a range of a bigger file, see
    :func:`verify_export`) the checks begin at that seq and take the first line's link
    as given; the caller joins the ranges.
    """
    chain_id, signed = prelude.chain_id, prelude.signed
    chain = str(chain_id)
    prefix = EVENT_DOMAIN + chain_id.bytes
    sha256, hexlify = hashlib.sha256, binascii.hexlify
    anchor = None
    if start is None:
        seq = prelude.header["first_seq"]
        if seq == 1:
            anchor = bytes(32)
        elif seq - 1 in signed:
            anchor = signed[seq - 1]
    else:
        seq = start
    prev_hex = anchor.hex().encode() if anchor is not None else None
    prev = anchor
    body_problem = _body_problem if check_bodies else None
    while line is not None:
        start_bytes = b'{"seq":%d,"prev_hash":"' % seq
        n = len(start_bytes)
        if (
            not line.startswith(start_bytes)
            or line[n + 64 : n + 74] != b'","hash":"'
            or line[n + 138 : n + 147] != b'","body":'
            or not line.endswith(b"}\n")
        ):
            raise _diagnose(line, seq, prev_hex and prev_hex.decode(), chain_id)
        link = line[n : n + 64]
        if prev_hex is None:
            try:
                prev = bytes.fromhex(link.decode("ascii"))
            except ValueError:
                raise Rejected(seq, "prev_hash is not 32 bytes of hex") from None
            if len(prev) != 32 or prev.hex().encode() != link:
                raise Rejected(seq, "prev_hash is not 32 bytes of lowercase hex")
        elif link != prev_hex:
            raise Rejected(seq, "prev_hash does not match the previous event's hash")
        body = line[n + 147 : -2]
        digest = sha256(prefix + seq.to_bytes(8, "big") + prev + body).digest()
        digest_hex = hexlify(digest)
        if line[n + 74 : n + 138] != digest_hex:
            raise Rejected(seq, "hash does not match the event's bytes")
        if body_problem is not None:
            problem = body_problem(body, chain)
            if problem:
                raise Rejected(seq, problem)
        if seq in signed and signed[seq] != digest:
            raise Rejected(
                seq,
                f"the event's hash differs from the signed checkpoint at seq {seq}"
                " (the chain was rewritten at or before this seq)",
            )
        prev, prev_hex, seq = digest, digest_hex, seq + 1
        line = next(lines, None)
    return seq, prev_hex


# -- several processes over one big export ---------------------------------------------------

PARALLEL_MIN_BYTES = 32 * 1024 * 1024
_SEQ = re.compile(rb'\{"seq":(\d{1,19}),"prev_hash":"([0-9a-f]{64})"')


def _range_lines(path: str, start: int, end: int, block: int = 1 << 22):
    """The lines of bytes ``start``..``end`` of a file (both on line starts), split on
    b"\\n" only, as iterating over the file splits them."""
    with open(path, "rb") as handle:
        handle.seek(start)
        position = start
        while position < end:
            batch = handle.readlines(block)
            if not batch:
                return
            for line in batch:
                yield line
                position += len(line)
                if position >= end:
                    return


def _check_range(path: str, start: int, end: int, prelude: _Prelude, check_bodies: bool):
    """One process's share: (first seq, its prev_hash, next seq, last hash) or None.

    None means this range holds a problem; the caller then verifies the file again in one
    pass, which names the first bad seq exactly as a single process does.
    """
    lines = _range_lines(path, start, end)
    first = next(lines, None)
    found = _SEQ.match(first or b"")
    if found is None:
        return None
    try:
        seq, last = _events(first, lines, prelude, check_bodies, start=int(found[1]))
    except Rejected:
        return None
    return int(found[1]), found[2], seq, last


def _boundaries(path: str, begin: int, size: int, parts: int) -> list[int]:
    """Offsets splitting bytes ``begin``..``size`` into ``parts`` on line starts."""
    cuts = [begin]
    with open(path, "rb") as handle:
        for k in range(1, parts):
            handle.seek(begin + (size - begin) * k // parts)
            handle.readline()
            cut = handle.tell()
            if cuts[-1] < cut < size:
                cuts.append(cut)
    return [*cuts, size]


def _parallel(path: str, begin: int, prelude: _Prelude, check_bodies: bool, jobs: int):
    """The events checked by ``jobs`` processes; None when any range or join fails."""
    import concurrent.futures
    import multiprocessing

    size = os.path.getsize(path)
    cuts = _boundaries(path, begin, size, jobs)
    context = multiprocessing.get_context(
        "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    )
    with concurrent.futures.ProcessPoolExecutor(len(cuts) - 1, mp_context=context) as pool:
        futures = [
            pool.submit(_check_range, path, a, b, prelude, check_bodies)
            for a, b in zip(cuts, cuts[1:], strict=False)
        ]
        parts = [future.result() for future in futures]
    seq = prelude.header["first_seq"]
    signed = prelude.signed
    expected = bytes(32).hex().encode() if seq == 1 else None
    if expected is None and seq - 1 in signed:
        expected = signed[seq - 1].hex().encode()
    for part in parts:
        if part is None:
            return None
        first, link, after, last = part
        if first != seq or (expected is not None and link != expected):
            return None
        seq, expected = after, last
    return seq


def verify_export(
    path: str,
    trusted: dict[str, bytes] | None = None,
    *,
    check_bodies: bool = False,
    jobs: int | None = None,
) -> Result:
    """Verify the export file at ``path`` (``trusted``: pinned public keys by key id).

    Every event's seq, link and hash, and every checkpoint signature, are checked; that is
    what proves the export is the ledger as it was signed. ``check_bodies`` also parses
    every body as ledger JSON (the body is bytes under the hash either way, so this adds
    no tamper evidence; it tells whether the writer kept to the body format).

    A big file is checked by ``jobs`` processes (default: the CPUs this process may use),
    each over a range of lines, joined by their first and last links. If any range fails,
    the file is verified again in one pass, so the first bad seq and the reason are the
    same as with one process.
    """
    with open(path, "rb") as handle:
        try:
            prelude = _checked(_prelude(iter(handle.readline, b"")), trusted)
        except Rejected as exc:
            return Result(False, bad_seq=exc.seq, reason=exc.reason)
        first = prelude.first_event
        begin = handle.tell() - len(first) if first is not None else None
    if jobs is None:
        jobs = min(
            len(os.sched_getaffinity(0))
            if hasattr(os, "sched_getaffinity")
            else os.cpu_count() or 1,
            8,
        )
    if begin is not None and jobs > 1 and os.path.getsize(path) - begin >= PARALLEL_MIN_BYTES:
        seq = _parallel(path, begin, prelude, check_bodies, jobs)
        if seq is not None:
            try:
                return _conclude(prelude, seq, trusted)
            except Rejected as exc:
                return Result(False, bad_seq=exc.seq, reason=exc.reason)
    with open(path, "rb") as handle:
        return verify_lines(handle, trusted, check_bodies=check_bodies)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="urakata-verify",
        description="Verify an Urakata ledger export (hash chain, signed checkpoints).",
    )
    parser.add_argument("export", help="the export file (.jsonl) downloaded from Urakata")
    parser.add_argument(
        "--pubkey",
        action="append",
        metavar="FILE",
        help="trusted public key(s): PEM or 64-hex raw keys; repeat for rotated keys. Without"
        " it the keys carried by the export are used, which proves integrity, not origin.",
    )
    parser.add_argument(
        "--check-bodies",
        action="store_true",
        help="also parse every event body as ledger JSON (slower; the hashes already cover"
        " every byte of it)",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        metavar="N",
        help="processes for a big export (default: the CPUs available)",
    )
    args = parser.parse_args(argv)
    trusted = None
    try:
        if args.pubkey:
            trusted = {}
            for path in args.pubkey:
                trusted.update(load_public_keys(path))
        result = verify_export(args.export, trusted, check_bodies=args.check_bodies, jobs=args.jobs)
    except (OSError, ValueError) as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 2
    print(result)
    return 0 if result.ok else 1
