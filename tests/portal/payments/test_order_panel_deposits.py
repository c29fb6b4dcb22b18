"""The payment panel's "received by transfer": the live deposit matches only, an undone one
listed but not counted; the shop's other orders' deposits not at all."""

from __future__ import annotations

import re

from tests.portal.payments.conftest import take
from tests.tenants.payments.conftest import OPERATOR, lines_of, statement_csv, tokyo, upload
from urakata.tenants.payments import matching

NOW = tokyo(2026, 6, 3, 9, 0)


def matched(db, shop, amount: str, order_id: int, day: str):
    result = upload(db, shop, statement_csv((day, amount, "ﾔﾏﾀﾞ ﾀﾛｳ")), now=NOW)
    (line,) = lines_of(db, shop, result.statement.id)
    with db.tenant_session(shop.id) as s:
        done = matching.match_line(
            s, actor=OPERATOR, line_id=line.id, order_ids=[order_id], version=line.version, now=NOW
        )
        return done.line.id, done.line.version


def test_received_counts_the_live_matches_only(db, catalogs, portal):
    world = catalogs
    order_id = take(db, world.shop_a, "R-1")  # ¥2,400 by bank transfer
    other = take(db, world.shop_a, "R-2")
    matched(db, world.shop_a, "1,000", order_id, "2026/06/01")
    line_id, version = matched(db, world.shop_a, "500", order_id, "2026/06/02")
    with db.tenant_session(world.shop_a.id) as s:
        matching.undo_line(s, actor=OPERATOR, line_id=line_id, version=version, now=NOW)
    matched(db, world.shop_a, "700", other, "2026/06/02")
    portal.login(world.operator_a)
    html = portal.get(f"/s/shop-a/orders/{order_id}").get_data(as_text=True)
    assert 'data-testid="payment-received">¥1,000 / ¥2,400' in html
    assert 'data-testid="payment-due">¥1,400' in html
    shown = re.findall(r'data-testid="payment-match" data-live="(\w+)"', html)
    assert sorted(shown) == ["false", "true"]
