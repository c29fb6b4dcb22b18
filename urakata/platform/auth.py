"""Authentication services: passwords, lockout, reset links, TOTP, session invalidation.

Plain functions over a session (no Flask): the portal calls them and commits.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from sqlalchemy import select, update

from urakata.platform import audit
from urakata.platform.audit import Actor
from urakata.platform.db import utcnow
from urakata.platform.i18n import N_
from urakata.platform.identity import (
    AGENCY_ROLES,
    PasswordResetToken,
    UserAccount,
    get_user_by_email,
)
from urakata.platform.mail import queue_mail
from urakata.platform.mailrender import password_link_token, register_kind
from urakata.platform.passwords import hash_password, needs_rehash, verify_password

LOCKOUT_THRESHOLD = 10
LOCKOUT_DURATION = timedelta(minutes=15)
RESET_TOKEN_TTL = timedelta(hours=1)
WELCOME_LINK_TTL = timedelta(days=7)  # the first password, set from the welcome mail
MIN_PASSWORD_LENGTH = 12
TOTP_ISSUER = "Urakata"
# Checked against when the e-mail is unknown, so an unknown address costs as much time as
# a wrong password and the response time does not tell which accounts exist.
_UNKNOWN_USER_HASH = hash_password(secrets.token_urlsafe(16))


class PasswordRejected(ValueError):
    """The new password does not meet the policy; the message says why."""


@dataclass(frozen=True)
class LoginResult:
    user: UserAccount | None
    reason: str  # "ok", "invalid", "locked", "inactive"

    @property
    def ok(self) -> bool:
        return self.reason == "ok"


def authenticate(
    session,
    email: str,
    password: str,
    *,
    actor: Actor,
    pii_key: bytes,
    now: datetime | None = None,
) -> LoginResult:
    """Check e-mail and password; count failures and lock after ``LOCKOUT_THRESHOLD``.

    Unknown e-mail, wrong password and inactive account look the same to the caller's
    user (the portal shows one message); ``reason`` is for the log and the ledger.
    """
    now = now or utcnow()
    user = get_user_by_email(session, email)
    if user is None:
        verify_password(_UNKNOWN_USER_HASH, password)
        audit.record(
            session,
            actor,
            "auth.login.failed",
            object_type="user",
            data={"reason": "unknown_email", "email": audit.pseudonymize(pii_key, email)},
            chain_id=audit.AGENCY_CHAIN_ID,
        )
        return LoginResult(None, "invalid")
    actor = audit.user_actor(user, actor.request_id, actor.ip)
    if is_locked(user, now):
        _record(session, actor, user, "auth.login.refused", {"reason": "locked"})
        return LoginResult(user, "locked")
    if not verify_password(user.password_hash, password):
        register_failure(session, user, actor, now, "password")
        return LoginResult(user, "invalid")
    if not user.is_active:
        _record(session, actor, user, "auth.login.refused", {"reason": "inactive"})
        return LoginResult(user, "inactive")
    user.failed_logins = 0
    user.locked_until = None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    session.flush()
    return LoginResult(user, "ok")


def _record(session, actor: Actor, user: UserAccount, action: str, data=None, changes=None):
    """Into the chain the session is already bound to (e.g. onboarding a shop), else the
    person's home chain (their shop's, or the agency's)."""
    audit.record(
        session,
        actor,
        action,
        object_type="user",
        object_id=user.id,
        data=data,
        changes=changes,
        chain_id=session.tenant_id or audit.home_chain(user),
    )


def register_failure(
    session, user: UserAccount, actor: Actor, now: datetime | None = None, factor: str = "password"
) -> None:
    """Count a failed password or second factor; lock the account at the threshold."""
    user.failed_logins += 1
    locked = user.failed_logins >= LOCKOUT_THRESHOLD
    if locked:
        user.locked_until = (now or utcnow()) + LOCKOUT_DURATION
        user.failed_logins = 0
    session.flush()
    _record(session, actor, user, "auth.login.failed", {"factor": factor, "locked": locked})


def is_locked(user: UserAccount, now: datetime | None = None) -> bool:
    return user.locked_until is not None and user.locked_until > (now or utcnow())


def record_login(session, user: UserAccount, actor: Actor, now: datetime | None = None) -> None:
    user.last_login_at = now or utcnow()
    session.flush()
    _record(
        session, actor, user, "auth.login.succeeded", {"second_factor": bool(user.totp_enabled_at)}
    )


