"""Idempotency keys answer retries for a day; the daily maintenance job removes older ones
in every shop (through each shop's own session), and leaves the orders alone."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from tests.portal.orders_api.conftest import order_body
from urakata.platform import outbox
from urakata.platform.audit import AGENCY_CHAIN_ID
from urakata.platform.db import utcnow
from urakata.tenants.orders.idempotency import KEEP_FOR
from urakata.tenants.orders.models import IdempotencyKey, Order


def _post(client, key, idem: str, external_id: str):
    headers = {**key.headers, "Idempotency-Key": idem}
    response = client.post("/api/v1/orders", json=order_body(external_id=external_id),
                           headers=headers)  # fmt: skip
    assert response.status_code == 201, response.get_json()
    return response


def _age(db, shop, idem: str, by: timedelta) -> None:
    with db.tenant_session(shop.id) as s:
        s.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.key == idem)
            .values(created_at=utcnow() - by)
        )


def _keys(db, shop) -> set[str]:
    with db.tenant_session(shop.id) as s:
        return set(s.scalars(select(IdempotencyKey.key)))


def test_the_daily_job_purges_old_keys_in_every_shop_and_keeps_fresh_ones(
    client, db, world, key_a, key_b, spine
):
    _post(client, key_a, "a-old", "#A1")
    _post(client, key_a, "a-new", "#A2")
    _post(client, key_b, "b-old", "#B1")
    _age(db, world.shop_a, "a-old", KEEP_FOR + timedelta(minutes=1))
    _age(db, world.shop_b, "b-old", KEEP_FOR + timedelta(minutes=1))
    _age(db, world.shop_a, "a-new", KEEP_FOR - timedelta(minutes=1))

    with db.tenant_session(AGENCY_CHAIN_ID) as s:
        row = outbox.enqueue(s, "maintenance.purge_idempotency_keys", queue="maintenance")
    spine.run()

    assert _keys(db, world.shop_a) == {"a-new"} and _keys(db, world.shop_b) == set()
    with db.tenant_session(world.shop_a.id) as s:
        assert len(s.scalars(select(Order.id)).all()) == 2  # the orders stay
    with db.platform_session() as s:
        assert s.get(outbox.OutboxMessage, row.id).done_at is not None


def test_after_the_purge_a_resent_order_is_refused_by_its_order_number(
    client, db, world, key_a, spine
):
    _post(client, key_a, "late", "#A9")
    _age(db, world.shop_a, "late", KEEP_FOR + timedelta(hours=1))
    with db.tenant_session(AGENCY_CHAIN_ID) as s:
        outbox.enqueue(s, "maintenance.purge_idempotency_keys", queue="maintenance")
    spine.run()
    again = client.post(
        "/api/v1/orders",
        json=order_body(external_id="#A9"),
        headers={**key_a.headers, "Idempotency-Key": "late"},
    )
    assert again.status_code == 409 and "#A9" in again.get_json()["message"]
