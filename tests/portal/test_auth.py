"""Login, lockout, throttling, password reset, TOTP, session death, CSRF and headers."""

from __future__ import annotations

import re
import uuid
from dataclasses import replace
from datetime import timedelta

import pyotp
import pytest
import time_machine

from tests.factories import PASSWORD
from tests.portal_client import PortalClient
from urakata.platform import auth
from urakata.platform.audit import Actor
from urakata.platform.db import utcnow
from urakata.platform.devservers import free_port
from urakata.platform.identity import UserAccount
from urakata.portal import create_app

NEW_PASSWORD = "a brand new passphrase 2026"


def _login_post(portal, email, password):
    return portal.post_form("/login", {"email": email, "password": password})


def test_wrong_password_shows_one_message_for_unknown_and_known_users(portal, world):
    known = _login_post(portal, world.shop_admin_a.email, "wrong password!!")
    unknown = _login_post(portal, "nobody@shops.example", "wrong password!!")
    assert known.status_code == unknown.status_code == 422
    message = "メールアドレスまたはパスワードが正しくありません。"
    assert message in known.get_data(as_text=True)
    assert message in unknown.get_data(as_text=True)


def test_invalid_form_names_the_field(portal):
    response = _login_post(portal, "not-an-email", "")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="email-error"' in html and 'id="password-error"' in html


def test_ten_failures_lock_the_account_for_fifteen_minutes(portal, world, db):
    user = world.shop_admin_a
    for _ in range(auth.LOCKOUT_THRESHOLD):
        _login_post(portal, user.email, "wrong password!!")
    locked = _login_post(portal, user.email, PASSWORD)
    assert locked.status_code == 422
    assert "15分間ロック" in locked.get_data(as_text=True)
    with time_machine.travel(utcnow() + timedelta(minutes=16)):
        assert _login_post(portal, user.email, PASSWORD).status_code == 302


def test_login_is_throttled_per_account(settings, db, world):
    tight = replace(settings, login_rate_limit_account="3 per minute")
    portal = PortalClient(create_app(tight, db=db), db)
    codes = [_login_post(portal, world.shop_admin_a.email, "wrong!").status_code for _ in range(4)]
    assert codes == [422, 422, 422, 429]
    # Another account from the same address is not throttled by the account limit.
    assert _login_post(portal, world.shop_admin_b.email, PASSWORD).status_code == 302


def test_login_is_throttled_per_ip(settings, db, world):
    tight = replace(settings, login_rate_limit_ip="2 per minute")
    portal = PortalClient(create_app(tight, db=db), db)
    codes = [_login_post(portal, f"u{i}@shops.example", "wrong!").status_code for i in range(3)]
    assert codes == [422, 422, 429]


def test_login_keeps_working_when_redis_is_down(settings, db, world):
    down = replace(settings, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    portal = PortalClient(create_app(down, db=db), db)
    assert portal.login(world.shop_admin_a).status_code == 302
    assert portal.get("/", follow_redirects=True).status_code == 200


def test_password_reset_by_mail_is_one_time(portal, world, mailbox, spine):
    user = world.shop_admin_a
    response = portal.post_form("/password/forgot", {"email": user.email})
    assert response.status_code == 302
    spine.run()
    resets = [m for m in mailbox if m["Subject"] == "Urakataのパスワード再設定"]
    assert len(resets) == 1 and resets[0]["To"] == user.email
    body = resets[0].get_content()
    link = re.search(r"http://127.0.0.1:8000(/password/reset/\S+)", body).group(1)
    form = {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    assert portal.post_form(link, form).status_code == 302
    assert portal.get(link).status_code == 404  # used
    assert _login_post(portal, user.email, PASSWORD).status_code == 422
    assert _login_post(portal, user.email, NEW_PASSWORD).status_code == 302


def test_reset_for_unknown_address_answers_the_same_and_sends_nothing(portal, mailbox, spine):
    response = portal.post_form("/password/forgot", {"email": "nobody@shops.example"})
    assert response.status_code == 302
    spine.run()
    assert not any(m["To"] == "nobody@shops.example" for m in mailbox)


def test_reset_link_expires_after_an_hour(db, world):
    with db.platform_session() as s:
        _, raw = auth.issue_password_link(
            s, world.shop_admin_a.email, actor=Actor.system(), link_key=b"k"
        )
    with db.platform_session() as s:
        assert auth.find_reset_token(s, raw) is not None
        later = utcnow() + auth.RESET_TOKEN_TTL + timedelta(seconds=1)
        assert auth.find_reset_token(s, raw, now=later) is None


def test_short_passwords_are_refused_with_the_reason(portal, world, db):
    with db.platform_session() as s:
        _, raw = auth.issue_password_link(
            s, world.shop_admin_a.email, actor=Actor.system(), link_key=b"k"
        )
    response = portal.post_form(f"/password/reset/{raw}", {"password": "short", "confirm": "short"})
    assert response.status_code == 422
    assert 'id="password-error"' in response.get_data(as_text=True)


def test_agency_staff_must_set_up_totp_and_codes_are_not_replayable(app, db, world):
    portal = PortalClient(app, db)
    first = _login_post(portal, world.operator_a.email, PASSWORD)
    assert first.headers["Location"].endswith("/login/2fa/setup")
    page = portal.get("/login/2fa/setup").get_data(as_text=True)
    assert '<img src="data:image/svg+xml' in page
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7]+)<', page).group(1)
    assert portal.post_form("/login/2fa/setup", {"code": "000000"}).status_code == 422
    code = pyotp.TOTP(secret).now()
    assert portal.post_form("/login/2fa/setup", {"code": code}).status_code == 302
    assert portal.get("/agency/home").status_code == 200

    other = PortalClient(app, db)
    assert (
        _login_post(other, world.operator_a.email, PASSWORD)
        .headers["Location"]
        .endswith("/login/2fa")
    )
    replay = other.post_form("/login/2fa", {"code": code})
    assert replay.status_code == 422  # the code that enrolled cannot log in again
    assert other.get("/agency/home").status_code == 302  # still not logged in


