"""Portal tests of sasage: both shops with the same SKUs, a files directory of the test's
own (the app's and the helpers' store are the same)."""

from __future__ import annotations

import dataclasses

import pytest

from tests.tenants.sasage.helpers import add_products
from urakata.tenants.sasage.storage import FileStore


@pytest.fixture
def settings(settings, tmp_path):
    return dataclasses.replace(settings, files_dir=str(tmp_path / "files"))


@pytest.fixture
def store(settings) -> FileStore:
    return FileStore.at(settings.files_dir)


@pytest.fixture
def shops(db, world):
    add_products(db, world.shop_a)
    add_products(db, world.shop_b)
    return world.shop_a, world.shop_b
