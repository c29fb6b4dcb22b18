"""Both shops sell the SKUs of the sample files in examples/orders (each its own rows)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tenants.orders.conftest import OPERATOR
from urakata.tenants.catalog.services import create_product

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "orders"
SAMPLE_PRODUCTS = (
    ("HT-SEN-100", "静岡 深蒸し煎茶 100g", 1080, 8),
    ("HT-GYO-50", "八女 玉露 50g", 2160, 8),
    ("HT-HOJ-TB20", "ほうじ茶 ティーバッグ 20包", 648, 8),
    ("HT-MAT-30", "宇治抹茶 30g 缶", 1620, 8),
    ("HT-GEN-200", "玄米茶 200g", 756, 8),
    ("HT-YOK-6", "水ようかん 6個入", 1296, 8),
    ("HT-YUN-ARI", "湯呑み 有田焼 藍", 3300, 10),
    ("HT-KYU-TOK", "急須 常滑焼 朱泥", 5500, 10),
)


def sample(name: str) -> bytes:
    return (EXAMPLES / name).read_bytes()


def add_sample_products(db, shop) -> None:
    with db.tenant_session(shop.id) as s:
        for sku, name, price, rate in SAMPLE_PRODUCTS:
            create_product(s, actor=OPERATOR, data={
                "sku": sku, "name": name, "price_yen": price, "tax_rate": rate,
                "status": "active"})  # fmt: skip


@pytest.fixture
def shops(db, world):
    add_sample_products(db, world.shop_a)
    add_sample_products(db, world.shop_b)
    return world.shop_a, world.shop_b