def test_totp_is_optional_for_shop_users_and_can_be_turned_on(portal, world):
    portal.login(world.shop_admin_a)
    assert "無効です。" in portal.get("/account").get_data(as_text=True)
    page = portal.get("/login/2fa/setup").get_data(as_text=True)
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7]+)<', page).group(1)
    portal.post_form("/login/2fa/setup", {"code": pyotp.TOTP(secret).now()})
    assert "から有効です。" in portal.get("/account").get_data(as_text=True)


def test_a_password_change_ends_every_other_session(app, db, world):
    user = world.shop_admin_a
    laptop, phone = PortalClient(app, db), PortalClient(app, db)
    laptop.login(user)
    phone.login(user)
    response = laptop.post_form(
        "/account", {"current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert response.status_code == 302
    assert laptop.get("/account").status_code == 200  # the changer stays in
    assert phone.get("/account").status_code == 302  # the other session is gone


def test_a_deactivated_user_is_logged_out(portal, world, db):
    portal.login(world.shop_admin_a)
    with db.platform_session() as s:
        s.get(UserAccount, world.shop_admin_a.id).is_active = False
    assert portal.get("/account").status_code == 302


def test_forms_without_a_csrf_token_are_refused(client, world):
    response = client.post("/login", data={"email": world.shop_admin_a.email, "password": "x"})
    assert response.status_code == 400
    assert "<html" in response.get_data(as_text=True)


def test_security_headers_and_cookie_flags(portal, world):
    response = portal.get("/login")
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Strict-Transport-Security" not in response.headers
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_production_cookies_are_secure_and_https_gets_hsts(settings, db):
    prod = replace(settings, mode="production")
    client = create_app(prod, db=db).test_client()
    response = client.get("/login", base_url="https://portal.example")
    assert "Secure" in response.headers["Set-Cookie"]
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


@pytest.mark.parametrize(("proxies", "expected"), [(0, "127.0.0.1"), (1, "203.0.113.7")])
def test_client_ip_comes_from_the_configured_number_of_proxies(settings, db, proxies, expected):
    app = create_app(replace(settings, trusted_proxies=proxies), db=db)

    @app.get("/_test/ip")
    def _ip():
        from flask import request

        return request.remote_addr

    response = app.test_client().get("/_test/ip", headers={"X-Forwarded-For": "203.0.113.7"})
    assert response.get_data(as_text=True) == expected


def test_next_parameter_cannot_redirect_off_site(portal, world):
    response = portal.post_form(
        "/login?next=//evil.example/",
        {"email": world.shop_admin_a.email, "password": PASSWORD},
        form_url="/login",
    )
    assert response.headers["Location"] == "/"


def test_unknown_user_id_in_a_forged_session_is_ignored(app):
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = f"{uuid.uuid4()}.token"
    assert client.get("/account").status_code == 302


def test_wrong_second_factor_codes_count_towards_the_lockout(app, db, world):
    portal = PortalClient(app, db)
    portal.login(world.operator_a)  # enrols TOTP
    portal.logout()
    _login_post(portal, world.operator_a.email, PASSWORD)
    for _ in range(auth.LOCKOUT_THRESHOLD):
        portal.post_form("/login/2fa", {"code": "000000"})
    with db.platform_session() as s:
        assert auth.is_locked(s.get(UserAccount, world.operator_a.id))
