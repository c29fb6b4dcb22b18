"""What verifying an export costs (issue 16), and a checkpoint run over 1,000 shops.

a. ``urakata-verify`` over a 1,000,000-event export (``BENCH_EVENTS``) against hashing the
   same bytes with hashlib alone in the same run (SHA-256 over every line of the file,
   read the same way, in one process). Targets: >= 0.5x the hashlib-only rate, and
   >= 100,000 events/s. Printed for the default (every CPU), for one process, and with
   ``--check-bodies`` (every body parsed as JSON too). The export is written
   in the exact export format (``platform.exports``) from real canonical bodies, with a
   final checkpoint signed by a fresh key; no database is needed for this part.
b. One scheduled checkpoint run (``checkpoints.checkpoint_every_chain``) over 1,000 shops
   plus the agency chain, each with a few events, on a throwaway database (seconds).

Nothing is asserted; figures are printed with their target.
"""

from __future__ import annotations

import hashlib
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import text

import urakata_verify
from urakata.platform import audit, checkpoints, exports
from urakata.platform.audit import Actor, PendingEvent

EVENTS = int(os.environ.get("BENCH_EVENTS", "1000000"))
SHOPS = 1_000
RATIO_TARGET = 0.5
RATE_TARGET = 100_000
CLERK = Actor(
    type="user", id=str(uuid.uuid4()), label="出荷 花子", request_id="r-1", ip="192.0.2.7"
)


def write_synthetic_export(path: Path, events: int, signer: checkpoints.Signer) -> uuid.UUID:
    """A valid export of one chain with ``events`` events, as ``write_export`` lays it out."""
    chain = uuid.uuid4()
    prev, batch = audit.ZERO_HASH, 10_000
    with open(path, "wb") as out:
        header_at = out.tell()
        out.write(b" " * 400 + b"\n")  # the header is rewritten at the end
        out.write(b" " * 600 + b"\n")  # key line and final checkpoint, rewritten too
        out.write(b" " * 600 + b"\n")
        for start in range(0, events, batch):
            pending = [
                PendingEvent(
                    "order.shipped",
                    "order",
                    f"o-{n}",
                    changes={"status": ("paid", "shipped")},
                    data={"parcels": n % 3 + 1},
                )
                for n in range(start, min(start + batch, events))
            ]
            bodies = audit._bodies(chain, audit.utcnow(), CLERK, pending)
            lines = []
            for offset, body in enumerate(bodies):
                seq = start + offset + 1
                digest = audit.event_hash(chain, seq, prev, body)
                lines.append(exports._event_line(seq, prev, digest, body))
                prev = digest
            out.write(b"".join(lines))
    signed_at = audit.format_time(audit.utcnow())
    message = checkpoints.checkpoint_message(chain, events, prev, signed_at)
    checkpoint = {
        "type": "checkpoint",
        "chain": str(chain),
        "seq": events,
        "hash": prev.hex(),
        "signed_at": signed_at,
        "key_id": signer.key_id,
        "signature": signer.sign(message).hex(),
        "purpose": "export",
    }
    header = {
        "type": exports.EXPORT_TYPE,
        "format": exports.EXPORT_FORMAT,
        "chain": str(chain),
        "label": "bench",
        "first_seq": 1,
        "last_seq": events,
        "from": None,
        "to": None,
        "events": events,
        "created_at": signed_at,
    }
    with open(path, "r+b") as out:
        out.seek(header_at)
        for record, width in (
            (header, 400),
            (checkpoints.key_record(signer.public_raw), 600),
            (checkpoint, 600),
        ):
            line = exports._line(record)[:-1]
            # Padding inside the object keeps the file's layout: JSON ignores the spaces.
            out.write(line[:-1] + b" " * (width - len(line)) + b"}\n")
    return chain


def hashlib_only(path: Path) -> int:
    sha256, count = hashlib.sha256, 0
    with open(path, "rb") as handle:
        for line in handle:
            sha256(line).digest()
            count += 1
    return count


def bench_verifier(rounds: int) -> None:
    signer = checkpoints.Signer.generate()
    with tempfile.TemporaryDirectory(prefix="urakata-bench-verify-") as folder:
        path = Path(folder) / "ledger.jsonl"
        started = time.perf_counter()
        write_synthetic_export(path, EVENTS, signer)
        print(
            f"export of {EVENTS:,} events written in {time.perf_counter() - started:.1f} s"
            f" ({path.stat().st_size / 1e6:.0f} MB)"
        )
        trusted = {signer.key_id: signer.public_raw}
        modes = {
            "urakata-verify (all CPUs)": {},
            "urakata-verify --jobs 1": {"jobs": 1},
            "urakata-verify --check-bodies": {"check_bodies": True},
        }
        times: dict[str, list[float]] = {name: [] for name in modes}
        hash_times = []
        for _ in range(rounds):
            for name, options in modes.items():
                started = time.perf_counter()
                result = urakata_verify.verify_export(str(path), trusted, **options)
                times[name].append(time.perf_counter() - started)
                assert result.ok, str(result)
            started = time.perf_counter()
            hashlib_only(path)
            hash_times.append(time.perf_counter() - started)
    hash_s = statistics.median(hash_times)
    print(f"hashlib alone over the same lines: {hash_s:.2f} s, {EVENTS / hash_s:,.0f} lines/s")
    for name, measured in times.items():
        verify_s = statistics.median(measured)
        print(
            f"{name}: {verify_s:.2f} s median of {rounds}, {EVENTS / verify_s:,.0f} events/s"
            f" (target >= {RATE_TARGET:,}), {hash_s / verify_s:.2f}x hashlib alone"
            f" (target >= {RATIO_TARGET}x)"
        )


def bench_checkpoint_run() -> None:
    from bench.harness import bench_database
    from urakata.platform.db import Database, make_engine

    with bench_database("urakata_bench_checkpoints") as dbs:
        shops = [uuid.uuid4() for _ in range(SHOPS)]
        owner = make_engine(dbs.owner_url)
        with owner.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO tenant (id, slug, name, timezone, status, created_at)"
                    " VALUES (:id, :slug, 'bench', 'Asia/Tokyo', 'active', now())"
                ),
                [{"id": s, "slug": f"b-{s.hex[:12]}"} for s in shops],
            )
        owner.dispose()
        db = Database.from_url(dbs.app_url)
        for shop in shops:
            with db.tenant_session(shop) as s:
                audit.record_many(
                    s, CLERK, [PendingEvent("order.shipped", "order", f"o-{n}") for n in range(5)]
                )
        signer = checkpoints.Signer.generate()
        with tempfile.TemporaryDirectory(prefix="urakata-bench-cp-") as folder:
            started = time.perf_counter()
            signed = checkpoints.checkpoint_every_chain(db, signer, folder, shops)
            elapsed = time.perf_counter() - started
        db.dispose()
    print(
        f"checkpoint run over {len(signed) - 1:,} shops + the agency chain: {elapsed:.2f} s"
        f" ({len(signed) / elapsed:,.0f} chains/s, rows + files + signatures)"
    )


def main(rounds: int = 3) -> None:
    bench_verifier(rounds)
    bench_checkpoint_run()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
