"""Matching deposits to orders: exact ones automatically; ambiguous, short, over, bundled
and unknown ones by a person; every match on the ledger and undoable; a deposit of one
shop never pays another shop's order."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.tenants.payments.conftest import (
    OPERATOR,
    actions,
    lines_of,
    reload,
    statement_csv,
    take,
    tokyo,
    upload,
)
from urakata.platform.tenancy import NotFound
from urakata.tenants.orders import services
from urakata.tenants.payments import gates, matching
from urakata.tenants.payments.models import PaymentMatch

NOW = tokyo(2026, 6, 3, 9, 0)


def match(db, shop, line, order_ids, version=None):
    with db.tenant_session(shop.id) as s:
        return matching.match_line(
            s,
            actor=OPERATOR,
            line_id=line.id,
            order_ids=order_ids,
            version=version or line.version,
            now=NOW,
        )


def line_of(db, shop, line_id):
    with db.tenant_session(shop.id) as s:
        line = matching.get_line(s, line_id)
        s.expunge(line)
        return line


def test_an_exact_deposit_is_matched_and_the_order_released_with_its_clock(db, shop, clock):
    order = take(db, shop)
    other = take(db, shop, "#1002", kana="サトウ ハナコ", name="佐藤 花子")
    result = upload(db, shop, statement_csv(("2026/06/02", "3,260", "ﾔﾏﾀﾞ ﾀﾛｳ")), now=NOW)
    assert (result.new, result.matched, result.review) == (1, 1, 0)
    paid = reload(db, shop, order.id)
    assert (paid.status, paid.payment_status, paid.shippable_at) == ("released", "paid", NOW)
    assert paid.ship_by_date.isoformat() == "2026-06-03"
    assert reload(db, shop, other.id).status == "confirmed"
    (line,) = lines_of(db, shop, result.statement.id)
    assert (line.status, line.surplus_yen) == ("matched", 0)
    assert actions(db, shop, "order", order.id)[-3:] == [
        "order.deposit_matched",
        "order.payment_recorded",
        "order.released",
    ]
    assert actions(db, shop, "bank_line", line.id) == ["bank_line.matched"]


def test_a_company_name_in_bank_kana_matches(db, shop, clock):
    order = take(db, shop, kana="カブシキガイシャ ヤマダショウジ", name="株式会社山田商事")
    upload(db, shop, statement_csv(("2026/06/02", "3260", "ｶ)ﾔﾏﾀﾞｼﾖｳｼﾞ")), now=NOW)
    assert reload(db, shop, order.id).status == "released"


def test_two_orders_that_fit_wait_for_a_person_who_picks_one(db, shop, clock):
    first = take(db, shop, "#1001")
    second = take(db, shop, "#1002")  # the same customer name, the same amount
    result = upload(db, shop, statement_csv(("2026/06/02", "3260", "ﾔﾏﾀﾞ ﾀﾛｳ")), now=NOW)
    (line,) = lines_of(db, shop, result.statement.id)
    assert (result.matched, line.status, line.review_reason) == (0, "review", "ambiguous")
    with db.tenant_session(shop.id) as s:
        offered = matching.suggestions(s, line)
    assert {s.order.external_id for s in offered[:2]} == {"#1001", "#1002"}
    assert set(offered[0].reasons) == {"name", "amount"}
    done = match(db, shop, line, [second.id])
    assert (done.surplus_yen, done.short) == (0, [])
    assert reload(db, shop, second.id).status == "released"
    assert reload(db, shop, first.id).status == "confirmed"


def test_the_typed_order_number_decides_between_twins(db, shop, clock):
    take(db, shop, "#1001")
    second = take(db, shop, "#1002")
    upload(db, shop, statement_csv(("2026/06/02", "3260", "1002 ﾔﾏﾀﾞ ﾀﾛｳ")), now=NOW)
    assert reload(db, shop, second.id).status == "released"


def test_a_short_deposit_pays_part_and_the_rest_matches_later(db, shop, clock):
    order = take(db, shop)
    result = upload(db, shop, statement_csv(("2026/06/02", "3000", "ﾔﾏﾀﾞ ﾀﾛｳ")), now=NOW)
    (line,) = lines_of(db, shop, result.statement.id)
    assert line.review_reason == "short"
    done = match(db, shop, line, [order.id])
    assert [(o.id, due) for o, due in done.short] == [(order.id, 260)]
    waiting = reload(db, shop, order.id)
    assert (waiting.status, waiting.payment_status) == ("confirmed", "unpaid")
    # The customer sends the missing 260 yen: it is exactly what the order still needs.
    rest = upload(db, shop, statement_csv(("2026/06/03", "260", "ﾔﾏﾀﾞ ﾀﾛｳ")), now=NOW)
    assert rest.matched == 1
    assert reload(db, shop, order.id).status == "released"


def test_an_over_payment_is_matched_by_hand_and_the_surplus_kept(db, shop, clock):
    order = take(db, shop)
    result = upload(db, shop, statement_csv(("2026/06/02", "5000", "ﾔﾏﾀﾞ ﾀﾛｳ")), now=NOW)
    (line,) = lines_of(db, shop, result.statement.id)
    assert line.review_reason == "over"
    assert match(db, shop, line, [order.id]).surplus_yen == 1_740
    assert reload(db, shop, order.id).status == "released"
    assert line_of(db, shop, line.id).surplus_yen == 1_740


def test_one_transfer_for_two_orders_pays_both(db, shop, clock):
    first = take(db, shop, "#1001")
    second = take(
        db, shop, "#1002", lines=[{"sku": "CUP-001", "quantity": 1, "unit_price_yen": 1100}]
    )
    result = upload(db, shop, statement_csv(("2026/06/02", "4360", "ﾔﾏﾀﾞ ﾀﾛｳ")), now=NOW)
    (line,) = lines_of(db, shop, result.statement.id)
    assert line.review_reason == "bundled"
    match(db, shop, line, [second.id, first.id])
    assert {reload(db, shop, o.id).status for o in (first, second)} == {"released"}


def test_an_unknown_payer_waits_and_can_be_set_aside_and_back(db, shop, clock):
    take(db, shop)
    result = upload(db, shop, statement_csv(("2026/06/02", "3260", "ﾀﾞﾚｶ ｼﾗﾅｲ")), now=NOW)
    (line,) = lines_of(db, shop, result.statement.id)
    assert line.review_reason == "unknown"
    with db.tenant_session(shop.id) as s:
        offered = matching.suggestions(s, line)
        assert [o.reasons for o in offered] == [("amount",)]  # same amount, another name
        assert matching.suggestions(s, line, "1001")[0].reasons == ("amount", "search")
    with pytest.raises(matching.MatchInvalid), db.tenant_session(shop.id) as s:
        matching.ignore_line(s, actor=OPERATOR, line_id=line.id, version=line.version, note=" ")
    with db.tenant_session(shop.id) as s:
        ignored = matching.ignore_line(
            s, actor=OPERATOR, line_id=line.id, version=line.version, note="利息"
        )
        version = ignored.version
    with db.tenant_session(shop.id) as s:
        matching.undo_line(s, actor=OPERATOR, line_id=line.id, version=version)
    assert line_of(db, shop, line.id).status == "review"
    assert actions(db, shop, "bank_line", line.id) == ["bank_line.ignored", "bank_line.reopened"]


def test_undoing_a_match_puts_the_order_back_to_waiting(db, shop, clock):
    order = take(db, shop)
    result = upload(db, shop, statement_csv(("2026/06/02", "3260", "ﾔﾏﾀﾞ ﾀﾛｳ")), now=NOW)
    (line,) = lines_of(db, shop, result.statement.id)
    with db.tenant_session(shop.id) as s:
        matching.undo_line(s, actor=OPERATOR, line_id=line.id, version=line.version, now=NOW)
    held = reload(db, shop, order.id)
    # It had been released (allocation may have begun): held for its payment, clock stopped.
    assert (held.status, held.payment_status, held.hold_codes) == ("on_hold", "unpaid", ["payment"])
    assert held.ship_by_at is None
    with db.tenant_session(shop.id) as s:
        assert gates.received_yen(s, [order.id]) == {}
        kept = s.scalars(select(PaymentMatch).where(PaymentMatch.line_id == line.id)).all()
        assert [(m.amount_yen, m.undone_at is not None) for m in kept] == [(3260, True)]
    again = line_of(db, shop, line.id)
    assert (again.status, again.review_reason) == ("review", None)
    # Matched again (by hand now), the order goes on by itself with a new clock.
    match(db, shop, again, [order.id])
    assert reload(db, shop, order.id).status == "released"
    assert actions(db, shop, "order", order.id).count("order.deposit_unmatched") == 1


def test_undo_of_a_partial_match_keeps_the_order_waiting(db, shop, clock):
    order = take(db, shop)
    result = upload(db, shop, statement_csv(("2026/06/02", "1000", "ﾔﾏﾀﾞ ﾀﾛｳ")), now=NOW)
    (line,) = lines_of(db, shop, result.statement.id)
    done = match(db, shop, line, [order.id])
    with db.tenant_session(shop.id) as s:
        matching.undo_line(s, actor=OPERATOR, line_id=line.id, version=done.line.version)
    assert reload(db, shop, order.id).status == "confirmed"


def test_what_cannot_be_matched_is_refused_with_the_reason(db, shop, clock):
    card = take(db, shop, "#C1", method="card", status="authorized")
    order = take(db, shop)
    result = upload(
        db,
        shop,
        statement_csv(("2026/06/02", "1000", "ﾀﾞﾚｶ"), ("2026/06/02", "1000", "ﾀﾞﾚｶ")),
        now=NOW,
    )
    line, twin = lines_of(db, shop, result.statement.id)
    with pytest.raises(matching.MatchInvalid) as refused:
        match(db, shop, line, [card.id])
    assert "not paid by bank transfer" in str(refused.value.errors["orders"][0])
    with pytest.raises(matching.MatchInvalid):
        match(db, shop, line, [])
    with pytest.raises(matching.StaleLine):
        match(db, shop, line, [order.id], version=line.version + 1)
    match(db, shop, line, [order.id])
    with pytest.raises(matching.MatchRefused):  # decided already
        match(db, shop, line, [order.id], version=line_of(db, shop, line.id).version)
    with pytest.raises(matching.MatchInvalid) as spent:  # the other order takes 1,000 only
        match(db, shop, twin, [order.id, take(db, shop, "#1003").id])
    assert "spent" in str(spent.value.errors["orders"][0])


def test_a_deposit_never_pays_another_shops_order(db, shop, world, clock):
    theirs = take(db, world.shop_b)  # the same customer and amount, in shop B
    result = upload(db, shop, statement_csv(("2026/06/02", "3260", "ﾔﾏﾀﾞ ﾀﾛｳ")), now=NOW)
    (line,) = lines_of(db, shop, result.statement.id)
    assert (result.matched, line.review_reason) == (0, "unknown")
    with db.tenant_session(shop.id) as s:
        assert matching.suggestions(s, line, "#1001") == []
    with pytest.raises(matching.MatchInvalid) as refused:
        match(db, shop, line, [theirs.id])
    assert "not one of the shop's orders" in str(refused.value.errors["orders"][0])
    with pytest.raises(NotFound):  # shop B cannot reach shop A's deposit
        match(db, world.shop_b, line, [theirs.id])
    with pytest.raises(NotFound), db.tenant_session(world.shop_b.id) as s:
        matching.undo_line(s, actor=OPERATOR, line_id=line.id, version=line.version)
    after = reload(db, world.shop_b, theirs.id)
    assert (after.status, after.payment_status) == ("confirmed", "unpaid")


def test_undoing_the_deposit_of_a_cancelled_order_leaves_it_cancelled(db, shop, clock):
    order = take(db, shop)
    result = upload(db, shop, statement_csv(("2026/06/02", "3260", "ﾔﾏﾀﾞ ﾀﾛｳ")), now=NOW)
    (line,) = lines_of(db, shop, result.statement.id)
    with db.tenant_session(shop.id) as s:
        services.cancel(s, actor=OPERATOR, order_id=order.id, version=None, reason="お客様都合")
    with db.tenant_session(shop.id) as s:
        matching.undo_line(s, actor=OPERATOR, line_id=line.id, version=line.version, now=NOW)
    after = reload(db, shop, order.id)
    assert (after.status, after.payment_status) == ("cancelled", "paid")  # the shop refunds
    assert line_of(db, shop, line.id).status == "review"
