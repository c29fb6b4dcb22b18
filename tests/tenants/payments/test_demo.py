"""The demo's payments: the desk has every kind of case to work, the sample statement in
examples/ pays the two orders left waiting."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from tests.tenants.payments.conftest import OPERATOR
from urakata.demo import PEOPLE, SHOPS, seed_catalog
from urakata.platform.audit import Actor
from urakata.platform.identity import Role
from urakata.tenants.orders.services import get_order
from urakata.tenants.payments import gates, matching, statements
from urakata.tenants.payments.demo import seed_payments
from urakata.tenants.payments.settings import bank_account, get_payment_settings
from urakata.tenants.shop.services import onboard_shop

SAMPLE = Path(__file__).resolve().parents[3] / "examples" / "bank_statement_sample.csv"


def _demo_shops(db) -> dict:
    """The demo's shops with their admins and catalogs (not the weeks of order history)."""
    admins = {shop: (email, name) for email, name, role, shop in PEOPLE if role is Role.shop_admin}
    tenants = {}
    for slug, name, zone in SHOPS:
        email, admin = admins[slug]
        with db.session() as session, session.begin():
            tenants[slug] = onboard_shop(
                session,
                actor=Actor.system("test"),
                link_key=b"k",
                slug=slug,
                name=name,
                timezone=zone,
                admin_email=email,
                admin_name=admin,
            ).tenant
    seed_catalog(db, tenants)
    return tenants


def test_the_demo_leaves_the_desk_every_kind_of_case(db):
    tenants = _demo_shops(db)
    seed_payments(db, tenants)
    with db.tenant_session(tenants["hanabi-tea"].id) as s:
        assert bank_account(get_payment_settings(s)) is not None
        reasons = Counter(line.review_reason for line in statements.review_queue(s))
        assert reasons == Counter(
            {"ambiguous": 1, "short": 1, "over": 1, "bundled": 1, "unknown": 1}
        )
        waiting = {w.number: w.waits_for for w in gates.waiting_orders(s)}
    assert "BT-5001" not in waiting and "BT-5002" not in waiting  # matched by themselves
    assert waiting["CV-5011"] == "notice" and waiting["AB-5012"] == "credit"
    assert waiting["BT-5009"] == waiting["BT-5010"] == "deposit"
    with db.tenant_session(tenants["kumo-apparel"].id) as s:
        assert [line.review_reason for line in statements.review_queue(s)] == ["ambiguous"]
    with db.tenant_session(tenants["hanabi-tea"].id) as s:
        result = statements.import_statement(
            s, actor=OPERATOR, data=SAMPLE.read_bytes(), filename=SAMPLE.name
        )
        assert (result.new, result.matched, result.withdrawals) == (2, 2, 1)
        numbers = {w.number for w in gates.waiting_orders(s)}
        assert not numbers & {"BT-5009", "BT-5010"}
        first = statements.statement_lines(s, result.statement.id)[0]
        paid = [get_order(s, m.order_id) for m in matching.live_matches(s, first.id)]
        assert [(o.external_id, o.status) for o in paid] == [("BT-5009", "released")]
