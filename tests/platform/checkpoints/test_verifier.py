"""``urakata-verify`` on real 10,000-event exports: each forgery is named at its first bad seq.

Two shops' chains are built once through the application role and committed, with a
checkpoint at seq 5,000 signed by a key since rotated out and the export's final
checkpoint signed by the current key. Every drill edits a copy of the export's bytes the
way a forger would and runs the standalone verifier on them.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text

import urakata_verify
from urakata.platform import audit, checkpoints, exports
from urakata.platform.audit import Actor, PendingEvent
from urakata.platform.db import Database

EVENTS = 10_000
BATCH = 2_500
MIDDLE = 5_000
CLERK = Actor(
    type="user", id=str(uuid.uuid4()), label="出荷 花子", request_id="r-1", ip="192.0.2.7"
)
REPO = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class Export:
    chain: uuid.UUID
    data: bytes
    old_key: checkpoints.Signer
    new_key: checkpoints.Signer

    @property
    def lines(self) -> list[bytes]:
        return self.data.splitlines(keepends=True)

    def index_of(self, seq: int) -> int:
        """The line number of event ``seq``."""
        for number, line in enumerate(self.lines):
            if line.startswith(b'{"seq":%d,' % seq):
                return number
        raise LookupError(seq)

    @property
    def trusted(self) -> dict[str, bytes]:
        return {k.key_id: k.public_raw for k in (self.old_key, self.new_key)}


def _fill(db: Database, chain: uuid.UUID, old_key, directory) -> None:
    for start in range(0, EVENTS, BATCH):
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
                        data={"parcels": n % 3 + 1, "note": "検品済み"},
                    )
                    for n in range(start, min(start + BATCH, EVENTS))
                ],
            )
            if start + BATCH == MIDDLE:
                checkpoints.make_checkpoint(s, old_key, directory)


def _build(db, admin_engine, chain, directory, old_key, new_key) -> Export:
    with admin_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO tenant (id, slug, name, timezone, status, created_at)"
                " VALUES (:id, :slug, 'verify drill', 'Asia/Tokyo', 'active', now())"
            ),
            {"id": chain, "slug": f"v-{chain.hex[:12]}"},
        )
    _fill(db, chain, old_key, directory)
    out = io.BytesIO()
    with db.tenant_session(chain) as s:
        exports.write_export(s, new_key, directory, out, label="drill", start=None, end=None)
    return Export(chain, out.getvalue(), old_key, new_key)


def _remove(admin_engine, chain: uuid.UUID) -> None:
    with admin_engine.begin() as conn:
        conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        for table in ("audit_event", "audit_checkpoint", "chain_head"):
            conn.execute(text(f"DELETE FROM {table} WHERE tenant_id = :c"), {"c": chain})
        conn.execute(text("DELETE FROM tenant WHERE id = :c"), {"c": chain})


@pytest.fixture(scope="module")
def built(test_database, admin_engine, tmp_path_factory):
    db = Database.from_url(test_database.app_url)
    directory = tmp_path_factory.mktemp("checkpoints")
    old_key, new_key = checkpoints.Signer.generate(), checkpoints.Signer.generate()
    chains = uuid.uuid4(), uuid.uuid4()
    try:
        yield tuple(_build(db, admin_engine, c, directory, old_key, new_key) for c in chains)
    finally:
        for chain in chains:
            _remove(admin_engine, chain)
        db.dispose()


@pytest.fixture(scope="module")
def export(built) -> Export:
    return built[0]


@pytest.fixture(scope="module")
def other(built) -> Export:
    """The second shop's export: the source of spliced events and checkpoints."""
    return built[1]


def verify(lines, trusted=None, check_bodies=False) -> urakata_verify.Result:
    if isinstance(lines, bytes):
        lines = lines.splitlines(keepends=True)
    return urakata_verify.verify_lines(lines, trusted, check_bodies=check_bodies)


def assert_fails_at(result, seq, reason: str) -> None:
    assert not result.ok, str(result)
    assert result.bad_seq == seq, str(result)
    assert reason in result.reason, str(result)


