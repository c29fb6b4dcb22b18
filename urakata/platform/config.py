"""Settings, read once from the environment by the app factory or a CLI command.

Importing this module reads nothing; :func:`Settings.from_env` does, when called.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

MODES = ("production", "demo", "test")


class ConfigError(RuntimeError):
    """The environment does not describe a runnable Urakata; the message says what is missing."""


@dataclass(frozen=True)
class Settings:
    mode: str = "production"
    secret_key: str | None = None
    # The application role: owns nothing, not superuser, no BYPASSRLS (DESIGN §4).
    database_url: str | None = None
    # The owner role, used only by migrations.
    migrate_database_url: str | None = None
    redis_url: str = "redis://127.0.0.1:6379/0"
    app_db_role: str = "urakata_app"
    trusted_proxies: int = 0
    default_timezone: str = "Asia/Tokyo"
    log_level: str = "INFO"
    # Mail (password resets now; shop mails later). A local SMTP relay by default.
    mail_host: str = "127.0.0.1"
    mail_port: int = 25
    mail_from: str = "noreply@urakata.example"
    mail_from_name: str = "Urakata"
    mail_username: str | None = None
    mail_password: str | None = None
    mail_starttls: bool = False
    # Login throttling (Flask-Limiter syntax); storage is Redis, memory when Redis is down.
    login_rate_limit_ip: str = "20 per minute"
    login_rate_limit_account: str = "10 per minute"
    rate_limit_prefix: str = "urakata"
    # Key for pseudonymising personal data in the ledger; derived from SECRET_KEY when unset.
    ledger_pii_key: str | None = None
    # Links in mails point here (the worker has no request to take the host from).
    public_url: str = "http://127.0.0.1:8000"
    # Demo mode writes mails as .eml files here instead of sending them.
    mail_dir: str | None = None
    # Uploaded files (sasage photos and their renditions), outside the web root; served only
    # through views that check the shop. Relative paths are read from the working directory.
    files_dir: str = "var/files"
    # Ledger checkpoints (DESIGN §5): the Ed25519 signing key comes from a file or the
    # environment, never the database; signed checkpoints are also written as files here,
    # for shipping to write-once storage.
    ledger_signing_key_file: str | None = None
    ledger_signing_key: str | None = None
    checkpoint_dir: str = "var/checkpoints"
    extra: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        mode = env.get("URAKATA_MODE", "production").strip().lower()
        if mode not in MODES:
            raise ConfigError(f"URAKATA_MODE must be one of {', '.join(MODES)}, got {mode!r}")
        try:
            proxies = int(env.get("TRUSTED_PROXIES", "0"))
        except ValueError as exc:
            raise ConfigError(
                "TRUSTED_PROXIES must be a whole number (0 when not behind a proxy)"
            ) from exc
        settings = cls(
            mode=mode,
            secret_key=env.get("SECRET_KEY") or None,
            database_url=env.get("DATABASE_URL") or None,
            migrate_database_url=env.get("MIGRATE_DATABASE_URL") or None,
            redis_url=env.get("REDIS_URL") or cls.redis_url,
            app_db_role=env.get("URAKATA_APP_ROLE") or cls.app_db_role,
            trusted_proxies=proxies,
            log_level=env.get("LOG_LEVEL", "INFO").upper(),
            mail_host=env.get("MAIL_HOST") or cls.mail_host,
            mail_port=_int(env, "MAIL_PORT", cls.mail_port, "the SMTP port"),
            mail_from=env.get("MAIL_FROM") or cls.mail_from,
            mail_from_name=env.get("MAIL_FROM_NAME") or cls.mail_from_name,
            mail_username=env.get("MAIL_USERNAME") or None,
            mail_password=env.get("MAIL_PASSWORD") or None,
            mail_starttls=env.get("MAIL_STARTTLS", "").lower() in ("1", "true", "yes"),
            ledger_pii_key=env.get("LEDGER_PII_KEY") or None,
            public_url=(env.get("PUBLIC_URL") or cls.public_url).rstrip("/"),
            mail_dir=env.get("MAIL_DIR") or None,
            files_dir=str(Path(env.get("FILES_DIR") or cls.files_dir).resolve()),
            ledger_signing_key_file=env.get("LEDGER_SIGNING_KEY_FILE") or None,
            ledger_signing_key=env.get("LEDGER_SIGNING_KEY") or None,
            checkpoint_dir=str(
                Path(env.get("LEDGER_CHECKPOINT_DIR") or cls.checkpoint_dir).resolve()
            ),
        )
        return settings.validated()

    def validated(self) -> Settings:
        if self.mode not in MODES:
            raise ConfigError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if not self.database_url:
            raise ConfigError("DATABASE_URL is required (the application role's URL, see README)")
        if self.secret_key is None:
            if self.mode == "production":
                raise ConfigError("SECRET_KEY is required outside demo and test modes")
            # Demo and test get a per-process key: sessions do not survive a restart.
            return replace(self, secret_key=os.urandom(32).hex())
        return self

    @property
    def is_production(self) -> bool:
        return self.mode == "production"

    @property
    def link_key(self) -> bytes:
        """Derives the secret part of password links from their ids (see mailrender)."""
        return hmac.new(
            (self.secret_key or "").encode(), b"urakata password links", hashlib.sha256
        ).digest()

    @property
    def pii_key(self) -> bytes:
        """The ledger's pseudonymisation key (set LEDGER_PII_KEY to keep it across key rotation)."""
        if self.ledger_pii_key:
            return self.ledger_pii_key.encode()
        return hmac.new(
            (self.secret_key or "").encode(), b"urakata ledger pii", hashlib.sha256
        ).digest()


def _int(env: Mapping[str, str], name: str, default: int, hint: str) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number ({hint}), got {raw!r}") from exc
