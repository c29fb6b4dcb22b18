"""Two shops with the same SKUs (their own rows), and a file store of the test's own."""

from __future__ import annotations

import dataclasses

import pytest

from tests.tenants.sasage.helpers import add_products
from urakata.tenants.sasage.storage import FileStore


@pytest.fixture
def shops(db, world):
    add_products(db, world.shop_a)
    add_products(db, world.shop_b)
    return world.shop_a, world.shop_b


@pytest.fixture
def store(tmp_path) -> FileStore:
    return FileStore.at(tmp_path / "files")


@pytest.fixture
def settings(settings, tmp_path):
    """The suite's settings with this test's own files directory (the ``store`` below)."""
    return dataclasses.replace(settings, files_dir=str(tmp_path / "files"))
