"""Per-shop API keys (a platform table: a key is found by its prefix before a shop is bound).

A key reads ``uk_<prefix>_<secret>``. Only the SHA-256 of the whole token is stored: the
API must answer thousands of requests a second, which argon2 would cap far below target,
and the token is 256 bits of randomness, so a fast hash is not guessable.

Services here are plain functions over a session; they never commit. Every function that
takes a ``shop_id`` looks keys up within that shop only, so another shop's key id is
indistinguishable from a missing one (:class:`NotFound`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata
import uuid
from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, String, bindparam, func, or_, select, update
from sqlalchemy.orm import Mapped, Session, contains_eager, mapped_column, relationship

from urakata.platform import (
    audit,
    tenancy,  # noqa: F401 - registers "tenant", target of shop_id
)
from urakata.platform.audit import Actor
from urakata.platform.db import Base, utcnow
from urakata.platform.tenancy import NotFound, Tenant, TenantStatus

TOKEN_PREFIX = "uk_"  # noqa: S105 - a public marker, not a secret
NAME_MAX_LENGTH = 100
# last_used_at is a hint for the shop admin, not an access log: one write a minute per key
# keeps the API from turning every read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class ApiKey(Base):
    __tablename__ = "api_key"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    shop_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenant.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    last_used_at: Mapped[datetime | None]

    # Loaded by authenticate_token; elsewhere the caller already holds the shop.
    shop: Mapped[Tenant] = relationship(lazy="raise_on_sql")

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> tuple[str, str]:
    """A fresh ``(prefix, token)``; the token is shown to the shop admin exactly once."""
    prefix = secrets.token_hex(6)
    return prefix, f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"


def parse_prefix(token: str) -> str | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    body = token[len(TOKEN_PREFIX) :]
    prefix, sep, secret = body.partition("_")
    if not sep or len(prefix) != 12 or not secret:
        return None
    return prefix


def token_matches(key: ApiKey, token: str) -> bool:
    return hmac.compare_digest(key.token_hash, hash_token(token))


class InvalidApiKeyData(ValueError):
    """An API key's fields are not acceptable; ``field`` names which."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def normalise_key_name(name: str | None) -> str:
    """NFKC (full-width letters and digits, half-width kana) and trimmed, as stored."""
    return unicodedata.normalize("NFKC", name or "").strip()


def create_api_key(
    session: Session, shop_id: uuid.UUID, name: str, *, actor: Actor
) -> tuple[ApiKey, str]:
    """A new key for ``shop_id`` and its token; the token exists only in the return value.

    Recorded in the shop's chain (the name and prefix, never the token).
    """
    name = normalise_key_name(name)
    if not 1 <= len(name) <= NAME_MAX_LENGTH:
        raise InvalidApiKeyData("name", f"use 1 to {NAME_MAX_LENGTH} characters")
    prefix, token = new_token()
    key = ApiKey(
        shop_id=shop_id,
        name=name,
        prefix=prefix,
        token_hash=hash_token(token),
        created_by=actor.user_id,
    )
    session.add(key)
    session.flush()
    audit.record(
        session,
        actor,
        "api_key.created",
        object_type="api_key",
        object_id=key.id,
        data={"name": key.name, "prefix": key.prefix},
        chain_id=shop_id,
    )
    return key, token


def list_api_keys(session: Session, shop_id: uuid.UUID) -> list[ApiKey]:
    """The shop's keys, active ones first, newest first."""
    return list(
        session.scalars(
            select(ApiKey)
            .where(ApiKey.shop_id == shop_id)
            .order_by(ApiKey.revoked_at.is_not(None), ApiKey.created_at.desc(), ApiKey.id)
        )
    )


def get_api_key_in_shop(session: Session, shop_id: uuid.UUID, key_id: uuid.UUID) -> ApiKey:
    """The key ``key_id`` of ``shop_id``, or :class:`NotFound` (missing and foreign alike)."""
    key = session.scalar(select(ApiKey).where(ApiKey.id == key_id, ApiKey.shop_id == shop_id))
    if key is None:
        raise NotFound(f"API key {key_id} not found")
    return key


def revoke_api_key(
    session: Session,
    shop_id: uuid.UUID,
    key_id: uuid.UUID,
    *,
    actor: Actor,
    now: datetime | None = None,
) -> ApiKey:
    """Revoke a key of ``shop_id``; revoking a revoked key changes nothing."""
    key = get_api_key_in_shop(session, shop_id, key_id)
    if key.revoked_at is None:
        key.revoked_at = now or utcnow()
        key.revoked_by = actor.user_id
        session.flush()
        audit.record(
            session,
            actor,
            "api_key.revoked",
            object_type="api_key",
            object_id=key.id,
            data={"name": key.name, "prefix": key.prefix},
            chain_id=shop_id,
        )
    return key


# Built once: every API request runs it.
_KEY_WITH_SHOP = (
    select(ApiKey)
    .join(ApiKey.shop)
    .options(contains_eager(ApiKey.shop))
    .where(ApiKey.prefix == bindparam("prefix"))
)


def authenticate_token(session: Session, token: str) -> ApiKey | None:
    """The active key of an active shop that ``token`` belongs to, else None.

    The key's ``shop`` is loaded with it. Unknown, malformed, revoked and suspended-shop
    tokens all answer None; the caller says the same thing for each.
    """
    prefix = parse_prefix(token or "")
    row = None
    if prefix is not None:
        row = session.scalar(_KEY_WITH_SHOP, {"prefix": prefix})
    if row is None:
        # Spend the same hashing work for unknown prefixes as for known ones.
        hmac.compare_digest("0" * 64, hash_token(token or ""))
        return None
    if not token_matches(row, token):
        return None
    if not row.is_active or row.shop.status != TenantStatus.active:
        return None
    return row


def use_is_stale(key: ApiKey, now: datetime | None = None) -> bool:
    """Whether ``key``'s recorded last use (as read) is older than the resolution; a
    request skips :func:`touch_last_used` (a round trip) when it is not."""
    last = key.last_used_at
    return last is None or last < (now or utcnow()) - LAST_USED_RESOLUTION


def touch_last_used(session: Session, key_id: uuid.UUID) -> bool:
    """Record that the key was used, at most once per ``LAST_USED_RESOLUTION``.

    A conditional Core UPDATE: most calls match no row and write nothing. ``SKIP LOCKED``
    lets concurrent calls with the same key pass instead of queueing behind the one
    request that is recording the use. Returns whether a row was written.
    """
    table = ApiKey.__table__
    stale = or_(
        table.c.last_used_at.is_(None),
        table.c.last_used_at < func.now() - LAST_USED_RESOLUTION,
    )
    claim = (
        select(table.c.id)
        .where(table.c.id == key_id, stale)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    result = session.execute(
        update(table).where(table.c.id == claim).values(last_used_at=func.now())
    )
    return result.rowcount == 1
