"""Bank statements in the portal: upload (the shop's page or the agency's desk), errors
named by row and column with nothing imported, the matching screen (match, undo, set
aside), stale pages refused, looks at remitters recorded, other shops kept out."""

from __future__ import annotations

import io
import re

from sqlalchemy import func, select

from tests.factories import make_user
from tests.portal.payments.conftest import lines_of, load, statement_bytes, take, upload
from urakata.platform.audit import AuditEvent
from urakata.platform.identity import Role
from urakata.tenants.payments.models import BankStatement


def statements_of(db, shop) -> int:
    with db.tenant_session(shop.id) as s:
        return s.scalar(select(func.count()).select_from(BankStatement))


def test_an_upload_matches_what_is_certain_and_lists_the_rest(db, catalogs, portal):
    world = catalogs
    exact = take(db, world.shop_a, "R-1", kana="サトウ ハナコ")
    take(db, world.shop_a, "R-2")
    take(db, world.shop_a, "R-3")  # the same customer, the same amount
    portal.login(world.operator_a)
    data = statement_bytes("2026/06/01,2400,ｻﾄｳ ﾊﾅｺ", "2026/06/01,2400,ﾔﾏﾀﾞ ﾀﾛｳ")
    response = upload(portal, "shop-a", data, "みずほ_202606.csv")
    assert response.status_code == 303
    page = portal.get(response.headers["Location"]).get_data(as_text=True)
    assert "1件を自動で照合しました" in page
    rows = re.findall(
        r'data-testid="deposit-row" data-line-id="\d+" data-status="(\w+)"'
        r' data-reason="(\w*)"',
        page,
    )
    assert sorted(rows) == [("matched", ""), ("review", "ambiguous")]
    assert load(db, world.shop_a, exact).status == "released"
    again = upload(portal, "shop-a", data)
    assert again.status_code == 303 and again.headers["Location"].endswith("/payments/statements")
    assert statements_of(db, world.shop_a) == 1


