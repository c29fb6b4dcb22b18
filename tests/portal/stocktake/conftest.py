"""The inbound worlds of the service tests, for the stocktake pages."""

from tests.tenants.inbound.conftest import shop_a, shop_b, shops  # noqa: F401
