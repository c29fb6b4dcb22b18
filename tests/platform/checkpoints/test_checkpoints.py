"""Signed checkpoints: the key from a file or the environment, rows and published files,
rotation, isolation between shops, and the cron job that signs every chain."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from urakata.platform import audit, checkpoints
from urakata.platform.audit import AGENCY_CHAIN_ID, Actor
from urakata.platform.checkpoints import AuditCheckpoint, Signer
from urakata.platform.config import ConfigError, Settings
from urakata.worker import cron  # noqa: F401 - registers the cron entries
from urakata.worker.registry import load_jobs
from urakata.worker.runtime import REGISTRY, enqueue_spec

CLERK = Actor(type="user", id=str(uuid.uuid4()), label="検品 太郎")


def _pem(signer: Signer) -> bytes:
    return signer.private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _raw_seed(signer: Signer) -> bytes:
    return signer.private_key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )


def _checkpoints(db, chain) -> list[AuditCheckpoint]:
    with db.tenant_session(chain) as s:
        return list(s.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.signed_at)))


# -- the key ---------------------------------------------------------------------------


def test_the_key_is_read_from_a_pem_file(tmp_path):
    signer = Signer.generate()
    path = tmp_path / "ledger.pem"
    path.write_bytes(_pem(signer))
    loaded = Signer.from_settings(Settings(ledger_signing_key_file=str(path)))
    assert loaded.public_raw == signer.public_raw and len(loaded.key_id) == 16


def test_the_key_is_read_from_the_environment_as_hex_or_base64():
    import base64

    signer = Signer.generate()
    seed = _raw_seed(signer)
    env = {"DATABASE_URL": "postgresql://x/y", "URAKATA_MODE": "test"}
    for text in (seed.hex(), base64.b64encode(seed).decode(), _pem(signer).decode()):
        settings = Settings.from_env({**env, "LEDGER_SIGNING_KEY": text})
        assert Signer.from_settings(settings).key_id == signer.key_id


@pytest.mark.parametrize(
    "settings, message",
    [
        (Settings(), "no ledger signing key"),
        (Settings(ledger_signing_key="abc"), "LEDGER_SIGNING_KEY cannot be read"),
        (Settings(ledger_signing_key_file="/nonexistent/key.pem"), "LEDGER_SIGNING_KEY_FILE"),
    ],
)
def test_a_missing_or_bad_key_refuses_to_sign_with_a_message(settings, message):
    with pytest.raises(ConfigError, match=message):
        Signer.from_settings(settings)


def test_the_checkpoint_directory_comes_from_the_environment(tmp_path):
    env = {"DATABASE_URL": "postgresql://x/y", "LEDGER_CHECKPOINT_DIR": str(tmp_path / "cp")}
    assert Settings.from_env({**env, "URAKATA_MODE": "test"}).checkpoint_dir == str(tmp_path / "cp")


# -- checkpoints -----------------------------------------------------------------------


def test_a_checkpoint_signs_the_head_and_is_stored_and_published(db, world, tmp_path):
    signer = Signer.generate()
    with db.tenant_session(world.shop_a.id) as s:
        recorded = audit.record(s, CLERK, "order.confirmed", object_type="order", object_id="o-1")
        checkpoint = checkpoints.make_checkpoint(s, signer, tmp_path)
    assert (checkpoint.seq, bytes(checkpoint.hash)) == (recorded.seq, recorded.hash)
    assert checkpoints.verify_checkpoint(checkpoint)
    (stored,) = _checkpoints(db, world.shop_a.id)
    assert stored.purpose == "scheduled" and stored.key_id == signer.key_id
    files = list((tmp_path / str(world.shop_a.id)).rglob("*.json"))
    assert len(files) == 1
    assert json.loads(files[0].read_text()) == checkpoint.as_record()
    assert (tmp_path / "keys" / f"{signer.key_id}.pem").read_bytes() == (
        checkpoints.public_key_pem(signer.public_raw)
    )


def test_a_forged_row_does_not_verify(db, world, tmp_path):
    with db.tenant_session(world.shop_a.id) as s:
        checkpoint = checkpoints.make_checkpoint(s, Signer.generate(), tmp_path)
    checkpoint.seq += 1  # the detached object, as a forger would present it
    assert not checkpoints.verify_checkpoint(checkpoint)


def test_an_idle_chain_is_signed_again_and_every_chain_is_signed(db, world, tmp_path):
    signer = Signer.generate()
    shops = [world.shop_a.id, world.shop_b.id]
    first = checkpoints.checkpoint_every_chain(db, signer, tmp_path, shops)
    second = checkpoints.checkpoint_every_chain(db, signer, tmp_path, shops)
    assert set(first) == {AGENCY_CHAIN_ID, *shops} and first == second
    for chain in (AGENCY_CHAIN_ID, *shops):
        rows = _checkpoints(db, chain)
        assert len(rows) == 2 and rows[0].seq == rows[1].seq
        assert rows[0].signed_at < rows[1].signed_at


def test_rotation_keeps_the_old_public_key_on_its_checkpoints(db, world, tmp_path):
    old, new = Signer.generate(), Signer.generate()
    with db.tenant_session(world.shop_a.id) as s:
        checkpoints.make_checkpoint(s, old, tmp_path)
        audit.record(s, CLERK, "order.confirmed", object_type="order", object_id="o-2")
        checkpoints.make_checkpoint(s, new, tmp_path)
    rows = _checkpoints(db, world.shop_a.id)
    assert [r.key_id for r in rows] == [old.key_id, new.key_id]
    assert all(checkpoints.verify_checkpoint(r) for r in rows)
    assert {p.stem for p in (tmp_path / "keys").glob("*.pem")} == {old.key_id, new.key_id}


def test_a_shop_sees_only_its_own_checkpoints(db, world, tmp_path):
    signer = Signer.generate()
    with db.tenant_session(world.shop_b.id) as s:
        checkpoints.make_checkpoint(s, signer, tmp_path)
    with db.tenant_session(world.shop_a.id) as s:
        assert s.scalars(select(AuditCheckpoint)).all() == []
        assert checkpoints.latest_checkpoint(s) is None


def test_the_app_role_cannot_change_or_remove_a_checkpoint(connection, db, world, tmp_path):
    with db.tenant_session(world.shop_a.id) as s:
        checkpoints.make_checkpoint(s, Signer.generate(), tmp_path)
    connection.exec_driver_sql(f"SET LOCAL app.tenant_id = '{world.shop_a.id}'")
    for statement in (
        "UPDATE audit_checkpoint SET seq = seq + 1",
        "DELETE FROM audit_checkpoint",
        "TRUNCATE audit_checkpoint",
    ):
        with pytest.raises(DBAPIError), connection.begin_nested():
            connection.exec_driver_sql(statement)


def test_an_export_checkpoint_signs_a_past_event(db, world, tmp_path):
    with db.tenant_session(world.shop_a.id) as s:
        first = audit.record(s, CLERK, "a", object_type="order", object_id="o-1")
        audit.record(s, CLERK, "b", object_type="order", object_id="o-1")
        checkpoint = checkpoints.make_checkpoint(
            s, Signer.generate(), tmp_path, purpose="export", seq=first.seq
        )
        with pytest.raises(LookupError):
            checkpoints.make_checkpoint(s, Signer.generate(), tmp_path, seq=10**9)
    assert (checkpoint.seq, bytes(checkpoint.hash)) == (first.seq, first.hash)


# -- the cron job ----------------------------------------------------------------------


def test_the_cron_job_signs_every_chain_every_ten_minutes(db, world, spine, settings, signer):
    from rq.cron import _job_data_registry  # rq keeps the module's registrations here

    load_jobs()
    entry = next(e for e in _job_data_registry if e["name"] == "audit-checkpoints")
    assert entry["cron"] == "*/10 * * * *" and entry["args"][0] == "audit.checkpoint_chains"
    enqueue_spec(
        spine.ctx.redis,
        REGISTRY["audit.checkpoint_chains"],
        job_id="cp-test",
        shop_id=None,
        key=None,
        outbox_id=None,
        args={},
    )
    spine.run()
    for chain in (AGENCY_CHAIN_ID, world.shop_a.id, world.shop_b.id):
        (row,) = _checkpoints(db, chain)
        assert row.key_id == signer.key_id and checkpoints.verify_checkpoint(row)
        assert list((Path(settings.checkpoint_dir) / str(chain)).rglob("*.json"))
