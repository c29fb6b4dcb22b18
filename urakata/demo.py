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
from urakata.platform.codes import gtin_check_digit, itf14_for
from urakata.platform.config import Settings
from urakata.platform.db import Database
from urakata.platform.identity import Role, create_user, get_user_by_email, invite_user
from urakata.platform.passwords import hash_password
from urakata.platform.tenancy import Tenant
from urakata.tenants.catalog.services import create_product, update_product
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

# Each shop's GS1 company prefix (fictional; 45 is Japan); item numbers follow it.
JAN_PREFIX = {"hanabi-tea": "4571461", "kumo-apparel": "4589876", "sora-cosme": "4560321"}
_AMB, _CHL, _FRZ = "ambient", "chilled", "frozen"
_SIZES = {"S": 0, "M": 1, "L": 2}

# (sku, JAN item no. or None, name, English name, price yen, tax %, status, zone,
#  (length, width, height) mm, weight g, lot tracked, case quantity or None, shop codes)
# fmt: off
CATALOG = {
    "hanabi-tea": [
        ("HT-SEN-100", 1, "静岡 深蒸し煎茶 100g", "Fukamushi sencha 100g", 1080, 8, "active",
         _AMB, (150, 100, 30), 120, True, 40, ["HT001"]),
        ("HT-GYO-50", 2, "八女 玉露 50g", "Yame gyokuro 50g", 2160, 8, "active",
         _AMB, (120, 80, 30), 70, True, 40, []),
        ("HT-HOJ-TB20", 3, "ほうじ茶 ティーバッグ 20包", "Hojicha tea bags x20", 648, 8, "active",
         _AMB, (180, 120, 50), 90, True, 24, []),
        ("HT-MAT-30", 4, "宇治抹茶 30g 缶", "Uji matcha 30g tin", 1620, 8, "active",
         _AMB, (80, 80, 90), 110, True, 48, []),
        ("HT-GEN-200", 5, "玄米茶 200g", "Genmaicha 200g", 756, 8, "active",
         _AMB, (200, 130, 50), 220, True, 30, []),
        ("HT-MIZ-6", 6, "水出し煎茶 ボトル 500ml×6本", "Cold-brew sencha 500ml x6", 1944, 8,
         "active", _CHL, (260, 175, 210), 3200, True, None, []),
        ("HT-YOK-6", 7, "水ようかん 6個入", "Mizu yokan x6", 1296, 8, "active",
         _CHL, (210, 140, 60), 620, True, 12, []),
        ("HT-WAR-12", 8, "抹茶わらび餅 12個入", "Matcha warabi mochi x12", 1080, 8, "active",
         _CHL, (220, 150, 45), 480, True, 12, []),
        ("HT-ICE-6", 9, "抹茶アイス 6個入", "Matcha ice cream x6", 2400, 8, "active",
         _FRZ, (240, 160, 80), 720, True, None, []),
        ("HT-DAI-8", 10, "いちご大福 8個入", "Strawberry daifuku x8", 1980, 8, "draft",
         _FRZ, (230, 160, 50), 560, True, None, []),
        ("HT-YUN-ARI", 11, "湯呑み 有田焼 藍", "Arita yunomi, indigo", 3300, 10, "active",
         _AMB, (110, 110, 100), 260, False, None, []),
        ("HT-KYU-TOK", 12, "急須 常滑焼 朱泥", "Tokoname kyusu teapot", 5500, 10, "active",
         _AMB, (190, 140, 110), 380, False, None, []),
        ("HT-GIFT-A", 13, "ギフトセット 煎茶・玉露", "Gift set: sencha and gyokuro", 4320, 8,
         "draft", _AMB, (320, 230, 60), 420, True, None, ["GIFT-A"]),
        ("HT-BAN-500", 14, "番茶 500g", "Bancha 500g", 864, 8, "discontinued",
         _AMB, (260, 160, 70), 520, True, 20, []),
    ],
    "kumo-apparel": [
        *[(f"KA-TEE-{c}-{size}", 100 + 3 * n + i, f"オーガニックコットン Tシャツ {cj} {size}",
           f"Organic cotton T-shirt, {ce}, {size}", 3960, 10, "active", _AMB,
           (250, 200, 20), 160 + 20 * i, False, None, [])
          for n, (c, cj, ce) in enumerate([("WHT", "白", "white"), ("BLK", "黒", "black")])
          for size, i in _SIZES.items()],
        *[(f"KA-HOOD-GRY-{size}", 110 + i, f"スウェットパーカー グレー {size}",
           f"Sweat hoodie, grey, {size}", 8800, 10, "active", _AMB,
           (350, 300, 60), 580 + 40 * i, False, None, [])
          for size, i in _SIZES.items()],
        *[(f"KA-DNM-W{waist}", 120 + i, f"セルビッジデニム ワイド W{waist}",
           f"Selvedge denim, wide, W{waist}", 12100, 10, "active", _AMB,
           (400, 300, 50), 780 + 20 * i, False, None, [])
          for i, waist in enumerate((28, 30, 32))],
        ("KA-CAP-NVY", 130, "ウォッシュドキャップ ネイビー", "Washed cap, navy", 4400, 10,
         "active", _AMB, (260, 200, 130), 110, False, None, []),
        ("KA-SOCK-3P", None, "リブソックス 3足組", "Rib socks, 3 pairs", 1650, 10, "active",
         _AMB, (220, 110, 30), 120, False, None, ["KA-SOCK-3P-TAG"]),
        ("KA-COAT-BEG-M", 140, "ウールチェスターコート ベージュ M", "Wool Chester coat, beige, M",
         29700, 10, "draft", _AMB, (500, 400, 100), 1600, False, None, []),
        ("KA-SCARF-RED", 141, "カシミヤ混マフラー 赤", "Cashmere-blend scarf, red", 6600, 10,
         "discontinued", _AMB, (300, 200, 40), 180, False, None, []),
    ],
    "sora-cosme": [
        ("SC-LOT-200", 1, "化粧水 しっとり 200ml", "Moist lotion 200ml", 2420, 10, "active",
         _AMB, (60, 60, 170), 260, True, 48, []),
        ("SC-MLK-120", 2, "乳液 120ml", "Milk emulsion 120ml", 2640, 10, "active",
         _AMB, (55, 55, 150), 190, True, 48, []),
        ("SC-SER-30", 3, "美容液 30ml", "Serum 30ml", 4950, 10, "draft",
         _AMB, (45, 45, 120), 110, True, 60, []),
        ("SC-CRM-50", 4, "保湿クリーム 50g", "Moisturising cream 50g", 3850, 10, "active",
         _AMB, (70, 70, 60), 150, True, 48, []),
        ("SC-CLN-150", 5, "クレンジングオイル 150ml", "Cleansing oil 150ml", 1980, 10, "active",
         _AMB, (55, 55, 160), 200, True, 48, []),
        ("SC-SUN-50", 6, "日焼け止め SPF50+ 50g", "Sunscreen SPF50+ 50g", 2200, 10, "active",
         _AMB, (40, 30, 130), 70, True, 60, []),
        ("SC-LIP-01", 7, "リップバーム はちみつ", "Lip balm, honey", 1320, 10, "active",
         _AMB, (20, 20, 80), 15, True, 100, []),
        ("SC-LIP-02", 8, "リップバーム ゆず", "Lip balm, yuzu", 1320, 10, "active",
         _AMB, (20, 20, 80), 15, True, 100, []),
        ("SC-MSK-7", 9, "シートマスク 7枚入", "Sheet masks x7", 1100, 10, "active",
         _AMB, (180, 130, 20), 160, True, 50, []),
        ("SC-VC-20", 10, "生ビタミンC美容液 20ml 要冷蔵", "Fresh vitamin C serum 20ml", 6600, 10,
         "active", _CHL, (40, 40, 110), 80, True, None, []),
        ("SC-SET-TRV", 11, "トラベルセット", "Travel set", 3300, 10, "draft",
         _AMB, (160, 110, 60), 240, True, None, ["SC-TRV-KIT"]),
    ],
}
# fmt: on
# Later changes, so product pages have a history: (shop, sku, changes).
CATALOG_CHANGES = [
    ("hanabi-tea", "HT-SEN-100", {"price_yen": 1188}),
    ("kumo-apparel", "KA-COAT-BEG-M", {"sale_starts_at": "2027-01-15 10:00"}),
    ("sora-cosme", "SC-SER-30", {"status": "active", "name": "美容液 ハリ 30ml"}),
]


