"""A test client that behaves like a browser: it reads CSRF tokens from forms and logs in
through the real pages (password, then TOTP where the user has it)."""

from __future__ import annotations

import re

import pyotp
from flask.testing import FlaskClient

from tests.factories import PASSWORD
from urakata.platform.identity import UserAccount

CSRF_RE = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"'
)


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1) or match.group(2)


class PortalClient:
    def __init__(self, app, db):
        self.app = app
        self.db = db
        self.client: FlaskClient = app.test_client()
        self.logged_in = False

    def get(self, url: str, **kw):
        return self.client.get(url, **kw)

    def post_form(self, url: str, data: dict | None = None, *, form_url: str | None = None, **kw):
        """POST ``data`` with the CSRF token of the page at ``form_url`` (default ``url``)."""
        page = self.client.get(form_url or url)
        token = csrf_from(page.get_data(as_text=True))
        return self.client.post(url, data={"csrf_token": token, **(data or {})}, **kw)

    def login(self, user: UserAccount, password: str = PASSWORD):
        response = self.post_form("/login", {"email": user.email, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
        location = response.headers["Location"]
        if location.endswith("/login/2fa/setup"):
            page = self.client.get("/login/2fa/setup").get_data(as_text=True)
            secret = re.search(r'data-testid="totp-secret">([A-Z2-7]+)<', page).group(1)
            response = self.post_form("/login/2fa/setup", {"code": pyotp.TOTP(secret).now()})
            self._remember_secret(user, secret)
        elif location.endswith("/login/2fa"):
            response = self.post_form("/login/2fa", {"code": self.totp_code(user)})
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
        self.logged_in = True
        return response

    def totp_code(self, user: UserAccount) -> str:
        with self.db.platform_session() as s:
            account = s.get(UserAccount, user.id)
            account.totp_last_step = None  # let the same test log in twice within 30 s
            secret = account.totp_secret
        return pyotp.TOTP(secret).now()

    def _remember_secret(self, user, secret):
        user.totp_secret = secret

    def logout(self):
        return self.post_form("/logout", form_url="/account")
