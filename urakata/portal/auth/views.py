"""Auth pages. Thin: parse the form, call a platform.auth service, render or redirect."""

from __future__ import annotations

import logging
import time
import uuid

import segno
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from urakata.platform import auth
from urakata.platform.identity import UserAccount
from urakata.portal.actor import actor_for, current_actor
from urakata.portal.auth.forms import (
    ChangePasswordForm,
    LoginForm,
    NewPasswordForm,
    ResetRequestForm,
    TotpForm,
)
from urakata.portal.i18n import LOCALES
from urakata.portal.requestdb import db_session, keep_changes_on_error
from urakata.portal.security import PortalUser, limiter

bp = Blueprint("auth", __name__)
log = logging.getLogger(__name__)
PENDING_TTL = 300  # seconds between password and second factor


def _account_key() -> str:
    return "login:" + (request.form.get("email") or "").strip().lower()


def _ip_limit() -> str:
    return current_app.config["URAKATA_SETTINGS"].login_rate_limit_ip


def _account_limit() -> str:
    return current_app.config["URAKATA_SETTINGS"].login_rate_limit_account


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("home.index")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_ip_limit, methods=["POST"])
@limiter.limit(_account_limit, key_func=_account_key, methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    if form.validate_on_submit():
        result = auth.authenticate(
            db_session(),
            form.email.data,
            form.password.data,
            actor=current_actor(),
            pii_key=current_app.config["URAKATA_SETTINGS"].pii_key,
        )
        keep_changes_on_error()  # the failure count must survive the 422
        if result.reason == "locked":
            form.email.errors.append(
                _("Too many failed attempts. The account is locked for 15 minutes.")
            )
        elif not result.ok:
            log.info("login failed for %s: %s", form.email.data, result.reason)
            form.password.errors.append(_("E-mail or password is wrong."))
        else:
            return _after_password(result.user, request.args.get("next"))
    return render_template("auth/login.html", form=form), (200 if not form.errors else 422)


def _after_password(user: UserAccount, next_url: str | None):
    session["pending_user"] = {"id": str(user.id), "at": time.time(), "next": next_url}
    if user.totp_enabled_at:
        return redirect(url_for("auth.two_factor"))
    if auth.totp_required(user):
        return redirect(url_for("auth.totp_setup"))
    return _finish_login(user)


def _pending_user() -> UserAccount | None:
    pending = session.get("pending_user")
    if not pending or time.time() - pending["at"] > PENDING_TTL:
        session.pop("pending_user", None)
        return None
    return db_session().get(UserAccount, uuid.UUID(pending["id"]))


def _finish_login(user: UserAccount):
    next_url = (session.pop("pending_user", None) or {}).get("next")
    session.pop("totp_setup_secret", None)
    auth.record_login(db_session(), user, actor_for(user))
    login_user(PortalUser(user))
    session["lang"] = user.locale
    return redirect(_safe_next(next_url))


@bp.route("/login/2fa", methods=["GET", "POST"])
@limiter.limit(_ip_limit, methods=["POST"])
def two_factor():
    user = _pending_user()
    if user is None or not user.totp_enabled_at:
        return redirect(url_for("auth.login"))
    form = TotpForm()
    if form.validate_on_submit():
        if auth.is_locked(user):
            session.pop("pending_user", None)
            flash(_("Too many failed attempts. The account is locked for 15 minutes."), "error")
            return redirect(url_for("auth.login"))
        if auth.verify_totp(db_session(), user, form.code.data):
            return _finish_login(user)
        auth.register_failure(db_session(), user, actor_for(user), factor="totp")
        keep_changes_on_error()
        form.code.errors.append(_("The code is wrong or was already used."))
    return render_template("auth/two_factor.html", form=form), (200 if not form.errors else 422)


@bp.route("/login/2fa/setup", methods=["GET", "POST"])
def totp_setup():
    """Enrolment: right after the password for agency staff, or from the account page."""
    user = _pending_user()
    logged_in = user is None and current_user.is_authenticated
    if logged_in:
        user = current_user.account
    if user is None:
        return redirect(url_for("auth.login"))
    secret = session.get("totp_setup_secret") or auth.new_totp_secret()
    session["totp_setup_secret"] = secret
    form = TotpForm()
    if form.validate_on_submit():
        if auth.enable_totp(db_session(), user, secret, form.code.data, actor=actor_for(user)):
            session.pop("totp_setup_secret", None)
            if logged_in:
                flash(_("Two-factor authentication is on."), "success")
                return redirect(url_for("auth.account"))
            return _finish_login(user)
        form.code.errors.append(_("The code does not match. Check the time on your phone."))
    uri = auth.totp_uri(user, secret)
    qr = segno.make(uri, error="m").svg_data_uri(scale=4)
    return render_template(
        "auth/totp_setup.html",
        form=form,
        secret=secret,
        qr=qr,
        uri=uri,
        required=auth.totp_required(user),
    ), (200 if not form.errors else 422)


@bp.post("/logout")
def logout():
    logout_user()
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    return redirect(url_for("auth.login"))


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(_ip_limit, methods=["POST"])
def forgot_password():
    form = ResetRequestForm()
    if form.validate_on_submit():
        auth.issue_password_link(
            db_session(),
            form.email.data,
            actor=current_actor(),
            link_key=current_app.config["URAKATA_SETTINGS"].link_key,
        )
        # The same answer whether or not the address has an account.
        flash(_("If the address has an account, a reset link is on its way."), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot.html", form=form), (200 if not form.errors else 422)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    if auth.find_reset_token(db_session(), token) is None:
        return render_template("auth/reset_invalid.html"), 404
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            auth.complete_reset(db_session(), token, form.password.data, actor=current_actor())
        except auth.PasswordRejected as exc:
            form.password.errors.append(_password_message(exc))
        else:
            logout_user()
            flash(_("Your password is changed. Log in with the new one."), "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/reset.html", form=form), (200 if not form.errors else 422)


def _password_message(exc: auth.PasswordRejected) -> str:
    return _("The password was refused: %(reason)s", reason=str(exc))


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    form = ChangePasswordForm()
    user = current_user.account
    if form.validate_on_submit():
        from urakata.platform.passwords import verify_password

        if not verify_password(user.password_hash, form.current.data):
            form.current.errors.append(_("The current password is wrong."))
        else:
            try:
                auth.set_password(db_session(), user, form.password.data, actor=current_actor())
            except auth.PasswordRejected as exc:
                form.password.errors.append(_password_message(exc))
            else:
                # Other sessions died with the old token; this one continues.
                login_user(PortalUser(user))
                flash(_("Your password is changed. Other sessions were logged out."), "success")
                return redirect(url_for("auth.account"))
    return render_template("auth/account.html", form=form, required=auth.totp_required(user)), (
        200 if not form.errors else 422
    )


@bp.post("/language/<lang>")
def set_language(lang: str):
    if lang not in LOCALES:
        abort(404)
    session["lang"] = lang
    if current_user.is_authenticated:
        current_user.account.locale = lang
    return redirect(_safe_next(request.form.get("next")))
