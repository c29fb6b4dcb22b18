"""The waiting list, the payment settings and the mail template editor in the portal."""

from __future__ import annotations

import re

from tests.factories import make_user
from tests.portal.payments.conftest import take
from urakata.platform.identity import Role
from urakata.tenants.orders import confirmation
from urakata.tenants.payments.settings import get_payment_settings
from urakata.tenants.shop import mail_templates

EDITOR = "/s/shop-a/mail-templates/order-confirmation/ja"


def test_the_waiting_list_shows_the_shops_unpaid_orders(db, catalogs, portal):
    world = catalogs
    take(db, world.shop_a, "R-1")
    take(db, world.shop_a, "R-2", method="konbini")
    take(db, world.shop_a, "R-3", method="card", status="authorized")
    take(db, world.shop_b, "B-1")
    portal.login(world.shop_admin_a)
    html = portal.get("/s/shop-a/payments/waiting").get_data(as_text=True)
    rows = re.findall(
        r'data-testid="waiting-row" data-external-id="([^"]+)" data-waits-for="(\w+)"', html
    )
    assert sorted(rows) == [("R-1", "deposit"), ("R-2", "notice")]
    only = portal.get("/s/shop-a/payments/waiting?method=konbini").get_data(as_text=True)
    assert "R-2" in only and "R-1" not in only
    assert 'href="/s/shop-a/payments/waiting"' in portal.get("/s/shop-a/").get_data(as_text=True)


def test_the_settings_are_saved_checked_and_guarded(db, catalogs, portal):
    world = catalogs
    portal.login(world.shop_admin_a)
    page = portal.get("/s/shop-a/payments/settings").get_data(as_text=True)
    assert 'data-testid="payment-settings-form"' in page
    good = {
        "version": "0",
        "konbini_expiry_days": "５",
        "atobarai_ng_policy": "cancel",
        "reminder_after_days": "2",
        "transfer_due_days": "7",
        "bank_name": "みずほ銀行",
        "bank_branch": "渋谷支店",
        "bank_account_type": "ordinary",
        "bank_account_number": "1234567",
        "bank_account_holder": "ｱｶﾘｻﾞﾂｶ",
    }
    saved = portal.post_form("/s/shop-a/payments/settings", good)
    assert saved.status_code == 303
    with db.tenant_session(world.shop_a.id) as s:
        settings = get_payment_settings(s)
        assert (settings.konbini_expiry_days, settings.bank_account_holder) == (5, "アカリザツカ")
    stale = portal.post_form("/s/shop-a/payments/settings", {**good, "transfer_due_days": "9"})
    assert stale.status_code == 409
    bad = portal.post_form(
        "/s/shop-a/payments/settings",
        {
            **good,
            "version": "1",
            "bank_account_number": "12-34",
            "bank_account_holder": "山田",
            "konbini_expiry_days": "99",
        },
    )
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert html.count('class="field-error"') == 3
    portal.logout()
    portal.login(world.operator_a)  # operators read the settings
    page = portal.get("/s/shop-a/payments/settings").get_data(as_text=True)
    assert 'data-testid="payment-settings-readonly"' in page
    assert (
        portal.post_form("/s/shop-a/payments/settings", good, form_url="/account").status_code
        == 403
    )
    portal.logout()
    portal.login(world.shop_admin_b)
    assert portal.get("/s/shop-a/payments/settings").status_code == 404


def _editor_form(portal, url=EDITOR) -> dict:
    page = portal.get(url).get_data(as_text=True)
    version = re.search(r'id="version" name="version" type="hidden" value="(\d+)"', page)
    return {"version": version.group(1), "sample": "0"}


def test_a_shop_admin_previews_and_saves_a_template(db, catalogs, portal):
    world = catalogs
    portal.login(world.shop_admin_a)
    page = portal.get(EDITOR).get_data(as_text=True)
    assert 'data-custom="false"' in page and "SAMPLE-1001" in page  # the default, previewed
    form = {
        **_editor_form(portal),
        "subject": "【{{ shop.name }}】{{ order.number }}",
        "body": "{{ order.customer_name }} 様\r\n合計 {{ order.total_yen|yen }}\r\n",
    }
    preview = portal.post_form(EDITOR, {**form, "action": "preview", "sample": "2"})
    assert preview.status_code == 200
    html = preview.get_data(as_text=True)
    assert 'data-testid="preview-subject">【サンプル商店】SAMPLE-1001<' in html
    with db.tenant_session(world.shop_a.id) as s:  # a preview saves nothing
        assert mail_templates.get_template(s, confirmation.KIND, "ja").custom is False
    saved = portal.post_form(EDITOR, {**form, "action": "save"})
    assert saved.status_code == 303
    with db.tenant_session(world.shop_a.id) as s:
        current = mail_templates.get_template(s, confirmation.KIND, "ja")
        assert (current.custom, current.body) == (
            True,
            "{{ order.customer_name }} 様\n合計 {{ order.total_yen|yen }}\n",
        )
    listing = portal.get("/s/shop-a/mail-templates").get_data(as_text=True)
    assert 'data-locale="ja" data-custom="true"' in listing
    reset = portal.post_form(f"{EDITOR}/reset", {"version": "1"}, form_url=EDITOR)
    assert reset.status_code == 303
    with db.tenant_session(world.shop_a.id) as s:
        assert mail_templates.get_template(s, confirmation.KIND, "ja").custom is False


def test_a_broken_or_escaping_template_is_refused_and_not_saved(db, catalogs, portal):
    world = catalogs
    portal.login(world.shop_admin_a)
    base = {**_editor_form(portal), "subject": "件名", "action": "save"}
    for body, says in (
        ("{% for line in order.lines %}", "1行目: Unexpected end of template"),
        ("{{ ''.__class__.__mro__ }}", "__class__"),
        ("{{ order.number.format() }}", "関数やメソッドを呼び出せません"),
    ):
        response = portal.post_form(EDITOR, {**base, "body": body})
        assert response.status_code == 422, body
        html = response.get_data(as_text=True)
        assert 'data-testid="mail-template-errors"' in html and says in html
    with db.tenant_session(world.shop_a.id) as s:
        assert mail_templates.get_template(s, confirmation.KIND, "ja").custom is False


def test_who_may_edit_templates(db, catalogs, portal):
    world = catalogs
    portal.login(make_user(db, Role.shop_staff, world.shop_a))
    page = portal.get(EDITOR).get_data(as_text=True)
    assert 'data-testid="mail-template-form"' not in page
    post = {"version": "0", "subject": "x", "body": "x", "action": "save", "sample": "0"}
    assert portal.post_form(EDITOR, post, form_url="/account").status_code == 403
    assert portal.get("/s/shop-a/mail-templates/order-confirmation/fr").status_code == 404
    portal.logout()
    portal.login(world.shop_admin_b)
    assert portal.get(EDITOR).status_code == 404
    assert portal.post_form(EDITOR, post, form_url="/account").status_code == 404
