"""Portal and API tests of payments: orders of both shops taken in through the service."""

from __future__ import annotations

import io
import re

import pytest

from tests.portal.api.conftest import IssuedKey, issue_key
from tests.portal.orders.helpers import add_product
from urakata.platform.audit import Actor
from urakata.tenants.orders.services import get_order, intake
from urakata.tenants.payments import statements

SHOP_SYSTEM = Actor(type="api_key", id="k", label="shop system", request_id="r")


def take(
    db,
    shop,
    number="R-1",
    *,
    method="bank_transfer",
    status="unpaid",
    kana="ヤマダ タロウ",
    total_lines=None,
    email=None,
):
    """An order of ``shop`` for ¥2,400 (2 × TEA-1 at 1,200); returns its id."""
    data = {
        "external_id": number,
        "customer": {
            "name": "山田 太郎",
            "kana": kana,
            "email": email if email is not None else f"{number.lower()}@example.jp",
        },
        "ship_to": {
            "name": "山田 太郎",
            "postal_code": "100-0001",
            "prefecture": "東京都",
            "city": "千代田区",
            "street": "千代田1-1",
            "phone": "03-1234-5678",
        },
        "lines": total_lines or [{"sku": "TEA-1", "quantity": 2, "unit_price_yen": 1200}],
        "payment_method": method,
        "payment_status": status,
    }
    with db.tenant_session(shop.id) as s:
        return intake(s, actor=SHOP_SYSTEM, data=data).id


@pytest.fixture
def key_a(db, world) -> IssuedKey:
    return issue_key(db, world.shop_a)


@pytest.fixture
def key_b(db, world) -> IssuedKey:
    return issue_key(db, world.shop_b)


@pytest.fixture
def catalogs(db, world):
    add_product(db, world, world.shop_a)
    add_product(db, world, world.shop_b)
    return world


def load(db, shop, order_id):
    with db.tenant_session(shop.id) as s:
        order = get_order(s, order_id)
        s.expunge(order)
        return order


def statement_bytes(*rows: str, encoding="cp932") -> bytes:
    return ("\r\n".join(["取引日,入金額,振込依頼人名", *rows]) + "\r\n").encode(encoding)


def lines_of(db, shop, statement_id=None):
    with db.tenant_session(shop.id) as s:
        found = (
            statements.statement_lines(s, statement_id)
            if statement_id
            else statements.review_queue(s)
        )
        for line in found:
            s.expunge(line)
        return found


def upload(portal, slug: str, data: bytes, filename="statement.csv"):
    page = portal.get(f"/s/{slug}/payments/statements").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    return portal.client.post(
        f"/s/{slug}/payments/statements",
        data={"csrf_token": token, "statement": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def value_of(html: str, form: str, name: str) -> str:
    return re.search(
        rf'id="{form}-{name}" name="{name}" type="hidden" value="([^"]*)"', html
    ).group(1)
