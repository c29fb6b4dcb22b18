"""The demo: its own servers under ./var, a migrated database, believable data, the portal.

Tooling, not one of the four parts: ``urakata demo`` (``make demo``) runs it.
"""

from __future__ import annotations

import copy
import os
import random
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from urakata.platform import jpaddress
from urakata.platform.apikeys import create_api_key
from urakata.platform.audit import Actor, user_actor
from urakata.platform.codes import gtin_check_digit, itf14_for
from urakata.platform.config import Settings
from urakata.platform.db import Database, utcnow
from urakata.platform.identity import Role, create_user, get_user_by_email, invite_user
from urakata.platform.passwords import hash_password
from urakata.platform.tenancy import Tenant
from urakata.tenants.catalog.models import Product
from urakata.tenants.catalog.services import create_product, update_product
from urakata.tenants.fulfilment.demo import seed_fulfilment
from urakata.tenants.inbound.demo import seed_inbound
from urakata.tenants.orders import services as orders
from urakata.tenants.orders.models import DELIVERY_SLOTS
from urakata.tenants.payments.demo import seed_payments
from urakata.tenants.planning.demo import seed_planning
from urakata.tenants.sasage.demo import seed_sasage
from urakata.tenants.shipping.demo import seed_shipping
from urakata.tenants.shop.services import onboard_shop, update_settings
from urakata.tenants.stock.demo import seed_stock
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


# -- order history ---------------------------------------------------------------------------

