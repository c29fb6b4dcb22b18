"""Settings with a ledger signing key and throwaway checkpoint and file directories."""

from __future__ import annotations

import dataclasses

import pytest
from cryptography.hazmat.primitives import serialization

from urakata.platform.checkpoints import Signer


@pytest.fixture
def signer() -> Signer:
    return Signer.generate()


@pytest.fixture
def settings(settings, signer, tmp_path):
    seed = signer.private_key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return dataclasses.replace(
        settings,
        ledger_signing_key=seed.hex(),
        checkpoint_dir=str(tmp_path / "checkpoints"),
        files_dir=str(tmp_path / "files"),
    )
