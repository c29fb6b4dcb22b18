"""Two requests with one Idempotency-Key at the same moment create one order.

Real connections and commits (the per-test SAVEPOINT cannot show two transactions racing),
on a shop of its own that is removed afterwards. The race is made certain, not hoped for:
the agency's superuser holds ``sales_order`` locked, so the first request stops at its
INSERT while still holding its key; the test waits (polling against a deadline) until the
second is seen queued behind that key, then lets go.
"""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select

from tests.committed import insert_shop, remove_shop, wait_for_waiters
from tests.portal.api.conftest import issue_key
from tests.portal.orders_api.conftest import add_catalog, order_body
from urakata.platform.db import Database
from urakata.platform.tenancy import Tenant
from urakata.tenants.orders.models import IdempotencyKey, Order
from urakata.tenants.shop.models import ShopSettings


@pytest.fixture
def committed_shop(test_database, admin_engine):
    """A shop whose rows are really committed: (database, shop, API key)."""
    db = Database.from_url(test_database.app_url)
    shop_id = insert_shop(admin_engine, "競合テスト店")
    try:
        with db.tenant_session(shop_id) as s:
            s.add(ShopSettings(tenant_id=shop_id, sender_name="競合テスト店"))
        with db.platform_session() as s:
            shop = s.get(Tenant, shop_id)
        add_catalog(db, shop)
        yield db, shop, issue_key(db, shop)
    finally:
        db.dispose()
        remove_shop(admin_engine, shop_id)


def test_two_requests_racing_with_one_key_create_one_order(settings, admin_engine, committed_shop):
    from urakata.portal import create_app

    db, shop, key = committed_shop
    app = create_app(settings, db=db)
    headers = {**key.headers, "Idempotency-Key": "race-1"}
    body = order_body()
    answers: list = []
    errors: list = []

    def send():
        try:
            client = app.test_client()
            answers.append(client.post("/api/v1/orders", json=body, headers=headers))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=send) for _ in range(2)]
    with admin_engine.connect() as blocker, blocker.begin():
        blocker.exec_driver_sql("LOCK TABLE sales_order IN EXCLUSIVE MODE")
        for thread in threads:
            thread.start()
        # One request waits on the table (holding the key), the other on that key.
        waiting = wait_for_waiters(
            admin_engine, ["relation", "transactionid"], time.monotonic() + 15
        )
    # Leaving the block commits: the lock is released.
    for thread in threads:
        thread.join(timeout=30)
    assert waiting == ["relation", "transactionid"]
    assert errors == [] and len(answers) == 2
    assert [a.status_code for a in answers] == [201, 201]
    first, second = answers
    assert first.get_data() == second.get_data()
    assert sorted(a.headers.get("Idempotent-Replayed", "") for a in answers) == ["", "true"]
    with db.tenant_session(shop.id) as s:
        assert s.scalar(select(func.count()).select_from(Order)) == 1
        assert s.scalar(select(func.count()).select_from(IdempotencyKey)) == 1