def check_password_policy(user: UserAccount, password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordRejected(f"at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > 256:
        raise PasswordRejected("at most 256 characters")
    if password.strip().lower() in {user.email.lower(), user.email.split("@")[0].lower()}:
        raise PasswordRejected("must not be your e-mail address")


def set_password(
    session,
    user: UserAccount,
    password: str,
    *,
    actor: Actor,
    how: str = "changed",
    now: datetime | None = None,
) -> None:
    """Set a new password and end every existing session of the user."""
    check_password_policy(user, password)
    first = user.password_hash is None
    user.password_hash = hash_password(password)
    user.password_changed_at = now or utcnow()
    user.failed_logins = 0
    user.locked_until = None
    end_all_sessions(session, user)
    _record(session, actor, user, "auth.password.set", {"how": "first" if first else how})


def end_all_sessions(session, user: UserAccount) -> None:
    user.session_token = secrets.token_urlsafe(32)
    session.flush()


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_password_link(
    session,
    email: str,
    *,
    actor: Actor,
    link_key: bytes,
    mail_kind: str = "password_reset",
    shop_name: str = "",
    now: datetime | None = None,
    ttl: timedelta = RESET_TOKEN_TTL,
) -> tuple[UserAccount, str] | None:
    """A one-time password link for an active user, mailed by the worker; None when the
    address has no active account (the caller says the same thing either way).

    Welcome mails use the same link with a longer ``ttl`` to set the first password. The
    link's secret is derived from the row id with ``link_key`` and only its SHA-256 is
    stored; the worker derives it again to write the mail.
    """
    now = now or utcnow()
    user = get_user_by_email(session, email)
    if user is None or not user.is_active:
        return None
    token = PasswordResetToken(
        id=uuid.uuid4(), user_id=user.id, created_at=now, expires_at=now + ttl, token_hash=""
    )
    raw = password_link_token(link_key, token.id)
    token.token_hash = _digest(raw)
    session.add(token)
    session.flush()
    _record(
        session,
        actor,
        user,
        "auth.password_link.issued",
        {"valid_seconds": int(ttl.total_seconds()), "mail": mail_kind},
    )
    queue_mail(
        session,
        kind=mail_kind,
        to=user.email,
        locale=user.locale,
        params={"user_id": str(user.id), "token_id": str(token.id), "shop_name": shop_name},
        agency_scope=session.tenant_id == audit.AGENCY_CHAIN_ID,
    )
    return user, raw


def _password_mail_context(session, params: dict, settings) -> dict:
    user = session.get(UserAccount, uuid.UUID(params["user_id"]))
    token = password_link_token(settings.link_key, uuid.UUID(params["token_id"]))
    # The portal serves this path (auth.reset_password).
    link = f"{settings.public_url}/password/reset/{token}"
    return {"user": user, "link": link, "shop_name": params.get("shop_name", "")}


register_kind(
    "password_reset",
    "password_reset.txt",
    N_("Reset your Urakata password"),
    _password_mail_context,
)
register_kind(
    "welcome", "welcome.txt", N_("Welcome to Urakata: set your password"), _password_mail_context
)
register_kind(
    "staff_welcome",
    "staff_welcome.txt",
    N_("Welcome to Urakata: set your password"),
    _password_mail_context,
)


def find_reset_token(session, raw: str, now: datetime | None = None) -> PasswordResetToken | None:
    now = now or utcnow()
    token = session.scalar(
        select(PasswordResetToken).where(PasswordResetToken.token_hash == _digest(raw))
    )
    if token is None or token.used_at is not None or token.expires_at <= now:
        return None
    return token


def complete_reset(
    session, raw: str, password: str, *, actor: Actor, now: datetime | None = None
) -> UserAccount:
    """Use the token once: set the password, burn every open token of the user."""
    now = now or utcnow()
    token = find_reset_token(session, raw, now)
    if token is None:
        raise PasswordRejected("this reset link is invalid, used or expired")
    user = session.get(UserAccount, token.user_id)
    actor = audit.user_actor(user, actor.request_id, actor.ip)
    set_password(session, user, password, actor=actor, how="reset", now=now)
    session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.user_id == user.id, PasswordResetToken.used_at.is_(None))
        .values(used_at=now)
    )
    return user


# -- TOTP ------------------------------------------------------------------------------


def totp_required(user: UserAccount) -> bool:
    """Agency staff must use a second factor; shop users and auditors may."""
    return any(m.role in AGENCY_ROLES for m in user.memberships)


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(user: UserAccount, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=TOTP_ISSUER)


def _accepted_step(secret: str, code: str, now: datetime, last_step: int | None) -> int | None:
    code = "".join(ch for ch in code if ch.isdigit())
    if len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in (current - 1, current, current + 1):  # one step of clock drift either way
        if last_step is not None and step <= last_step:
            continue
        if secrets.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def enable_totp(
    session, user: UserAccount, secret: str, code: str, *, actor: Actor, now=None
) -> bool:
    now = now or utcnow()
    step = _accepted_step(secret, code, now, None)
    if step is None:
        return False
    user.totp_secret = secret
    user.totp_enabled_at = now
    user.totp_last_step = step
    session.flush()
    _record(session, actor, user, "auth.totp.enabled")
    return True


def verify_totp(session, user: UserAccount, code: str, now=None) -> bool:
    """Accept a current code once; a replayed code (same or older step) is refused."""
    if not user.totp_secret:
        return False
    step = _accepted_step(user.totp_secret, code, now or utcnow(), user.totp_last_step)
    if step is None:
        return False
    user.totp_last_step = step
    session.flush()
    return True


def disable_totp(session, user: UserAccount, *, actor: Actor) -> None:
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    session.flush()
    _record(session, actor, user, "auth.totp.disabled")
