"""Stocktake tests use the inbound worlds: two shops, bins, JAN-coded catalogs."""

from tests.tenants.inbound.conftest import shop_a, shop_b, shops  # noqa: F401
