"""Orders for the portal tests: taken in through the service, as a cart or the API would."""

from __future__ import annotations

import re

from sqlalchemy import select

from urakata.platform.audit import AuditEvent, user_actor
from urakata.tenants.catalog.models import Product
from urakata.tenants.catalog.services import create_product
from urakata.tenants.orders.models import Order
from urakata.tenants.orders.services import get_order, intake

GOOD = {
    "customer": {"name": "山田 花子", "kana": "ヤマダ ハナコ", "email": "hanako@example.jp",
                 "phone": "03-1234-5678"},
    "ship_to": {"name": "山田 花子", "postal_code": "100-0001", "prefecture": "東京都",
                "city": "千代田区", "street": "千代田1-1", "phone": "03-1234-5678"},
    "payment_method": "cod",
}  # fmt: skip


def add_product(db, world, shop, sku="TEA-1", status="active", price=1200):
    with db.tenant_session(shop.id) as s:
        return create_product(
            s,
            actor=user_actor(world.agency_admin),
            data={"sku": sku, "name": f"商品 {sku}", "price_yen": price, "status": status},
        ).id


def take(db, world, shop, external_id="R-1", *, lines=None, **changes) -> int:
    """An order of ``shop`` (SKUs added to its catalog first); returns its id."""
    lines = lines or [{"sku": "TEA-1", "quantity": 2, "unit_price_yen": 1200}]
    with db.tenant_session(shop.id) as s:
        known = set(s.scalars(select(Product.sku)))
    for sku in dict.fromkeys(line["sku"] for line in lines):
        if sku not in known and not sku.startswith("UNKNOWN"):
            add_product(db, world, shop, sku)
    # A customer per order number: the same customer twice would be a suspected duplicate.
    customer = {**GOOD["customer"], "email": f"{external_id.lower()}@example.jp"}
    data = {**GOOD, "customer": customer, "external_id": external_id, "lines": lines, **changes}
    with db.tenant_session(shop.id) as s:
        return intake(s, actor=user_actor(world.shop_admin_a), data=data, channel="api").id


def load(db, shop, order_id) -> Order:
    with db.tenant_session(shop.id) as s:
        order = get_order(s, order_id)
        s.expunge(order)
        return order


def version_of(html: str, form: str) -> str:
    return re.search(
        rf'id="{form}-version" name="version" type="hidden" value="(\d+)"', html
    ).group(1)


def actions(db, shop) -> list[str]:
    with db.tenant_session(shop.id) as s:
        return list(s.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))
