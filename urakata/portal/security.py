"""Login sessions, CSRF, rate limits, security headers, cookies and the client IP."""

from __future__ import annotations

import uuid

from flask import Flask, jsonify, redirect, request, url_for
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, UserMixin
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.orm import joinedload
from werkzeug.middleware.proxy_fix import ProxyFix

from urakata.platform.config import Settings
from urakata.platform.identity import UserAccount
from urakata.portal.requestdb import db_session

csrf = CSRFProtect()
login_manager = LoginManager()
limiter = Limiter(key_func=get_remote_address, default_limits=[])

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


class PortalUser(UserMixin):
    """The logged-in user. Its id includes the session token, so rotating the token
    (password change, reset) logs out every existing session."""

    def __init__(self, account: UserAccount):
        self.account = account

    def get_id(self) -> str:
        return f"{self.account.id}.{self.account.session_token}"

    def __getattr__(self, name):
        return getattr(self.account, name)


def configure_security(app: Flask, settings: Settings) -> None:
    secure = settings.is_production
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=secure,
        WTF_CSRF_TIME_LIMIT=None,
        RATELIMIT_STORAGE_URI=settings.redis_url,
        RATELIMIT_KEY_PREFIX=settings.rate_limit_prefix,
        RATELIMIT_STORAGE_OPTIONS={"socket_connect_timeout": 1, "socket_timeout": 1},
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True,
        RATELIMIT_HEADERS_ENABLED=True,
        RATELIMIT_SWALLOW_ERRORS=True,
    )
    if settings.trusted_proxies:
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "basic"
    login_manager.user_loader(_load_user)
    login_manager.unauthorized_handler(_unauthorized)

    @app.after_request
    def _security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if request.is_secure:
            response.headers.setdefault(
                "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
            )
        return response


def _load_user(user_id: str) -> PortalUser | None:
    raw_id, _, token = user_id.partition(".")
    try:
        uid = uuid.UUID(raw_id)
    except ValueError:
        return None
    # One query: the account and its memberships (every page asks what the user may reach).
    account = db_session().get(UserAccount, uid, options=[joinedload(UserAccount.memberships)])
    if account is None or not account.is_active or account.session_token != token:
        return None
    return PortalUser(account)


def _unauthorized():
    if request.path.startswith("/api/"):
        return jsonify(code=401, status="Unauthorized", message="authentication required"), 401
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
