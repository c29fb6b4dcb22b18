"""The demo: its own servers under ./var, a migrated database, believable data, the portal.

Tooling, not one of the four parts: ``urakata demo`` (``make demo``) runs it.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from urakata.platform.apikeys import create_api_key
from urakata.platform.audit import Actor
from urakata.platform.config import Settings
from urakata.platform.db import Database
from urakata.platform.identity import Role, create_user, get_user_by_email, invite_user
from urakata.platform.passwords import hash_password
from urakata.platform.tenancy import Tenant
from urakata.tenants.shop.services import onboard_shop, update_settings
from urakata.worker.queues import QUEUES

DEMO_PASSWORD = "urakata-demo-2026"  # noqa: S105 - printed for the demo, never production

SHOPS = [
    ("hanabi-tea", "花火茶舗", "Asia/Tokyo"),
    ("kumo-apparel", "くもアパレル", "Asia/Tokyo"),
    ("sora-cosme", "そらコスメ", "Asia/Tokyo"),
]

# Contract details per shop: sender on labels, closed days, carrier accounts.
CONTRACTS = {
    "hanabi-tea": {
        "sender_name": "花火茶舗 物流センター",
        "sender_postal_code": "420-0858",
        "sender_address": "静岡県静岡市葵区伝馬町1-2-3",
        "sender_phone": "054-123-4567",
        "same_day_cutoff": "13:00",
        "closed_days": ["2026-12-30", "2026-12-31"],
        "b2_customer_code": "054123456701",
        "b2_freight_code": "01",
    },
    "kumo-apparel": {
        "sender_name": "くもアパレル",
        "sender_postal_code": "150-0001",
        "sender_address": "東京都渋谷区神宮前4-5-6",
        "sender_phone": "03-5555-0101",
        "split_policy": "split_allowed",
        "ehiden_customer_code": "123456789012",
    },
    "sora-cosme": {
        "sender_name": "そらコスメ 出荷窓口",
        "sender_postal_code": "530-0001",
        "sender_address": "大阪府大阪市北区梅田7-8-9",
        "sender_phone": "06-6666-0202",
        "same_day_cutoff": "15:00",
        "stocktake_approval_threshold_yen": 30000,
    },
}

# (email, name, role, shop slug or None)
PEOPLE = [
    ("admin@urakata.example", "管理 花子", Role.agency_admin, None),
    ("op.tanaka@urakata.example", "田中 一郎", Role.operator, "hanabi-tea"),
    ("op.tanaka@urakata.example", "田中 一郎", Role.operator, "kumo-apparel"),
    ("op.suzuki@urakata.example", "鈴木 次郎", Role.operator, "sora-cosme"),
    ("auditor@urakata.example", "監査 三郎", Role.auditor, None),
    ("owner@hanabi-tea.example", "花火 美咲", Role.shop_admin, "hanabi-tea"),
    ("owner@kumo-apparel.example", "雲井 翔", Role.shop_admin, "kumo-apparel"),
    ("owner@sora-cosme.example", "空野 彩", Role.shop_admin, "sora-cosme"),
    ("staff@hanabi-tea.example", "茶屋 健", Role.shop_staff, "hanabi-tea"),
]


SEED = Actor.system("demo seed")


def seed_demo(db: Database, link_key: bytes) -> str | None:
    """Create the demo agency once; returns the demo API key's token, None when seeded."""
    with db.platform_session() as session:
        if session.scalar(select(Tenant.id).where(Tenant.slug == SHOPS[0][0])):
            return None
    admins = {shop: (email, name) for email, name, role, shop in PEOPLE if role is Role.shop_admin}
    tenants = {}
    for slug, name, tz in SHOPS:
        with db.session() as session, session.begin():  # onboarding binds it to the new shop
            email, admin_name = admins[slug]
            done = onboard_shop(
                session,
                actor=SEED,
                link_key=link_key,
                slug=slug,
                name=name,
                timezone=tz,
                admin_email=email,
                admin_name=admin_name,
            )
            done.admin.password_hash = hash_password(DEMO_PASSWORD)
            tenants[slug] = done.tenant
            update_settings(session, actor=SEED, expected_version=1, changes=CONTRACTS[slug])
    for email, name, role, shop in PEOPLE:
        if role is Role.shop_admin:
            continue
        # One session per grant: each is recorded in its own chain (a session binds once).
        with db.session() as session, session.begin():
            if get_user_by_email(session, email) is None:
                create_user(session, email, name, DEMO_PASSWORD)
            shop_id = tenants[shop].id if shop else None
            invite_user(session, email, name, role, shop_id, actor=SEED)
    with db.platform_session() as session:
        _key, token = create_api_key(
            session, tenants["hanabi-tea"].id, "demo: 受注連携", actor=SEED
        )
    return token


