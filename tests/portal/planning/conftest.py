"""The stock fixtures of the service tests (both shops' bins and catalogs), for the pages."""

from tests.tenants.stock.conftest import shop_a, shop_b, shops  # noqa: F401
