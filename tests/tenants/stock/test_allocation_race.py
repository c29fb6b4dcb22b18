"""A person's click and the allocation job allocating one order at the same moment promise
its stock once: the second is refused (the order is allocated), not a database error.

Real connections and commits, on shops of their own that are removed afterwards. The
race is made certain: the superuser holds the shop's stock levels locked, so the first
allocator stops at its promise with the order read as released; the test waits until the
second is seen queued (behind the first's turn on the order; without that turn it would
read the order as released too and fail on the movements' key), then lets go. The other
shop's order, allocated meanwhile, is untouched by either.
"""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from sqlalchemy import func, select, text

from tests.committed import insert_shop, remove_shop, wait_for_waiters
from tests.tenants.stock.conftest import ADMIN, OPERATOR, PRODUCTS
from urakata.platform.db import Database
from urakata.tenants.catalog.services import create_product
from urakata.tenants.orders import services as orders
from urakata.tenants.orders.services import IllegalTransition
from urakata.tenants.shop.models import ShopSettings
from urakata.tenants.stock.allocation import allocate_order
from urakata.tenants.stock.bins import assign_bins
from urakata.tenants.stock.models import StockLevel, StockMovement
from urakata.tenants.stock.receipts import receive


def _committed_shop(db: Database, admin_engine, name: str, zone: str) -> tuple[uuid.UUID, int]:
    """A shop with one bin, 10 cups on it and a released order of 1 cup: (shop, order).
    The bin is assigned to the shop, so removing the shop removes it."""
    shop_id = insert_shop(admin_engine, name)
    with db.tenant_session(shop_id) as s:
        s.add(ShopSettings(tenant_id=shop_id, sender_name=name))
    code = f"{zone}-01-01-1"
    with admin_engine.begin() as conn:  # a bin without a ledger event of the agency's
        conn.execute(
            text(
                "INSERT INTO location (code, zone, aisle, shelf, bin, kind, pick_sequence,"
                " version, created_at, updated_at) VALUES (:code, :zone, '01', '01', '1',"
                " 'pick_face', 0, 1, now(), now())"
            ),
            {"code": code, "zone": zone},
        )
    with db.tenant_session(shop_id) as s:
        assign_bins(s, actor=ADMIN, codes=[code])
        create_product(s, actor=ADMIN, data={"status": "active", **PRODUCTS[1]})
    with db.tenant_session(shop_id) as s:
        line = {"sku": "CUP-1", "quantity": 10, "location": code, "lot_no": ""}
        receive(s, actor=OPERATOR, data={"key": f"receipt-{shop_id}", "reference": "IN-1",
                                         "lines": [line]})  # fmt: skip
    body = {
        "external_id": "#R-1",
        "customer": {"name": "山田 太郎", "email": "race@example.jp"},
        "ship_to": {"name": "山田 太郎", "postal_code": "100-0001", "prefecture": "東京都",
                    "city": "千代田区", "street": "千代田1-1", "phone": "090-1234-5678"},
        "lines": [{"sku": "CUP-1", "quantity": 1, "unit_price_yen": 3300}],
        "payment_method": "card",
        "payment_status": "authorized",
    }  # fmt: skip
    with db.tenant_session(shop_id) as s:
        return shop_id, orders.intake(s, actor=OPERATOR, data=body, channel="api").id


@pytest.fixture
def two_committed_shops(test_database, admin_engine):
    db = Database.from_url(test_database.app_url)
    made: list[uuid.UUID] = []
    try:
        a = _committed_shop(db, admin_engine, "競合 A 店", f"Q{uuid.uuid4().hex[:3].upper()}")
        made.append(a[0])
        b = _committed_shop(db, admin_engine, "競合 B 店", f"Q{uuid.uuid4().hex[:3].upper()}")
        made.append(b[0])
        yield db, a, b
    finally:
        db.dispose()
        for shop_id in made:
            remove_shop(admin_engine, shop_id)


def _state(db: Database, shop_id: uuid.UUID, order_id: int) -> tuple:
    with db.tenant_session(shop_id) as s:
        order = orders.get_order(s, order_id)
        movements = s.scalar(
            select(func.count())
            .where(StockMovement.kind == "allocation")
            .select_from(StockMovement)
        )
        allocated = s.scalar(select(func.sum(StockLevel.allocated)))
        return order.status, order.version, movements, allocated


def test_two_allocations_of_one_order_at_once_promise_its_stock_once(
    admin_engine, two_committed_shops
):
    db, (shop, order_id), (other_shop, other_order) = two_committed_shops
    outcomes: list = []
    errors: list[BaseException] = []

    def allocate() -> None:
        try:
            with db.tenant_session(shop) as s:
                outcomes.append(allocate_order(s, actor=OPERATOR, order_id=order_id))
        except BaseException as exc:  # noqa: BLE001 - looked at below
            errors.append(exc)

    threads = [threading.Thread(target=allocate) for _ in range(2)]
    with admin_engine.connect() as blocker, blocker.begin():
        blocker.execute(
            text("SELECT id FROM stock_level WHERE tenant_id = :shop FOR UPDATE"), {"shop": shop}
        )
        for thread in threads:
            thread.start()
        # One allocator waits on the level row (its turn taken), the other for its turn.
        waiting = wait_for_waiters(admin_engine, ["advisory", "transactionid"],
                                   time.monotonic() + 15)  # fmt: skip
    for thread in threads:
        thread.join(timeout=30)
    assert waiting == ["advisory", "transactionid"]
    assert len(outcomes) == 1 and outcomes[0].complete
    assert [type(e) for e in errors] == [IllegalTransition]
    assert _state(db, shop, order_id) == ("allocated", 2, 1, 1)
    # The other shop's order: still released, nothing promised; it allocates on its own.
    assert _state(db, other_shop, other_order) == ("released", 1, 0, 0)
    with db.tenant_session(other_shop) as s:
        assert allocate_order(s, actor=OPERATOR, order_id=other_order).complete
    assert _state(db, other_shop, other_order) == ("allocated", 2, 1, 1)
    assert _state(db, shop, order_id) == ("allocated", 2, 1, 1)
