"""The payment tests' world: two shops with the same catalog (their own rows), a frozen
order clock, orders per payment method, and bank statements written as a bank would."""

from __future__ import annotations

import csv
import io

import pytest

from tests.tenants.orders.conftest import (  # noqa: F401 - fixtures used by the tests
    OPERATOR,
    add_products,
    clock,
    order_body,
    tokyo,
)
from urakata.platform import audit
from urakata.tenants.orders import services
from urakata.tenants.payments import gates, statements


@pytest.fixture
def shop(db, world):
    """Shop A with a catalog; shop B gets the same catalog (its own rows)."""
    add_products(db, world.shop_a)
    add_products(db, world.shop_b)
    return world.shop_a


def take(
    db,
    shop,
    number="#1001",
    *,
    method="bank_transfer",
    status="unpaid",
    kana="ヤマダ タロウ",
    name="山田 太郎",
    email=None,
    **changes,
):
    """An order of ``shop`` (2 × TEA-001 at 1,080 + 1 × CUP-001 at 1,100 = ¥3,260)."""
    body = order_body(
        external_id=number,
        payment_method=method,
        payment_status=status,
        customer={"name": name, "kana": kana, "email": email or f"{number.strip('#')}@example.jp"},
        **changes,
    )
    with db.tenant_session(shop.id) as s:
        return services.intake(s, actor=OPERATOR, data=body)


def reload(db, shop, order_id):
    with db.tenant_session(shop.id) as s:
        order = services.get_order(s, order_id)
        _ = order.lines
        s.expunge(order)
        return order


def actions(db, shop, object_type, object_id) -> list[str]:
    with db.tenant_session(shop.id) as s:
        events = audit.history(s, object_type=object_type, object_id=object_id, limit=200)
        return [e.action for e in reversed(events)]


def notice(db, shop, order_id, event_id, type_, **data):
    with db.tenant_session(shop.id) as s:
        return gates.record_event(
            s,
            actor=OPERATOR,
            order_id=order_id,
            source="api",
            data={"event_id": event_id, "type": type_, **data},
        )


def statement_csv(*rows: tuple[str, str, str], encoding: str = "cp932", header=None) -> bytes:
    """A bank's CSV: 取引日, 入金額, 出金額, 振込依頼人名 (half-width kana), CRLF; an amount
    written "-5000" is a withdrawal."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header or ["取引日", "入金額", "出金額", "振込依頼人名"])
    for day, amount, name in rows:
        deposit, withdrawal = (amount, "") if not amount.startswith("-") else ("", amount[1:])
        writer.writerow([day, deposit, withdrawal, name])
    return buffer.getvalue().encode(encoding)


def upload(db, shop, data: bytes, filename="statement.csv", now=None):
    with db.tenant_session(shop.id) as s:
        return statements.import_statement(
            s, actor=OPERATOR, data=data, filename=filename, now=now or tokyo(2026, 6, 3, 9, 0)
        )


def lines_of(db, shop, statement_id):
    with db.tenant_session(shop.id) as s:
        found = statements.statement_lines(s, statement_id)
        for line in found:
            s.expunge(line)
        return found
