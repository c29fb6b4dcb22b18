"""The inbound worlds of the service tests (both shops' bins and JAN-coded catalogs)."""

from tests.tenants.inbound.conftest import shop_a, shop_b, shops  # noqa: F401
