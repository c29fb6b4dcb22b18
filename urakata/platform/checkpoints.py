"""Signed checkpoints of the audit chains (DESIGN §5; README "Auditors").

A checkpoint is an Ed25519 signature over one chain's ``(chain id, seq, hash, signed_at)``:

    message = 0x01 ‖ chain id (16 bytes) ‖ seq (uint64, big-endian) ‖ hash (32 bytes)
              ‖ signed_at (27 ASCII bytes, ``YYYY-MM-DDTHH:MM:SS.ffffffZ``)

The private key comes from a file or an environment variable, never from the database.
Each checkpoint is stored (``audit_checkpoint``, in the chain's own tenant, like its events)
and written as a JSON file to a directory meant to be shipped to write-once storage. The
row carries the public key that signed it, so a rotated key stays usable for verification;
the directory keeps every public key under ``keys/``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import BigInteger, CheckConstraint, Index, LargeBinary, String, select, text
from sqlalchemy.orm import Mapped, mapped_column

from urakata.platform.audit import AGENCY_CHAIN_ID, ZERO_HASH, format_time
from urakata.platform.config import ConfigError, Settings
from urakata.platform.db import Base, Database, TenantOwned, UrakataSession, utcnow

CHECKPOINT_DOMAIN = b"\x01"
PURPOSES = ("scheduled", "export")


class AuditCheckpoint(TenantOwned, Base):
    """A signed statement "chain ``tenant_id`` had hash ``hash`` at ``seq``"."""

    __tablename__ = "audit_checkpoint"
    __table_args__ = (
        CheckConstraint("purpose IN ('scheduled', 'export')", name="purpose"),
        CheckConstraint("seq >= 0", name="seq"),
        Index("ix_audit_checkpoint_tenant_id_seq", "tenant_id", "seq", "signed_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[bytes] = mapped_column(LargeBinary)
    signed_at: Mapped[datetime]
    key_id: Mapped[str] = mapped_column(String(16))
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    purpose: Mapped[str] = mapped_column(String(16))

    def as_record(self) -> dict:
        """The checkpoint as the export and the published files carry it."""
        return {
            "type": "checkpoint",
            "chain": str(self.tenant_id),
            "seq": self.seq,
            "hash": bytes(self.hash).hex(),
            "signed_at": format_time(self.signed_at),
            "key_id": self.key_id,
            "signature": bytes(self.signature).hex(),
            "purpose": self.purpose,
        }


def key_id(public_raw: bytes) -> str:
    """The first 8 bytes of SHA-256 over the 32 raw public key bytes, in hex."""
    return hashlib.sha256(public_raw).hexdigest()[:16]


def checkpoint_message(chain_id: uuid.UUID, seq: int, digest: bytes, signed_at: str) -> bytes:
    return CHECKPOINT_DOMAIN + chain_id.bytes + seq.to_bytes(8, "big") + digest + signed_at.encode()


def key_record(public_raw: bytes) -> dict:
    return {
        "type": "key",
        "key_id": key_id(public_raw),
        "alg": "ed25519",
        "public_key": public_raw.hex(),
    }


def public_key_pem(public_raw: bytes) -> bytes:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    return Ed25519PublicKey.from_public_bytes(public_raw).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@dataclass(frozen=True)
class Signer:
    """The agency's current signing key (rotate by configuring a new one)."""

    private_key: Ed25519PrivateKey

    @property
    def public_raw(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @property
    def key_id(self) -> str:
        return key_id(self.public_raw)

    def sign(self, message: bytes) -> bytes:
        return self.private_key.sign(message)

    @classmethod
    def generate(cls) -> Signer:
        return cls(Ed25519PrivateKey.generate())

    def private_pem(self) -> bytes:
        """The private key as PKCS#8 PEM (what LEDGER_SIGNING_KEY_FILE holds)."""
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    @classmethod
    def from_text(cls, value: str | bytes, source: str = "the signing key") -> Signer:
        """A PEM private key (PKCS#8, as ``openssl genpkey -algorithm ed25519`` writes it),
        or the 32-byte seed in hex or base64."""
        data = value.encode() if isinstance(value, str) else value
        stripped = data.strip()
        try:
            if b"-----BEGIN" in stripped:
                key = serialization.load_pem_private_key(stripped, password=None)
                if not isinstance(key, Ed25519PrivateKey):
                    raise ConfigError(f"{source} is not an Ed25519 private key")
                return cls(key)
            seed = _seed(stripped)
        except ConfigError:
            raise
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"{source} cannot be read: {exc}") from None
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    @classmethod
    def from_settings(cls, settings: Settings) -> Signer:
        """From LEDGER_SIGNING_KEY_FILE or LEDGER_SIGNING_KEY; refuses to run without one."""
        if settings.ledger_signing_key_file:
            path = Path(settings.ledger_signing_key_file)
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise ConfigError(f"LEDGER_SIGNING_KEY_FILE {path}: {exc.strerror}") from None
            return cls.from_text(data, f"LEDGER_SIGNING_KEY_FILE {path}")
        if settings.ledger_signing_key:
            return cls.from_text(settings.ledger_signing_key, "LEDGER_SIGNING_KEY")
        raise ConfigError(
            "no ledger signing key: set LEDGER_SIGNING_KEY_FILE (a PEM file from"
            " `openssl genpkey -algorithm ed25519`) or LEDGER_SIGNING_KEY"
        )


