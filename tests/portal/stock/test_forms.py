"""Putting stock in and moving it through the portal: a receipt form, the transfer screen,
allocating waiting orders. Bad input comes back next to its field with the ledger
untouched; a form sent twice changes nothing the second time and says so."""

from __future__ import annotations

import re

from sqlalchemy import select

from tests.portal.stock.helpers import hidden, line_errors, rows
from tests.tenants.stock.conftest import (
    B_PICK,
    PICK_1,
    PICK_2,
    RESERVE_1,
    levels,
    line,
    movement_count,
    order,
    put_away,
    reload,
    soon,
)
from urakata.platform.outbox import OutboxMessage
from urakata.tenants.stock.ledger import ALLOCATE_JOB


def _receipt_form(portal, rows_: list[dict], **fields) -> dict:
    page = portal.get("/s/shop-a/stock/receive").get_data(as_text=True)
    data = {"key": hidden(page, "key"), "reference": "IN-2026-001", **fields}
    for n, row in enumerate(rows_):
        for name, value in row.items():
            data[f"lines-{n}-{name}"] = str(value)
    return data


def test_an_operator_receives_stock_through_the_portal(db, world, portal, shop_a):
    portal.login(world.operator_a)
    data = _receipt_form(
        portal,
        [
            {"sku": "CUP-1", "quantity": "１２", "location": "a-01-01-1"},
            {
                "sku": "TEA-100",
                "cases": "2",
                "location": RESERVE_1,
                "lot_no": "L-9",
                "best_before": soon(120).replace("-", "/"),
            },
        ],
    )
    answer = portal.post_form("/s/shop-a/stock/receive", data)
    assert answer.status_code == 303
    assert levels(db, shop_a) == {(PICK_1, ""): (12, 0), (RESERVE_1, "L-9"): (80, 0)}
    page = portal.get("/s/shop-a/stock/receive").get_data(as_text=True)
    assert "92" in page  # the flash: 92 pieces in 2 lines


def test_a_bad_receipt_names_each_field_and_adds_nothing(db, world, portal, shop_a):
    portal.login(world.operator_a)
    malformed = _receipt_form(
        portal,
        [
            {"sku": "CUP-1", "quantity": "-2", "location": PICK_1},
            {"sku": "CUP-1", "quantity": "1.5", "location": PICK_1},
            {"sku": "CUP-1", "quantity": "3", "location": "棚の上"},
        ],
    )
    answer = portal.post_form("/s/shop-a/stock/receive", malformed)
    assert answer.status_code == 422
    errors = line_errors(answer.get_data(as_text=True))
    assert set(errors) == {"lines-0-quantity", "lines-1-quantity", "lines-2-location"}
    wrong = _receipt_form(
        portal,
        [
            {"sku": "CUP-1", "quantity": "3", "location": B_PICK},
            {
                "sku": "TEA-100",
                "quantity": "3",
                "location": PICK_1,
                "lot_no": "L-1",
                "best_before": soon(-2),
            },
            {"sku": "TEA-100", "quantity": "3", "location": PICK_1},
            {"sku": "NO-SUCH-SKU", "quantity": "3", "location": PICK_1},
        ],
    )
    answer = portal.post_form("/s/shop-a/stock/receive", wrong)
    assert answer.status_code == 422
    errors = line_errors(answer.get_data(as_text=True))
    assert set(errors) == {
        "lines-0-location",
        "lines-1-best_before",
        "lines-2-lot_no",
        "lines-3-sku",
    }
    assert "B-01-01-1" in errors["lines-0-location"]
    assert movement_count(db, shop_a) == 0


def test_a_receipt_form_sent_twice_adds_its_stock_once(db, world, portal, shop_a):
    portal.login(world.operator_a)
    data = _receipt_form(portal, [{"sku": "CUP-1", "quantity": "5", "location": PICK_1}])
    assert portal.post_form("/s/shop-a/stock/receive", data).status_code == 303
    again = portal.post_form("/s/shop-a/stock/receive", data)
    assert again.status_code == 409
    assert 'data-testid="receive-errors"' in again.get_data(as_text=True)
    assert levels(db, shop_a) == {(PICK_1, ""): (5, 0)}
    assert movement_count(db, shop_a) == 1