@dataclass
class DemoUrls:
    app_url: str
    owner_url: str
    redis_url: str


def _secret_key(var: Path) -> str:
    path = var / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def run_demo(var: Path, port: int = 8000) -> int:
    from urakata.platform.dbroles import bootstrap_database
    from urakata.platform.devservers import DevServers
    from urakata.platform.migrate import upgrade_head

    var.mkdir(parents=True, exist_ok=True)
    servers = None
    if os.environ.get("DATABASE_URL"):
        owner_url = os.environ.get("MIGRATE_DATABASE_URL") or sys.exit(
            "DATABASE_URL is set: set MIGRATE_DATABASE_URL (the owner role) too"
        )
        urls = DemoUrls(os.environ["DATABASE_URL"], owner_url, os.environ.get("REDIS_URL", ""))
    else:
        print("starting PostgreSQL and Redis under", var)
        servers = DevServers(var).start()
        owner_url, app_url = bootstrap_database(servers.admin_database_url, "urakata")
        urls = DemoUrls(app_url, owner_url, servers.redis_url)
    if os.environ.get("REDIS_URL"):
        urls.redis_url = os.environ["REDIS_URL"]
    elif not urls.redis_url:
        urls.redis_url = servers.redis_url if servers else "redis://127.0.0.1:6379/0"

    upgrade_head(urls.owner_url)
    db = Database.from_url(urls.app_url)
    token = seed_demo(db, Settings(secret_key=_secret_key(var), database_url="-").link_key)
    db.dispose()
    key_file = var / "demo_api_key"
    if token:
        key_file.write_text(token)
        key_file.chmod(0o600)
    print("seeded the demo agency" if token else "demo data already present; reusing ./var")

    env = dict(
        os.environ,
        URAKATA_MODE="demo",
        DATABASE_URL=urls.app_url,
        REDIS_URL=urls.redis_url,
        SECRET_KEY=_secret_key(var),
        MAIL_DIR=str((var / "mail").resolve()),
        PUBLIC_URL=f"http://127.0.0.1:{port}",
    )
    bindir = Path(sys.executable).parent
    children = [
        subprocess.Popen(
            [
                str(bindir / "gunicorn"),
                "--workers=2",
                f"--bind=127.0.0.1:{port}",
                "--access-logfile=-",
                "urakata.portal.wsgi:app",
            ],
            env=env,
        ),
        subprocess.Popen([str(bindir / "urakata"), "worker", "-n", "2", *QUEUES], env=env),
        subprocess.Popen([str(bindir / "urakata"), "relay"], env=env),
        subprocess.Popen([str(bindir / "urakata"), "cron"], env=env),
    ]
    _print_banner(port, key_file.read_text().strip() if key_file.exists() else "")
    stopping = False

    def _stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        while not stopping and all(c.poll() is None for c in children):
            time.sleep(0.2)
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
        if servers is not None:
            servers.stop()
        print("demo stopped")
    return 0 if stopping else 1


def _print_banner(port: int, api_token: str) -> None:
    print()
    print(f"  Urakata demo: http://127.0.0.1:{port}/")
    print(f"  password for every demo login: {DEMO_PASSWORD}")
    print("  mails are written to ./var/mail/ (agency admins see them in the portal)")
    seen = set()
    for email, _name, role, shop in PEOPLE:
        if email in seen:
            continue
        seen.add(email)
        print(f"    {role.value:<13} {email:<32} {shop or '(agency)'}")
    print("  agency admins and operators set up two-factor authentication at first login.")
    if api_token:
        print(f"  API (hanabi-tea): curl -H 'Authorization: Bearer {api_token}' \\")
        print(f"                    http://127.0.0.1:{port}/api/v1/shop")
    print("  Ctrl-C stops everything the demo started.")
    print(flush=True)