HISTORY_DAYS = 56  # eight weeks before today, and today until now
# Mean orders a day (before weekday, trend and sale factors): about 1,000 orders in all.
# Intake takes 15-30 ms an order, so more would keep the first demo start waiting.
ORDERS_PER_DAY = {"hanabi-tea": 5, "kumo-apparel": 6, "sora-cosme": 5}
# Monday … Sunday: tea and cosmetics sell a little more at weekends, apparel much more.
WEEKDAY_FACTORS = {
    "hanabi-tea": (0.9, 0.85, 0.9, 0.95, 1.0, 1.2, 1.2),
    "kumo-apparel": (0.8, 0.75, 0.8, 0.9, 1.1, 1.4, 1.35),
    "sora-cosme": (0.95, 0.9, 0.9, 1.0, 1.05, 1.15, 1.1),
}
SALE_DAYS = range(21, 25)  # days ago: a four-day 楽天スーパーSALE-like campaign
SALE_FACTOR = 1.8
HOUR_WEIGHTS = (3, 2, 1, 1, 1, 1, 1, 2, 3, 4, 4, 5, 7, 6, 5, 5, 5, 5, 6, 7, 9, 11, 10, 6)
CHANNEL_MIX = {
    "hanabi-tea": (("rakuten", 45), ("shopify", 35), ("amazon", 10), ("manual", 10)),
    "kumo-apparel": (("shopify", 55), ("rakuten", 25), ("amazon", 20)),
    "sora-cosme": (("rakuten", 40), ("shopify", 40), ("amazon", 20)),
}
RAKUTEN_SHOP_NO = {"hanabi-tea": "271828", "kumo-apparel": "314159", "sora-cosme": "161803"}
PAYMENT_MIX = (("card", 60), ("cod", 15), ("bank_transfer", 10), ("konbini", 10), ("atobarai", 5))
LINE_COUNT_MIX = ((1, 55), (2, 27), (3, 12), (4, 6))
FREE_SHIPPING_FROM_YEN = {"hanabi-tea": 5400, "kumo-apparel": 11000, "sora-cosme": 5500}
SHIPPING_FEE_YEN, COD_FEE_YEN = 550, 330
CANCEL_RATE = 0.025
CANCEL_REASONS = (
    "お客様都合によるキャンセル",
    "注文内容を変更して再注文",
    "住所不明で連絡がつかない",
)
HOLD_TYPO_RATE = 0.015  # past orders with a mistyped postal code, fixed by an operator
# Japan Post's own (postal code, prefecture JIS code, city, town), big cities more often.
POSTAL_AREAS = (
    ("100-0001", "13", "千代田区", "千代田"), ("150-0001", "13", "渋谷区", "神宮前"),
    ("160-0022", "13", "新宿区", "新宿"), ("113-0033", "13", "文京区", "本郷"),
    ("154-0004", "13", "世田谷区", "太子堂"), ("135-0091", "13", "港区", "台場"),
    ("170-0013", "13", "豊島区", "東池袋"), ("181-0013", "13", "三鷹市", "下連雀"),
    ("180-0004", "13", "武蔵野市", "吉祥寺本町"), ("192-0083", "13", "八王子市", "旭町"),
    ("220-0012", "14", "横浜市西区", "みなとみらい"), ("231-0023", "14", "横浜市中区", "山下町"),
    ("212-0013", "14", "川崎市幸区", "堀川町"), ("251-0025", "14", "藤沢市", "鵠沼石上"),
    ("248-0005", "14", "鎌倉市", "雪ノ下"), ("330-0063", "11", "さいたま市浦和区", "高砂"),
    ("260-0028", "12", "千葉市中央区", "新町"), ("272-0021", "12", "市川市", "八幡"),
    ("530-0001", "27", "大阪市北区", "梅田"), ("542-0081", "27", "大阪市中央区", "南船場"),
    ("560-0021", "27", "豊中市", "本町"), ("662-0918", "28", "西宮市", "六湛寺町"),
    ("650-0021", "28", "神戸市中央区", "三宮町"), ("604-0862", "26", "京都市中京区", "少将井町"),
    ("606-0801", "26", "京都市左京区", "下鴨宮河町"), ("630-8501", "29", "奈良市", "登大路町"),
    ("520-0043", "25", "大津市", "中央"), ("450-0002", "23", "名古屋市中村区", "名駅"),
    ("460-0008", "23", "名古屋市中区", "栄"), ("464-0807", "23", "名古屋市千種区", "東山通"),
    ("420-0858", "22", "静岡市葵区", "伝馬町"), ("430-0933", "22", "浜松市中央区", "鍛冶町"),
    ("500-8833", "21", "岐阜市", "神田町"), ("514-0004", "24", "津市", "栄町"),
    ("060-0001", "01", "札幌市中央区", "北一条西"), ("064-0941", "01", "札幌市中央区", "旭ケ丘"),
    ("030-0861", "02", "青森市", "長島"), ("020-0045", "03", "盛岡市", "盛岡駅西通"),
    ("980-0021", "04", "仙台市青葉区", "中央"), ("990-0039", "06", "山形市", "香澄町"),
    ("963-0201", "07", "郡山市", "大槻町"), ("310-0021", "08", "水戸市", "南町"),
    ("320-0026", "09", "宇都宮市", "馬場通り"), ("370-0006", "10", "高崎市", "問屋町"),
    ("930-0083", "16", "富山市", "総曲輪"), ("920-0961", "17", "金沢市", "香林坊"),
    ("910-0006", "18", "福井市", "中央"), ("400-0031", "19", "甲府市", "丸の内"),
    ("380-0836", "20", "長野市", "南県町"), ("640-0342", "30", "和歌山市", "松原"),
    ("680-0835", "31", "鳥取市", "東品治町"), ("690-0852", "32", "松江市", "千鳥町"),
    ("700-0813", "33", "岡山市北区", "石関町"), ("730-0011", "34", "広島市中区", "基町"),
    ("722-0002", "34", "尾道市", "古浜町"), ("753-0073", "35", "山口市", "春日町"),
    ("770-0856", "36", "徳島市", "中洲町"), ("760-0019", "37", "高松市", "サンポート"),
    ("790-0001", "38", "松山市", "一番町"), ("780-0870", "39", "高知市", "本町"),
    ("810-0001", "40", "福岡市中央区", "天神"), ("812-0011", "40", "福岡市博多区", "博多駅前"),
    ("804-0001", "40", "北九州市戸畑区", "飛幡町"), ("840-0816", "41", "佐賀市", "駅南本町"),
    ("850-8501", "42", "長崎市", "新地町"), ("860-0806", "43", "熊本市中央区", "花畑町"),
    ("870-0021", "44", "大分市", "府内町"), ("880-0805", "45", "宮崎市", "橘通東"),
    ("892-0816", "46", "鹿児島市", "山下町"), ("900-0006", "47", "那覇市", "おもろまち"),
)  # fmt: skip
AREA_WEIGHTS = [
    3 if code in ("13", "14", "27", "11", "12") else 1 for _, code, _, _ in POSTAL_AREAS
]
AREA_CODES = {"13": "03", "27": "06"}  # fixed lines of Tokyo's and Osaka's 23 wards / city
SURNAMES = (
    ("佐藤", "サトウ", "sato"), ("鈴木", "スズキ", "suzuki"), ("高橋", "タカハシ", "takahashi"),
    ("田中", "タナカ", "tanaka"), ("伊藤", "イトウ", "ito"), ("渡辺", "ワタナベ", "watanabe"),
    ("山本", "ヤマモト", "yamamoto"), ("中村", "ナカムラ", "nakamura"),
    ("小林", "コバヤシ", "kobayashi"), ("加藤", "カトウ", "kato"), ("吉田", "ヨシダ", "yoshida"),
    ("山田", "ヤマダ", "yamada"), ("佐々木", "ササキ", "sasaki"), ("山口", "ヤマグチ", "yamaguchi"),
    ("松本", "マツモト", "matsumoto"), ("井上", "イノウエ", "inoue"), ("木村", "キムラ", "kimura"),
    ("林", "ハヤシ", "hayashi"), ("斎藤", "サイトウ", "saito"), ("清水", "シミズ", "shimizu"),
    ("山崎", "ヤマザキ", "yamazaki"), ("森", "モリ", "mori"), ("池田", "イケダ", "ikeda"),
    ("橋本", "ハシモト", "hashimoto"), ("阿部", "アベ", "abe"), ("石川", "イシカワ", "ishikawa"),
    ("前田", "マエダ", "maeda"), ("藤田", "フジタ", "fujita"), ("岡田", "オカダ", "okada"),
    ("後藤", "ゴトウ", "goto"), ("長谷川", "ハセガワ", "hasegawa"),
    ("村上", "ムラカミ", "murakami"),
)  # fmt: skip
GIVEN_NAMES = (
    ("花子", "ハナコ", "hanako"), ("美咲", "ミサキ", "misaki"), ("陽菜", "ヒナ", "hina"),
    ("結衣", "ユイ", "yui"), ("さくら", "サクラ", "sakura"), ("葵", "アオイ", "aoi"),
    ("恵子", "ケイコ", "keiko"), ("由美", "ユミ", "yumi"), ("真由美", "マユミ", "mayumi"),
    ("優子", "ユウコ", "yuko"), ("彩", "アヤ", "aya"), ("千尋", "チヒロ", "chihiro"),
    ("太郎", "タロウ", "taro"), ("健太", "ケンタ", "kenta"), ("翔太", "ショウタ", "shota"),
    ("大輔", "ダイスケ", "daisuke"), ("拓也", "タクヤ", "takuya"), ("蓮", "レン", "ren"),
    ("誠", "マコト", "makoto"), ("浩二", "コウジ", "koji"), ("直樹", "ナオキ", "naoki"),
    ("悠真", "ユウマ", "yuma"), ("隆", "タカシ", "takashi"), ("和也", "カズヤ", "kazuya"),
)  # fmt: skip
BUILDINGS = ("メゾン桜", "グランドハイツ", "コーポ緑", "サンライズマンション", "パークハウス")
MAIL_DOMAINS = ("example.jp", "example.com", "example.ne.jp")
NOSHI = ("御礼", "内祝", "御祝", "御中元")
NOTES = ("置き配希望(玄関前)", "不在時は宅配ボックスへ", "領収書を同封してください")
UNPAID_CANCEL_AFTER = timedelta(days=7)  # bank transfer / konbini not paid: cancelled
PAYMENT_ARRIVES_AFTER = timedelta(days=2)
TAKEN_AFTER = timedelta(minutes=3)  # the cart's sync runs every few minutes