def _rehash_from(lines: list[bytes], chain: uuid.UUID, number: int) -> list[bytes]:
    """Recompute every hash from line ``number`` on, as a forger rebuilding the chain would."""
    lines = list(lines)
    prev = None
    for n in range(number, len(lines)):
        record = json.loads(lines[n])
        body = lines[n][lines[n].index(b',"body":') + 8 : -2]
        prev_hex = prev or record["prev_hash"]
        digest = hashlib.sha256(
            b"\x00"
            + chain.bytes
            + record["seq"].to_bytes(8, "big")
            + bytes.fromhex(prev_hex)
            + body
        ).hexdigest()
        lines[n] = b'{"seq":%d,"prev_hash":"%s","hash":"%s","body":%s}\n' % (
            record["seq"],
            prev_hex.encode(),
            digest.encode(),
            body,
        )
        prev = digest
    return lines


# -- the untouched export --------------------------------------------------------------


def test_an_untouched_export_verifies_with_the_keys_it_carries(export):
    result = verify(export.data)
    assert result.ok, str(result)
    assert (result.events, result.first_seq, result.last_seq) == (EVENTS, 1, EVENTS)
    assert result.checkpoints == 2 and not result.pinned
    assert str(result).startswith("ok: chain ")


def test_an_untouched_export_verifies_against_the_pinned_old_and_new_keys(export):
    result = verify(export.data, export.trusted)
    assert result.ok and result.pinned, str(result)
    assert result.keys == sorted([export.old_key.key_id, export.new_key.key_id])


def test_the_other_shops_events_are_not_in_this_export(export, other):
    assert str(other.chain).encode() not in export.data
    assert verify(other.data).ok


# -- the bad inputs of the issue, one per case -------------------------------------------


def test_a_changed_byte_is_a_bad_hash(export):
    lines = export.lines
    n = export.index_of(1_234)
    lines[n] = lines[n].replace(b'"paid"', b'"pajd"', 1)
    assert_fails_at(verify(lines), 1_234, "hash does not match")


def test_a_deleted_event_is_a_gap(export):
    lines = export.lines
    del lines[export.index_of(4_321)]
    assert_fails_at(verify(lines), 4_321, "expected seq 4321, found 4322")


def test_reordered_events_are_caught_at_the_first_moved_one(export):
    lines = export.lines
    n = export.index_of(6_000)
    lines[n], lines[n + 1] = lines[n + 1], lines[n]
    assert_fails_at(verify(lines), 6_000, "expected seq 6000, found 6001")


def test_events_spliced_from_another_chain_break_the_link(export, other):
    lines = export.lines
    n, m = export.index_of(2_000), other.index_of(2_000)
    lines[n : n + 10] = other.lines[m : m + 10]
    assert_fails_at(verify(lines), 2_000, "prev_hash does not match")


def test_a_spliced_event_with_the_right_link_still_names_its_own_chain(export, other):
    lines = export.lines
    n, m = export.index_of(1), other.index_of(1)
    lines[n] = other.lines[m]  # seq 1 links to the zero hash in every chain
    assert_fails_at(verify(lines), 1, "hash does not match")


def test_a_truncated_tail_is_caught_by_the_final_checkpoint(export):
    lines = export.lines[: export.index_of(9_901)]
    assert_fails_at(verify(lines), 9_901, "a cut-off tail")


def test_a_file_cut_before_its_checkpoints_is_refused(export):
    lines = export.lines[:1]
    assert_fails_at(verify(lines), 1, "carries no checkpoint")


def test_a_chain_rebuilt_with_fresh_hashes_fails_at_the_signed_checkpoint(export):
    lines = export.lines
    n = export.index_of(3_000)
    lines[n] = lines[n].replace(b'"shipped"', b'"lost"', 1)
    lines = _rehash_from(lines, export.chain, n)
    assert_fails_at(verify(lines), MIDDLE, "differs from the signed checkpoint")


def test_a_tail_rebuilt_after_the_last_checkpoint_fails_at_the_final_one(export):
    lines = export.lines
    n = export.index_of(7_000)
    lines[n] = lines[n].replace(b'"shipped"', b'"lost"', 1)
    lines = _rehash_from(lines, export.chain, n)
    assert_fails_at(verify(lines), EVENTS, "differs from the signed checkpoint")


def _checkpoint_lines(lines):
    return [n for n, line in enumerate(lines) if line.startswith(b'{"type":"checkpoint"')]


def test_a_forged_checkpoint_signature_is_refused(export):
    lines = export.lines
    final = _checkpoint_lines(lines)[-1]
    record = json.loads(lines[final])
    record["signature"] = ("00" if record["signature"][:2] != "00" else "11") + record["signature"][
        2:
    ]
    lines[final] = json.dumps(record, separators=(",", ":")).encode() + b"\n"
    assert_fails_at(verify(lines), EVENTS, "does not verify (forged or re-used)")