def test_the_transfer_screen_suggests_replenishing_and_moves(db, world, portal, shop_a):
    put_away(db, shop_a, line("CUP-1", 2, PICK_1), line("CUP-1", 30, RESERVE_1))
    portal.login(world.operator_a)
    page = portal.get("/s/shop-a/stock/transfer").get_data(as_text=True)
    assert rows(page, "replenishment-row", "sku") == [("CUP-1",)]
    filled = portal.get(f"/s/shop-a/stock/transfer?sku=CUP-1&from={RESERVE_1}").get_data(
        as_text=True
    )
    assert f'<option selected value="{RESERVE_1}">' in filled
    data = {
        "key": hidden(filled, "key"),
        "sku": "CUP-1",
        "lot_no": "",
        "from_location": RESERVE_1,
        "to_location": PICK_1,
        "quantity": "10",
        "reason": "補充",
    }
    assert portal.post_form("/s/shop-a/stock/transfer", data).status_code == 303
    assert levels(db, shop_a) == {(PICK_1, ""): (12, 0), (RESERVE_1, ""): (20, 0)}
    twice = portal.post_form("/s/shop-a/stock/transfer", data)
    assert twice.status_code == 409
    assert levels(db, shop_a) == {(PICK_1, ""): (12, 0), (RESERVE_1, ""): (20, 0)}
    too_many = {**data, "key": "transfer-form-2", "quantity": "21"}
    refused = portal.post_form("/s/shop-a/stock/transfer", too_many)
    assert refused.status_code == 422
    error = re.search(r'id="quantity-error">([^<]+)<', refused.get_data(as_text=True)).group(1)
    assert "20" in error and "CUP-1" in error  # how many are free, next to the quantity


def test_an_operator_allocates_a_waiting_order_from_the_portal(db, world, portal, shop_a):
    taken = order(db, shop_a, ("POT-1", 2))
    portal.login(world.operator_a)
    page = portal.get("/s/shop-a/stock/waiting").get_data(as_text=True)
    assert rows(page, "waiting-row", "order", "status") == [(taken.external_id, "released")]
    url = f"/s/shop-a/stock/orders/{taken.id}/allocate"
    answer = portal.post_form(
        url, {"version": str(taken.version)}, form_url="/s/shop-a/stock/waiting"
    )
    assert answer.status_code == 303
    held = reload(db, shop_a, taken.id)
    assert (held.status, held.hold_codes) == ("on_hold", ["out_of_stock"])
    page = portal.get("/s/shop-a/stock/waiting").get_data(as_text=True)
    assert rows(page, "waiting-row", "status") == [("on_hold",)]
    put_away(db, shop_a, line("POT-1", 2, PICK_2))
    stale = portal.post_form(
        url, {"version": str(taken.version)}, form_url="/s/shop-a/stock/waiting"
    )
    assert stale.status_code == 409 and 'data-testid="waiting-problem"' in stale.get_data(
        as_text=True
    )
    answer = portal.post_form(
        url, {"version": str(held.version)}, form_url="/s/shop-a/stock/waiting"
    )
    assert answer.status_code == 303
    assert reload(db, shop_a, taken.id).status == "allocated"
    assert levels(db, shop_a, "POT-1") == {(PICK_2, ""): (2, 2)}


def test_allocating_the_released_orders_asks_for_one_run(db, world, portal, shop_a):
    order(db, shop_a, ("CUP-1", 1))
    portal.login(world.operator_a)
    for _ in range(2):
        answer = portal.post_form(
            "/s/shop-a/stock/allocate", {}, form_url="/s/shop-a/stock/waiting"
        )
        assert answer.status_code == 303
    with db.tenant_session(shop_a.id) as s:
        asked = s.scalars(select(OutboxMessage).where(OutboxMessage.job == ALLOCATE_JOB)).all()
        assert [m.shop_id for m in asked] == [shop_a.id]
    portal.logout()
    portal.login(world.shop_admin_a)
    refused = portal.post_form("/s/shop-a/stock/allocate", {}, form_url="/s/shop-a/stock/waiting")
    assert refused.status_code == 403