def _pick(rng: random.Random, mix) -> str:
    values, weights = zip(*mix, strict=True)
    return rng.choices(values, weights)[0]


def _person(rng: random.Random) -> dict:
    """Someone somewhere in Japan: customer and ship-to fields, phone and e-mail."""
    surname, given = rng.choice(SURNAMES), rng.choice(GIVEN_NAMES)
    postal_code, prefecture, city, town = rng.choices(POSTAL_AREAS, AREA_WEIGHTS)[0]
    street = f"{town}{rng.randint(1, 5)}-{rng.randint(1, 20)}-{rng.randint(1, 15)}"
    building = ""
    if rng.random() < 0.4:
        building = f"{rng.choice(BUILDINGS)} {rng.randint(1, 12)}{rng.randint(1, 8):02d}"
    if prefecture in AREA_CODES and rng.random() < 0.25:
        phone = f"{AREA_CODES[prefecture]}-{rng.randint(3000, 6999)}-{rng.randint(1000, 9999)}"
    else:
        phone = f"0{rng.choice('789')}0-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}"
    name = f"{surname[0]} {given[0]}"
    email = f"{given[2]}.{surname[2]}{rng.randint(1, 999)}@{rng.choice(MAIL_DOMAINS)}"
    return {
        "customer": {"name": name, "kana": f"{surname[1]} {given[1]}", "email": email,
                     "phone": phone},
        "ship_to": {"name": name, "postal_code": postal_code, "prefecture": prefecture,
                    "city": city, "street": street, "building": building, "phone": phone},
    }  # fmt: skip