def test_a_reused_checkpoint_signature_is_refused(export):
    """The forger moves the final checkpoint to a rewritten hash, keeping its signature."""
    lines = export.lines
    n = export.index_of(EVENTS)
    lines[n] = lines[n].replace(b'"shipped"', b'"lost"', 1)
    lines = _rehash_from(lines, export.chain, n)
    new_hash = json.loads(lines[n])["hash"]
    final = _checkpoint_lines(lines)[-1]
    record = json.loads(lines[final])
    record["hash"] = new_hash
    lines[final] = json.dumps(record, separators=(",", ":")).encode() + b"\n"
    assert_fails_at(verify(lines), EVENTS, "does not verify (forged or re-used)")


def test_a_checkpoint_of_another_chain_is_refused(export, other):
    lines = export.lines
    final = _checkpoint_lines(lines)[-1]
    lines[final] = other.lines[_checkpoint_lines(other.lines)[-1]]
    assert_fails_at(verify(lines), EVENTS, "is for another chain")


def test_a_wrong_public_key_is_refused(export):
    stranger = checkpoints.Signer.generate()
    result = verify(export.data, {stranger.key_id: stranger.public_raw})
    assert_fails_at(result, MIDDLE, "not a trusted public key")


def test_an_export_re_signed_by_a_forger_fails_against_the_pinned_key(export):
    """The forger rebuilds the chain and signs a new final checkpoint with a key of theirs."""
    forger = checkpoints.Signer.generate()
    lines = export.lines
    n = export.index_of(EVENTS)
    lines[n] = lines[n].replace(b'"shipped"', b'"lost"', 1)
    lines = _rehash_from(lines, export.chain, n)
    final = _checkpoint_lines(lines)[-1]
    record = json.loads(lines[final])
    record["hash"], record["key_id"] = json.loads(lines[n])["hash"], forger.key_id
    message = checkpoints.checkpoint_message(
        export.chain, EVENTS, bytes.fromhex(record["hash"]), record["signed_at"]
    )
    record["signature"] = forger.sign(message).hex()
    lines[final] = json.dumps(record, separators=(",", ":")).encode() + b"\n"
    lines.insert(1, json.dumps(checkpoints.key_record(forger.public_raw)).encode() + b"\n")
    assert verify(lines).ok  # integrity alone: the forger's key is carried by the file
    assert_fails_at(verify(lines, export.trusted), EVENTS, "not a trusted public key")


def test_the_rotated_out_key_alone_does_not_verify_the_new_checkpoint(export):
    result = verify(export.data, {export.old_key.key_id: export.old_key.public_raw})
    assert_fails_at(result, EVENTS, "not a trusted public key")


def test_a_malformed_event_line_is_refused_at_its_seq(export):
    lines = export.lines
    n = export.index_of(8_000)
    lines[n] = lines[n][:100] + b"\n"
    assert_fails_at(verify(lines), 8_000, "not valid JSON")


def test_a_body_with_a_float_is_refused(export):
    lines = export.lines
    n = export.index_of(8_500)
    lines[n] = lines[n].replace(b'"parcels":', b'"parcels":1.5,"x":', 1)
    lines = _rehash_from(lines, export.chain, n)
    assert_fails_at(verify(lines, check_bodies=True), 8_500, "not allowed in a ledger body")
    # Without the body check the rebuilt chain still fails where a signature covers it.
    result = verify(lines)
    assert not result.ok and "differs from the signed checkpoint" in result.reason


def _tamperings(export):
    """Each forgery as a whole file, and the untouched one."""
    yield "untouched", export.data
    lines = export.lines
    n = export.index_of(1_234)
    lines[n] = lines[n].replace(b'"parcels":', b'"parcels": ', 1)
    yield "changed byte", b"".join(lines)
    lines = export.lines
    del lines[export.index_of(4_321)]
    yield "deleted event", b"".join(lines)
    lines = export.lines
    a, b = export.index_of(6_000), export.index_of(6_001)
    lines[a], lines[b] = lines[b], lines[a]
    yield "reordered", b"".join(lines)
    yield "truncated tail", b"".join(export.lines[: export.index_of(9_901)])
    lines = export.lines
    n = export.index_of(5_000)
    lines[n] = lines[n][:-1] + b"\r"
    yield "two lines joined by a carriage return", b"".join(lines)


