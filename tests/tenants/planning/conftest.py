"""Shared pieces of the planning tests: the stock tests' two shops (bins and catalogs),
orders on past days, movements at chosen instants."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from tests.tenants.stock.conftest import ADMIN, OPERATOR, Shop, shop_a, shop_b, shops  # noqa: F401
from urakata.platform.audit import AuditEvent
from urakata.platform.mail import MailMessage
from urakata.tenants.orders import services as orders
from urakata.tenants.stock import ledger
from urakata.tenants.stock.ledger import Movement

TOKYO = ZoneInfo("Asia/Tokyo")


def sell(db, shop: Shop, day: date, lines: list[tuple[str, int]], hour: int = 12):
    """A confirmed card order of ``lines`` placed on the shop's local ``day``."""
    number = f"#{uuid.uuid4().hex[:10]}"
    body = {
        "external_id": number,
        "ordered_at": datetime.combine(day, time(hour), tzinfo=TOKYO).isoformat(),
        "customer": {"name": "山田 太郎", "email": f"{number[1:]}@example.jp"},
        "ship_to": {
            "name": "山田 太郎",
            "postal_code": "100-0001",
            "prefecture": "東京都",
            "city": "千代田区",
            "street": "千代田1-1",
            "phone": "090-1234-5678",
        },
        "lines": [{"sku": sku, "quantity": q, "unit_price_yen": 1000} for sku, q in lines],
        "payment_method": "card",
        "payment_status": "authorized",
    }
    with db.tenant_session(shop.id) as s:
        return orders.intake(s, actor=OPERATOR, data=body, channel="api")


def take_out(db, shop: Shop, sku: str, bin_code: str, quantity: int, at: datetime) -> None:
    """Pieces leave a bin at ``at`` (an adjustment, written with the ledger's primitives)."""
    from urakata.platform.locations import Location

    with db.tenant_session(shop.id) as s:
        location = s.scalar(select(Location.id).where(Location.code == bin_code))
        pid = shop.products[sku]
        assert ledger.take_out(
            s, product_id=pid, location_id=location, lot_no="", quantity=quantity, now=at
        )
        ledger.write_movements(
            s,
            OPERATOR,
            key=f"out-{uuid.uuid4()}",
            reference_type="adjustment",
            reference_id="test",
            now=at,
            movements=[Movement("adjustment", pid, location, "", on_hand_delta=-quantity)],
        )


def count_actions(db, shop: Shop, action: str) -> int:
    with db.tenant_session(shop.id) as s:
        return s.scalar(select(func.count()).where(AuditEvent.action == action))


def mails(db, shop: Shop, kind: str) -> int:
    with db.tenant_session(shop.id) as s:
        return s.scalar(select(func.count()).where(MailMessage.kind == kind))
