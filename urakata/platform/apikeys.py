"""Per-shop API keys (a platform table: a key is found by its prefix before a shop is bound).

A key reads ``uk_<prefix>_<secret>``. Only the SHA-256 of the whole token is stored: the
API must answer thousands of requests a second, which argon2 would cap far below target,
and the token is 256 bits of randomness, so a fast hash is not guessable.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from urakata.platform.db import Base, utcnow

TOKEN_PREFIX = "uk_"  # noqa: S105 - a public marker, not a secret


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