@dataclass
class _Planned:
    """An order as the channel sends it, and what an operator later makes of it."""

    channel: str
    data: dict
    fixed_ship_to: dict | None = None  # the right address, when the order has a typo


class OrderHistory:
    """One shop's past: repeat customers, each channel's numbering, popular products."""

    def __init__(self, slug: str, zone: ZoneInfo, products: list[Product], seed: str):
        self.slug, self.zone = slug, zone
        self.rng = rng = random.Random(seed)
        self.products = products
        # A few bestsellers, a long tail (Zipf-like), in an order of the shop's own.
        rank = rng.sample(range(len(products)), len(products))
        self.weights = [1 / (1 + r) ** 0.9 for r in rank]
        self.customers = [_person(rng) for _ in range(300)]
        self.numbers = {"shopify": 1000, "rakuten": 0, "manual": 0}

    def orders_on(
        self, day: date, days_ago: int, until: datetime
    ) -> list[tuple[datetime, _Planned]]:
        rng = self.rng
        mean = ORDERS_PER_DAY[self.slug] * WEEKDAY_FACTORS[self.slug][day.weekday()]
        mean *= 0.85 + 0.25 * (HISTORY_DAYS - days_ago) / HISTORY_DAYS  # a growing shop
        if days_ago in SALE_DAYS:
            mean *= SALE_FACTOR
        count = max(0, round(rng.gauss(mean, mean * 0.2)))
        times = sorted(self._time_on(day) for _ in range(count))
        return [(when, self.plan(when)) for when in times if when <= until]

    def _time_on(self, day: date) -> datetime:
        hour = self.rng.choices(range(24), HOUR_WEIGHTS)[0]
        minute, second = self.rng.randrange(60), self.rng.randrange(60)
        return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=self.zone)

    def plan(self, when: datetime, person: dict | None = None) -> _Planned:
        rng = self.rng
        channel = _pick(rng, CHANNEL_MIX[self.slug])
        who = person or (rng.choice(self.customers) if rng.random() < 0.35 else _person(rng))
        data = {
            "external_id": self._number(channel, when),
            "ordered_at": when.isoformat(),
            "customer": dict(who["customer"]),
            "ship_to": dict(who["ship_to"]),
            "lines": self._lines(),
            "payment_method": _pick(rng, PAYMENT_MIX),
        }
        self._channel_details(channel, data)
        self._payment_and_fees(data)
        return _Planned(channel, data)

    def _number(self, channel: str, when: datetime) -> str:
        if channel == "amazon":
            digits = [self.rng.randint(10**6, 10**7 - 1) for _ in range(2)]
            return f"{self.rng.randint(249, 503)}-{digits[0]}-{digits[1]}"
        self.numbers[channel] += 1
        n = self.numbers[channel]
        if channel == "shopify":
            return f"#{n}"
        if channel == "rakuten":
            return f"{RAKUTEN_SHOP_NO[self.slug]}-{when:%Y%m%d}-{n:010d}"
        return f"TEL-{when:%Y%m%d}-{n:04d}"  # manual: a phone order taken by the shop

    def _lines(self) -> list[dict]:
        count = int(_pick(self.rng, LINE_COUNT_MIX))
        chosen: list[Product] = []
        while len(chosen) < min(count, len(self.products)):
            product = self.rng.choices(self.products, self.weights)[0]
            if product not in chosen:
                chosen.append(product)
        return [
            {"sku": p.sku, "quantity": self.rng.choices((1, 2, 3), (80, 15, 5))[0],
             "unit_price_yen": p.price_yen}
            for p in chosen
        ]  # fmt: skip

    def _channel_details(self, channel: str, data: dict) -> None:
        rng = self.rng
        if channel == "rakuten":  # Rakuten passes a relay address, not the customer's own
            data["customer"]["email"] = f"{rng.getrandbits(40):010x}@pc.fw.rakuten.ne.jp"
        elif channel == "amazon":
            data["customer"]["email"] = f"{rng.getrandbits(60):015x}@marketplace.amazon.co.jp"
        if self.slug == "hanabi-tea" and rng.random() < 0.12:  # a gift to someone else
            data["ship_to"] = _person(rng)["ship_to"]
            data["gift_wrap"] = True
            data["noshi"] = rng.choice(NOSHI)
        if rng.random() < 0.3:
            data["delivery_slot"] = rng.choice(DELIVERY_SLOTS)
        if rng.random() < 0.04:
            data["notes"] = rng.choice(NOTES)

    def _payment_and_fees(self, data: dict) -> None:
        items = sum(line["quantity"] * line["unit_price_yen"] for line in data["lines"])
        free = items >= FREE_SHIPPING_FROM_YEN[self.slug]
        data["shipping_fee_yen"] = 0 if free else SHIPPING_FEE_YEN
        method = data["payment_method"]
        data["payment_status"] = "authorized" if method in ("card", "atobarai") else "unpaid"
        if method == "cod":
            data["fee_yen"] = COD_FEE_YEN

    def with_postal_typo(self, planned: _Planned) -> _Planned:
        """The customer typed two digits of the postal code the wrong way round."""
        code = planned.data["ship_to"]["postal_code"].replace("-", "")
        for i in range(3, 6):
            typo = code[:i] + code[i + 1] + code[i] + code[i + 2 :]
            if typo != code and not jpaddress.postal_places(typo):
                planned.fixed_ship_to = dict(planned.data["ship_to"])
                planned.data["ship_to"]["postal_code"] = f"{typo[:3]}-{typo[3:]}"
                return planned
        return planned