def _seed(data: bytes) -> bytes:
    text_value = data.decode("ascii")
    if len(text_value) == 64:
        seed = bytes.fromhex(text_value)
    else:
        try:
            seed = base64.b64decode(text_value, validate=True)
        except binascii.Error as exc:
            raise ValueError("expected PEM, 64 hex digits or base64 of 32 bytes") from exc
    if len(seed) != 32:
        raise ValueError("an Ed25519 seed is 32 bytes")
    return seed


# -- making checkpoints ---------------------------------------------------------------

_HEAD = text("SELECT seq, hash FROM chain_head WHERE tenant_id = :chain")
_EVENT_HASH = text("SELECT hash FROM audit_event WHERE tenant_id = :chain AND seq = :seq")


def chain_point(session: UrakataSession, seq: int | None = None) -> tuple[int, bytes]:
    """The bound chain's head (``seq`` None) or the hash of its event ``seq``."""
    chain = session.tenant_id
    if seq is None:
        head = session.execute(_HEAD, {"chain": chain}).one_or_none()
        return (head.seq, bytes(head.hash)) if head else (0, ZERO_HASH)
    if seq == 0:
        return 0, ZERO_HASH
    digest = session.execute(_EVENT_HASH, {"chain": chain, "seq": seq}).scalar_one_or_none()
    if digest is None:
        raise LookupError(f"chain {chain} has no event {seq}")
    return seq, bytes(digest)


def make_checkpoint(
    session: UrakataSession,
    signer: Signer,
    directory: str | Path,
    *,
    purpose: str = "scheduled",
    seq: int | None = None,
) -> AuditCheckpoint:
    """Sign the bound chain's head (or its event ``seq``), store it, publish its file.

    The file is written before the transaction commits: a checkpoint whose row is rolled
    back is still a true signed statement about the chain, so publishing it is harmless.
    """
    if purpose not in PURPOSES:
        raise ValueError(f"purpose must be one of {PURPOSES}")
    chain = session.tenant_id
    if chain is None:
        raise ValueError("bind the session to the chain to checkpoint")
    seq, digest = chain_point(session, seq)
    signed_at = utcnow()
    message = checkpoint_message(chain, seq, digest, format_time(signed_at))
    checkpoint = AuditCheckpoint(
        tenant_id=chain,
        seq=seq,
        hash=digest,
        signed_at=signed_at,
        key_id=signer.key_id,
        public_key=signer.public_raw,
        signature=signer.sign(message),
        purpose=purpose,
    )
    session.add(checkpoint)
    session.flush()
    publish(checkpoint, directory)
    return checkpoint


def publish(checkpoint: AuditCheckpoint, directory: str | Path) -> Path:
    """Write the checkpoint (and its public key, once) as files; never overwrite one."""
    root = Path(directory)
    record = checkpoint.as_record()
    keys = root / "keys"
    keys.mkdir(parents=True, exist_ok=True)
    _write_once(keys / f"{checkpoint.key_id}.pem", public_key_pem(bytes(checkpoint.public_key)))
    stamp = record["signed_at"].replace("-", "").replace(":", "").replace(".", "")
    folder = root / str(checkpoint.tenant_id) / stamp[:8]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stamp}-{checkpoint.seq:012d}-{checkpoint.id.hex[:8]}.json"
    _write_once(path, json.dumps(record, sort_keys=True).encode() + b"\n")
    return path


def _write_once(path: Path, data: bytes) -> None:
    """Atomically (a reader never sees half a file). Not fsynced one by one: the row is
    the durable copy, and :func:`publish` can write any lost file again from it."""
    if path.exists():
        return
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def checkpoint_every_chain(
    db: Database, signer: Signer, directory: str | Path, shop_ids: list[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """One scheduled checkpoint per chain (the agency's and each shop's), idle or not.

    Each chain in a session of its own (the fan-out helper): one failing shop does not
    hold back the others' published checkpoints. Returns {chain id: signed seq}.
    """
    from urakata.platform.tenancy import fan_out_across_tenants

    def sign(session: UrakataSession) -> int:
        return make_checkpoint(session, signer, directory).seq

    return fan_out_across_tenants(db, [AGENCY_CHAIN_ID, *shop_ids], sign)


# -- reading --------------------------------------------------------------------------


def latest_checkpoint(session: UrakataSession) -> AuditCheckpoint | None:
    return session.scalars(
        select(AuditCheckpoint)
        .order_by(AuditCheckpoint.seq.desc(), AuditCheckpoint.signed_at.desc())
        .limit(1)
    ).first()


def checkpoints_between(session: UrakataSession, low: int, high: int) -> list[AuditCheckpoint]:
    """The bound chain's checkpoints with ``low <= seq <= high``: the latest per seq."""
    rows = session.scalars(
        select(AuditCheckpoint)
        .where(AuditCheckpoint.seq >= low, AuditCheckpoint.seq <= high)
        .order_by(AuditCheckpoint.seq, AuditCheckpoint.signed_at.desc())
    )
    latest: dict[int, AuditCheckpoint] = {}
    for checkpoint in rows:
        latest.setdefault(checkpoint.seq, checkpoint)
    return list(latest.values())


def verify_checkpoint(checkpoint: AuditCheckpoint) -> bool:
    """Whether the stored signature verifies with the stored public key."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    message = checkpoint_message(
        checkpoint.tenant_id,
        checkpoint.seq,
        bytes(checkpoint.hash),
        format_time(checkpoint.signed_at),
    )
    try:
        Ed25519PublicKey.from_public_bytes(bytes(checkpoint.public_key)).verify(
            bytes(checkpoint.signature), message
        )
    except InvalidSignature:
        return False
    return key_id(bytes(checkpoint.public_key)) == checkpoint.key_id
