"""The shipping fixtures of the service tests (both shops stocked), for the pages."""

from tests.tenants.shipping.conftest import shop_a, shop_b, shops, stocked  # noqa: F401