def seed_orders(db: Database, tenants: dict[str, Tenant]) -> None:
    """Eight weeks of each shop's orders through the order service, as the channels sent
    them; operators fixed the old holds, payments came in, some orders were cancelled.
    A handful of recent orders stay on hold for the operators to work."""
    now = utcnow()
    operators = _operators(db)
    for slug, tenant in tenants.items():
        zone = ZoneInfo(tenant.timezone)
        with db.tenant_session(tenant.id) as session:
            products = list(session.scalars(select(Product).order_by(Product.sku)))
        on_sale = [p for p in products if p.status == "active"]
        history = OrderHistory(slug, zone, on_sale, seed=f"urakata demo orders {slug}")
        today = now.astimezone(zone).date()
        for days_ago in range(HISTORY_DAYS, -1, -1):
            with db.tenant_session(tenant.id) as session:  # one transaction a day
                for when, planned in history.orders_on(today - timedelta(days_ago), days_ago, now):
                    if days_ago > 1 and history.rng.random() < HOLD_TYPO_RATE:
                        history.with_postal_typo(planned)
                    order = _take_in(session, planned, min(when + TAKEN_AFTER, now))
                    _follow_up(session, history.rng, operators[slug], order, planned, when, now)
        off_sale = [p for p in products if p.status == "discontinued"]
        with db.tenant_session(tenant.id) as session:
            _open_holds(session, history, now, off_sale)


def _operators(db: Database) -> dict[str, Actor]:
    with db.platform_session() as session:
        return {
            shop: user_actor(get_user_by_email(session, email))
            for email, _name, role, shop in PEOPLE
            if role is Role.operator
        }


def _take_in(session, planned: _Planned, taken: datetime | None = None):
    """The order taken in at ``taken`` (default: now); its ship-by clock runs from then."""
    actor = Actor.system(f"demo seed: {planned.channel}")
    return orders.intake(
        session, actor=actor, data=planned.data, channel=planned.channel, now=taken
    )


def _follow_up(
    session, rng: random.Random, operator: Actor, order, planned, when: datetime, now: datetime
) -> None:
    """What happened to the order since: a fixed hold (the next morning), a payment, a
    cancellation. Ship-by clocks start when each of these happened, not today."""
    age = now - when
    if order.status == "on_hold" and age > timedelta(days=1):
        if planned.fixed_ship_to:
            postal_code = planned.fixed_ship_to["postal_code"]
            data = {"version": order.version, "postal_code": postal_code}
            order = orders.edit_address(session, actor=operator, order_id=order.id, data=data)
        overrides = set(order.hold_codes) & orders.OVERRIDABLE  # e.g. a customer's re-order
        orders.release(
            session,
            actor=operator,
            order_id=order.id,
            version=order.version,
            overrides=overrides,
            now=when + timedelta(days=1),
        )
    if order.status == "confirmed" and age > PAYMENT_ARRIVES_AFTER:  # prepaid, waiting
        if rng.random() < 0.9:
            orders.record_payment(
                session,
                actor=operator,
                order_id=order.id,
                version=order.version,
                status="paid",
                now=when + PAYMENT_ARRIVES_AFTER,
            )
        elif age > UNPAID_CANCEL_AFTER:
            _cancel(session, operator, order, "入金期限切れ(7日)")
    if order.status != "cancelled" and age > timedelta(hours=6) and rng.random() < CANCEL_RATE:
        _cancel(session, operator, order, rng.choice(CANCEL_REASONS))