def demo_jan(slug: str, item: int) -> str:
    body = f"{JAN_PREFIX[slug]}{item:05d}"
    return body + str(gtin_check_digit(body))


def _product_data(slug: str, entry: tuple) -> dict:
    sku, item, name, name_en, price, tax, status, zone, sides, weight, lot, case, codes = entry
    jan = demo_jan(slug, item) if item is not None else None
    return {
        "sku": sku,
        "jan": jan,
        "name": name,
        "name_en": name_en,
        "price_yen": price,
        "tax_rate": tax,
        "status": status,
        "temperature_zone": zone,
        "length_mm": sides[0],
        "width_mm": sides[1],
        "height_mm": sides[2],
        "weight_g": weight,
        "lot_tracked": lot,
        "case_quantity": case,
        "case_itf14": itf14_for(jan, 1) if jan and case else None,
        "barcodes": codes,
    }


def seed_catalog(db: Database, tenants: dict[str, Tenant]) -> None:
    """Each shop's products: tea and sweets (8%, chilled and frozen), apparel, cosmetics."""
    for slug, entries in CATALOG.items():
        zone = tenants[slug].timezone
        with db.tenant_session(tenants[slug].id) as session:
            created = {
                entry[0]: create_product(
                    session, actor=SEED, data=_product_data(slug, entry), zone=zone
                )
                for entry in entries
            }
            for shop, sku, changes in CATALOG_CHANGES:
                if shop == slug:
                    product = created[sku]
                    update_product(
                        session,
                        actor=SEED,
                        product_id=product.id,
                        data={"version": product.version, **changes},
                        zone=zone,
                    )


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
    seed_catalog(db, tenants)
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