def test_a_bad_statement_names_rows_and_columns_and_imports_nothing(db, catalogs, portal):
    world = catalogs
    portal.login(world.shop_admin_a)
    data = statement_bytes("2026/06/01,2400,ｻﾄｳ", "2026/13/01,2400,ｽｽﾞｷ", "2026/06/02,1.5円,ﾀﾅｶ")
    response = upload(portal, "shop-a", data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.findall(
        r'data-testid="statement-error" data-row="(\d+)" data-column="([^"]+)"', html
    ) == [("3", "取引日"), ("4", "入金額")]
    products = upload(portal, "shop-a", "商品コード,商品名\r\nA,B\r\n".encode("cp932"))
    assert products.status_code == 422
    assert 'data-column="商品コード"' in products.get_data(as_text=True)
    binary = upload(portal, "shop-a", b"\x89PNG\r\n\x1a\n\x00\x00")
    assert binary.status_code == 422 and 'data-testid="statement-problem"' in binary.get_data(
        as_text=True
    )
    assert statements_of(db, world.shop_a) == 0


def test_the_operator_matches_an_ambiguous_deposit_by_hand_and_can_undo(db, catalogs, portal):
    world = catalogs
    first = take(db, world.shop_a, "R-2")
    second = take(db, world.shop_a, "R-3")
    portal.login(world.operator_a)
    upload(portal, "shop-a", statement_bytes("2026/06/01,2400,ﾔﾏﾀﾞ ﾀﾛｳ"))
    (line,) = lines_of(db, world.shop_a)
    url = f"/s/shop-a/payments/deposits/{line.id}"
    page = portal.get(url).get_data(as_text=True)
    assert re.findall(r'data-testid="candidate" data-external-id="([^"]+)"', page) == ["R-2", "R-3"]
    version = re.search(
        r'id="match-version" name="version" type="hidden" value="(\d+)"', page
    ).group(1)
    done = portal.post_form(
        f"{url}/match", {"version": version, "orders": [str(second)]}, form_url=url
    )
    assert done.status_code == 303
    assert load(db, world.shop_a, second).status == "released"
    assert load(db, world.shop_a, first).status == "confirmed"
    stale = portal.post_form(
        f"{url}/match", {"version": version, "orders": [str(first)]}, form_url=url
    )
    assert stale.status_code == 409 and 'data-testid="deposit-problem"' in stale.get_data(
        as_text=True
    )
    page = portal.get(url).get_data(as_text=True)
    assert 'data-testid="deposit-match" data-order="R-3"' in page
    version = re.search(
        r'id="undo-version" name="version" type="hidden" value="(\d+)"', page
    ).group(1)
    assert portal.post_form(f"{url}/undo", {"version": version}, form_url=url).status_code == 303
    held = load(db, world.shop_a, second)
    assert (held.status, held.hold_codes) == ("on_hold", ["payment"])
    page = portal.get(f"/s/shop-a/orders/{second}").get_data(as_text=True)
    assert 'data-action="order.deposit_unmatched"' in page


def test_matching_refusals_are_shown_by_the_form(db, catalogs, portal):
    world = catalogs
    card = take(db, world.shop_a, "C-1", method="card", status="authorized")
    portal.login(world.operator_a)
    upload(portal, "shop-a", statement_bytes("2026/06/01,5000,ﾀﾞﾚｶ"))
    (line,) = lines_of(db, world.shop_a)
    url = f"/s/shop-a/payments/deposits/{line.id}"
    nothing = portal.post_form(f"{url}/match", {"version": str(line.version)}, form_url=url)
    assert nothing.status_code == 422 and 'data-testid="match-error"' in nothing.get_data(
        as_text=True
    )
    wrong = portal.post_form(
        f"{url}/match", {"version": str(line.version), "orders": [str(card)]}, form_url=url
    )
    assert wrong.status_code == 422
    blank = portal.post_form(
        f"{url}/ignore", {"version": str(line.version), "note": ""}, form_url=url
    )
    assert blank.status_code == 422
    ignored = portal.post_form(
        f"{url}/ignore", {"version": str(line.version), "note": "利息"}, form_url=url
    )
    assert ignored.status_code == 303
    assert lines_of(db, world.shop_a) == []  # nothing left to review


def test_the_desk_lists_the_users_shops_and_uploads_for_one_of_them(db, catalogs, portal):
    world = catalogs
    take(db, world.shop_a, "R-1")
    portal.login(world.operator_a)
    desk = portal.get("/agency/payments").get_data(as_text=True)
    assert re.findall(r'data-testid="desk-row" data-shop="([^"]+)"', desk) == ["shop-a"]
    assert world.shop_b.name not in desk
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', desk).group(1)
    data = statement_bytes("2026/06/01,2400,ﾔﾏﾀﾞ ﾀﾛｳ")

    def post(slug):
        return portal.client.post(
            "/agency/payments/statements",
            content_type="multipart/form-data",
            data={"csrf_token": token, "shop": slug, "statement": (io.BytesIO(data), "s.csv")},
        )

    assert post("shop-b").status_code == 404  # a shop the operator does not serve
    assert statements_of(db, world.shop_b) == 0
    done = post("shop-a")
    assert done.status_code == 303 and "/s/shop-a/payments/statements/" in done.headers["Location"]
    assert statements_of(db, world.shop_a) == 1
    portal.logout()
    portal.login(world.shop_admin_a)
    assert portal.get("/agency/payments").status_code == 403


def test_agency_people_looking_at_remitters_are_recorded(db, catalogs, portal):
    world = catalogs
    portal.login(world.shop_admin_a)
    upload(portal, "shop-a", statement_bytes("2026/06/01,2400,ﾀﾞﾚｶ"))
    (line,) = lines_of(db, world.shop_a)
    portal.get(f"/s/shop-a/payments/deposits/{line.id}")
    with db.tenant_session(world.shop_a.id) as s:
        viewed = s.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "personal_data.viewed")
        )
    assert viewed == 0  # the shop's own people
    portal.logout()
    portal.login(world.operator_a)
    portal.get(f"/s/shop-a/payments/deposits/{line.id}")
    portal.get("/s/shop-a/payments/deposits")
    with db.tenant_session(world.shop_a.id) as s:
        looks = s.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "personal_data.viewed")
            .order_by(AuditEvent.seq)
        ).all()
    assert [(e.object_type, e.payload["data"]["what"]) for e in looks] == [
        ("bank_line", "deposit"),
        ("shop", "deposits to review"),
    ]


def test_staff_read_only_and_other_shops_get_404(db, catalogs, portal):
    world = catalogs
    portal.login(world.shop_admin_a)
    upload(portal, "shop-a", statement_bytes("2026/06/01,2400,ﾀﾞﾚｶ"))
    (line,) = lines_of(db, world.shop_a)
    statement_id = line.statement_id
    portal.logout()
    portal.login(make_user(db, Role.shop_staff, world.shop_a))
    assert portal.get(f"/s/shop-a/payments/deposits/{line.id}").status_code == 200
    response = portal.post_form(
        f"/s/shop-a/payments/deposits/{line.id}/ignore",
        {"version": str(line.version), "note": "x"},
        form_url="/account",
    )
    assert response.status_code == 403
    portal.logout()
    portal.login(world.shop_admin_b)
    for url in (
        f"/s/shop-a/payments/statements/{statement_id}",
        f"/s/shop-b/payments/statements/{statement_id}",
        f"/s/shop-b/payments/deposits/{line.id}",
    ):
        assert portal.get(url).status_code == 404
    for action in ("match", "undo", "ignore"):
        response = portal.post_form(
            f"/s/shop-b/payments/deposits/{line.id}/{action}",
            {"version": str(line.version), "note": "x"},
            form_url="/account",
        )
        assert response.status_code == 404
    assert [line.status for line in lines_of(db, world.shop_a)] == ["review"]
