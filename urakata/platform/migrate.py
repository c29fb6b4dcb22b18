"""Run the Alembic migrations programmatically (as the owner role)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

ROOT = Path(__file__).resolve().parents[2]


def alembic_config(owner_url: str, app_role: str | None = None) -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["url"] = owner_url
    if app_role:
        cfg.attributes["app_role"] = app_role
    return cfg


def upgrade_head(owner_url: str, app_role: str | None = None) -> None:
    command.upgrade(alembic_config(owner_url, app_role), "head")
