"""The fulfilment fixtures of the service tests (both shops' bins, catalogs with JANs)."""

from tests.tenants.fulfilment.conftest import shop_a, shop_b, shops  # noqa: F401