@pytest.mark.parametrize("jobs", [2, 5])
def test_several_processes_reach_the_same_verdict_as_one(export, tmp_path, monkeypatch, jobs):
    monkeypatch.setattr(urakata_verify, "PARALLEL_MIN_BYTES", 0)
    for name, data in _tamperings(export):
        path = tmp_path / "ledger.jsonl"
        path.write_bytes(data)
        one = urakata_verify.verify_export(str(path), jobs=1)
        several = urakata_verify.verify_export(str(path), jobs=jobs)
        assert several == one, name
        assert one.ok == (name == "untouched"), (name, str(one))


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"", "the export is empty"),
        (b"not json\n", "not valid JSON"),
        (b'{"type":"something else"}\n', "not an Urakata ledger export"),
        (b'{"type":"urakata-ledger-export","format":2}\n', "unknown export format"),
    ],
)
def test_a_malformed_export_is_refused_before_any_event(data, reason):
    assert_fails_at(verify(data), None, reason)


# -- the command -------------------------------------------------------------------------


def _isolated_verifier(tmp_path: Path) -> Path:
    """A copy of the verifier alone on a path that has no Urakata on it."""
    shutil.copytree(REPO / "urakata_verify", tmp_path / "lib" / "urakata_verify")
    return tmp_path / "lib"


_RUN_ISOLATED = """
import sys, importlib.abc
class NoApp(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "urakata" or name.startswith("urakata."):
            raise ImportError("the verifier must not import the app: " + name)
sys.meta_path.insert(0, NoApp())
sys.path.insert(0, sys.argv.pop(1))
import urakata_verify
code = urakata_verify.main(sys.argv[1:])
assert not [m for m in sys.modules if m == "urakata" or m.startswith("urakata.")]
sys.exit(code)
"""


def _run(tmp_path, *args):
    lib = _isolated_verifier(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [sys.executable, "-I", "-c", _RUN_ISOLATED, str(lib), *map(str, args)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )


def test_the_command_runs_without_the_app_and_accepts_an_untouched_export(export, tmp_path):
    path = tmp_path / "ledger.jsonl"
    path.write_bytes(export.data)
    keys = tmp_path / "keys.pem"
    keys.write_bytes(
        checkpoints.public_key_pem(export.old_key.public_raw)
        + checkpoints.public_key_pem(export.new_key.public_raw)
    )
    done = _run(tmp_path, path, "--pubkey", keys)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"ok: chain {export.chain}, {EVENTS} events"), done.stdout
    assert "pinned key" in done.stdout


def test_the_command_names_the_first_bad_seq_and_exits_non_zero(export, tmp_path):
    lines = export.lines
    del lines[export.index_of(77)]
    path = tmp_path / "ledger.jsonl"
    path.write_bytes(b"".join(lines))
    hex_keys = tmp_path / "keys.txt"
    hex_keys.write_text(f"{export.old_key.public_raw.hex()}\n{export.new_key.public_raw.hex()}\n")
    done = _run(tmp_path, path, "--pubkey", hex_keys)
    assert done.returncode == 1
    assert (
        done.stdout.strip() == "FAILED at seq 77: expected seq 77, found 78 (a gap or reordering)"
    )


def test_the_command_reports_an_unreadable_key_file(export, tmp_path):
    path = tmp_path / "ledger.jsonl"
    path.write_bytes(export.data)
    (tmp_path / "bad.pem").write_text("not a key\n")
    done = _run(tmp_path, path, "--pubkey", tmp_path / "bad.pem")
    assert done.returncode == 2 and "FAILED" in done.stderr


def test_the_verifier_source_imports_nothing_from_the_app():
    import ast

    for path in (REPO / "urakata_verify").glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            for name in names:
                root = name.split(".")[0]
                assert root in sys.stdlib_module_names | {"cryptography", "urakata_verify"}, (
                    f"{path.name} imports {name}"
                )


def test_an_untouched_export_is_verified_by_the_processes_alone(export, tmp_path, monkeypatch):
    """No silent fallback to one pass: the ranges and their joins carry the verdict."""
    monkeypatch.setattr(urakata_verify, "PARALLEL_MIN_BYTES", 0)

    def one_pass(*args, **kwargs):
        raise AssertionError("fell back to one pass")

    monkeypatch.setattr(urakata_verify, "verify_lines", one_pass)
    path = tmp_path / "ledger.jsonl"
    path.write_bytes(export.data)
    result = urakata_verify.verify_export(str(path), jobs=3)
    assert result.ok and result.events == EVENTS and result.last_seq == EVENTS, str(result)