def _cancel(session, operator: Actor, order, reason: str) -> None:
    orders.cancel(session, actor=operator, order_id=order.id, version=order.version, reason=reason)


def _open_holds(session, history: OrderHistory, now: datetime, off_sale: list[Product]) -> None:
    """Recent orders on hold: a postal-code typo, a short phone number, a customer's
    order sent twice, and a phone order for a product no longer on sale."""
    local = now.astimezone(history.zone)
    typo = history.with_postal_typo(history.plan(local - timedelta(hours=5)))
    short_phone = history.plan(local - timedelta(hours=4))
    short_phone.data["ship_to"]["phone"] = short_phone.data["ship_to"]["phone"][:-1]
    first = history.plan(local - timedelta(hours=3, minutes=20))
    again = _Planned(first.channel, copy.deepcopy(first.data))
    again.data["external_id"] = history._number(first.channel, local - timedelta(hours=3))
    again.data["ordered_at"] = (local - timedelta(hours=3)).isoformat()
    planned = [typo, short_phone, first, again]
    if off_sale:
        by_phone = history.plan(local - timedelta(hours=2))
        by_phone.channel = "manual"
        by_phone.data["external_id"] = history._number("manual", local)
        product = off_sale[0]
        by_phone.data["lines"] = [
            {"sku": product.sku, "quantity": 1, "unit_price_yen": product.price_yen}
        ]
        history._payment_and_fees(by_phone.data)
        planned.append(by_phone)
    for each in planned:
        _take_in(session, each)


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
    seed_orders(db, tenants)
    seed_payments(db, tenants)
    seed_stock(db, tenants)
    seed_sasage(db, tenants)
    seed_planning(db, tenants)
    seed_inbound(db, tenants)
    seed_fulfilment(db, tenants)
    seed_shipping(db, tenants)
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


def _ledger_key(var: Path):
    """The demo's ledger signing key (made once under ./var, like a production key file,
    with its public half beside it for ``urakata-verify --pubkey``)."""
    from urakata.platform import checkpoints

    path = var / "ledger_signing_key.pem"
    if not path.exists():
        signer = checkpoints.Signer.generate()
        path.write_bytes(signer.private_pem())
        path.chmod(0o600)
    signer = checkpoints.Signer.from_text(path.read_bytes(), str(path))
    (var / "ledger_public_key.pem").write_bytes(checkpoints.public_key_pem(signer.public_raw))
    return path, signer


def first_checkpoints(db: Database, signer, directory: Path) -> int:
    """Sign every chain's head once, so an auditor can verify as soon as the demo is up
    (the cron job signs again every ten minutes)."""
    from urakata.platform import checkpoints

    with db.platform_session() as session:
        shops = list(session.scalars(select(Tenant.id).order_by(Tenant.slug)))
    return len(checkpoints.checkpoint_every_chain(db, signer, directory, shops))


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
    key_path, signer = _ledger_key(var)
    checkpoint_dir = (var / "checkpoints").resolve()
    if token:
        db = Database.from_url(urls.app_url)
        first_checkpoints(db, signer, checkpoint_dir)
        db.dispose()

    env = dict(
        os.environ,
        URAKATA_MODE="demo",
        DATABASE_URL=urls.app_url,
        REDIS_URL=urls.redis_url,
        SECRET_KEY=_secret_key(var),
        MAIL_DIR=str((var / "mail").resolve()),
        PUBLIC_URL=f"http://127.0.0.1:{port}",
        LEDGER_SIGNING_KEY_FILE=str(key_path.resolve()),
        LEDGER_CHECKPOINT_DIR=str(checkpoint_dir),
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
    print("  ledger: checkpoints in ./var/checkpoints/, public key ./var/ledger_public_key.pem")
    if api_token:
        print(f"  API (hanabi-tea): curl -H 'Authorization: Bearer {api_token}' \\")
        print(f"                    http://127.0.0.1:{port}/api/v1/shop")
    print("  Ctrl-C stops everything the demo started.")
    print(flush=True)
