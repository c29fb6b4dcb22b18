"""The demo's sasage: SKUs of each shop in every state, with photos drawn by Pillow.

Seeded through the services, as people would have done it over the last weeks: the
shops requested sasage, the operators uploaded photos (camera metadata included, so the
renditions can be seen without it), measured and wrote copy, the shops returned some of
it and approved the rest. One SKU is overdue; some work waits for the shops right now.
Tooling for ``urakata demo``, not one of the request paths.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field
from datetime import timedelta
from io import BytesIO

from PIL import Image, ImageDraw, ImageFilter

from urakata.platform.audit import Actor, user_actor
from urakata.platform.config import Settings
from urakata.platform.db import Database, utcnow
from urakata.platform.identity import get_user_by_email
from urakata.platform.tenancy import Tenant
from urakata.tenants.sasage import copywriting, measuring, photos, services
from urakata.tenants.sasage.storage import FileStore

PHOTO_EDGE = 1200


# --- photos ----------------------------------------------------------------------------------


def _backdrop(edge: int) -> Image.Image:
    """A studio sweep: white at the top to a warm light grey at the bottom."""
    ramp = Image.linear_gradient("L").resize((edge, edge))
    white, grey = (
        Image.new("RGB", (edge, edge), (252, 252, 250)),
        Image.new("RGB", (edge, edge), (222, 220, 214)),
    )
    return Image.composite(grey, white, ramp.point(lambda v: int(v * 0.8)))


def _shadow(image: Image.Image, box: tuple[int, int, int, int]) -> None:
    mask = Image.new("L", image.size, 0)
    ImageDraw.Draw(mask).ellipse(box, fill=120)
    mask = mask.filter(ImageFilter.GaussianBlur(image.size[0] // 60))
    image.paste((150, 145, 138), (0, 0), mask)


def _shade(color: tuple[int, int, int], factor: float) -> tuple[int, int, int]:
    return tuple(max(0, min(255, int(c * factor))) for c in color)


def _garment(draw: ImageDraw.ImageDraw, u: float, color, *, sleeves: float, length: float,
             hood: bool = False, back: bool = False) -> None:  # fmt: skip
    x0, y0 = 0.30 * u, 0.22 * u
    x1, y1 = 0.70 * u, (0.22 + length) * u
    sleeve = sleeves * u
    body = [(x0, y0), (0.42 * u, 0.17 * u), (0.58 * u, 0.17 * u), (x1, y0),
            (x1 + sleeve, y0 + sleeve * 0.9), (x1 + sleeve * 0.55, y0 + sleeve * 1.25),
            (x1, y0 + sleeve * 0.55), (x1, y1), (x0, y1), (x0, y0 + sleeve * 0.55),
            (x0 - sleeve * 0.55, y0 + sleeve * 1.25), (x0 - sleeve, y0 + sleeve * 0.9)]  # fmt: skip
    draw.polygon(body, fill=color, outline=_shade(color, 0.8))
    if hood:
        draw.ellipse((0.40 * u, 0.08 * u, 0.60 * u, 0.26 * u), fill=_shade(color, 0.92))
        if not back:
            draw.rectangle((0.41 * u, 0.50 * u, 0.59 * u, 0.60 * u), outline=_shade(color, 0.75),
                           width=max(2, int(u / 300)))  # fmt: skip
    elif not back:
        draw.ellipse((0.44 * u, 0.14 * u, 0.56 * u, 0.22 * u), fill=_shade(color, 0.75))
    draw.line([(0.5 * u, y0 + 0.02 * u), (0.5 * u, y1)], fill=_shade(color, 0.93), width=2)


def _trousers(draw, u: float, color, back: bool) -> None:
    draw.polygon([(0.34 * u, 0.15 * u), (0.66 * u, 0.15 * u), (0.70 * u, 0.85 * u),
                  (0.53 * u, 0.85 * u), (0.50 * u, 0.35 * u), (0.47 * u, 0.85 * u),
                  (0.30 * u, 0.85 * u)], fill=color, outline=_shade(color, 0.7))  # fmt: skip
    draw.rectangle((0.34 * u, 0.15 * u, 0.66 * u, 0.19 * u), fill=_shade(color, 0.8))
    if back:
        for x in (0.38, 0.54):
            draw.rectangle(
                (x * u, 0.22 * u, (x + 0.08) * u, 0.30 * u), outline=(200, 160, 60), width=3
            )


def _vessel(draw, u: float, color, kind: str) -> None:
    if kind == "cup":
        draw.rectangle((0.36 * u, 0.32 * u, 0.64 * u, 0.74 * u), fill=color)
        draw.ellipse((0.36 * u, 0.68 * u, 0.64 * u, 0.80 * u), fill=color)
        draw.ellipse((0.36 * u, 0.26 * u, 0.64 * u, 0.38 * u), fill=_shade(color, 0.55))
        for n in range(4):  # a blue pattern band, as on Arita ware
            y = (0.42 + n * 0.07) * u
            draw.arc((0.38 * u, y, 0.62 * u, y + 0.06 * u), 0, 180, fill=(40, 60, 140), width=6)
    else:  # a teapot
        draw.ellipse((0.30 * u, 0.36 * u, 0.70 * u, 0.78 * u), fill=color)
        draw.polygon([(0.68 * u, 0.55 * u), (0.86 * u, 0.40 * u), (0.88 * u, 0.43 * u),
                      (0.70 * u, 0.64 * u)], fill=_shade(color, 0.9))  # fmt: skip
        draw.rectangle((0.22 * u, 0.50 * u, 0.31 * u, 0.55 * u), fill=_shade(color, 0.8))
        draw.ellipse((0.42 * u, 0.30 * u, 0.58 * u, 0.40 * u), fill=_shade(color, 0.85))
        draw.ellipse((0.48 * u, 0.26 * u, 0.52 * u, 0.31 * u), fill=_shade(color, 0.7))


def _package(draw, u: float, color, kind: str) -> None:
    if kind == "bottle":
        draw.rounded_rectangle((0.38 * u, 0.30 * u, 0.62 * u, 0.80 * u), radius=u / 25, fill=color)
        draw.rectangle((0.44 * u, 0.18 * u, 0.56 * u, 0.30 * u), fill=(235, 235, 235))
        draw.rectangle((0.40 * u, 0.45 * u, 0.60 * u, 0.62 * u), fill=(250, 250, 248))
    elif kind == "tube":
        draw.polygon([(0.40 * u, 0.20 * u), (0.60 * u, 0.20 * u), (0.64 * u, 0.70 * u),
                      (0.36 * u, 0.70 * u)], fill=color)  # fmt: skip
        draw.rectangle((0.42 * u, 0.70 * u, 0.58 * u, 0.80 * u), fill=(240, 240, 240))
    else:  # a gift box or a tea pack
        draw.rectangle((0.28 * u, 0.34 * u, 0.72 * u, 0.76 * u), fill=color)
        draw.polygon([(0.28 * u, 0.34 * u), (0.36 * u, 0.26 * u), (0.80 * u, 0.26 * u),
                      (0.72 * u, 0.34 * u)], fill=_shade(color, 1.15))  # fmt: skip
        draw.rectangle((0.47 * u, 0.26 * u, 0.53 * u, 0.76 * u), fill=(200, 40, 60))


def product_photo(kind: str, color: tuple[int, int, int], view: str = "front",
                  edge: int = PHOTO_EDGE, orientation: int | None = None) -> bytes:  # fmt: skip
    """A product shot on a studio sweep, as a camera JPEG (Make, Model, GPS in EXIF).

    ``view`` is "front", "back" or "detail" (a close crop); ``orientation`` stores the
    pixels turned, as a camera held upright does, with the EXIF tag saying so.
    """
    image = _backdrop(edge)
    _shadow(image, (int(edge * 0.25), int(edge * 0.80), int(edge * 0.75), int(edge * 0.90)))
    draw = ImageDraw.Draw(image)
    back = view == "back"
    if kind in ("tee", "hoodie", "coat"):
        length = {"tee": 0.52, "hoodie": 0.55, "coat": 0.66}[kind]
        _garment(draw, edge, color, sleeves=0.16 if kind == "tee" else 0.24, length=length,
                 hood=kind == "hoodie", back=back)  # fmt: skip
    elif kind == "denim":
        _trousers(draw, edge, color, back)
    elif kind == "cap":
        draw.chord((0.28 * edge, 0.30 * edge, 0.72 * edge, 0.78 * edge), 180, 360, fill=color)
        draw.ellipse((0.22 * edge, 0.50 * edge, 0.86 * edge, 0.62 * edge), fill=_shade(color, 0.8))
        draw.ellipse((0.48 * edge, 0.29 * edge, 0.52 * edge, 0.33 * edge), fill=_shade(color, 0.6))
    elif kind in ("cup", "teapot"):
        _vessel(draw, edge, color, kind)
    else:
        _package(draw, edge, color, kind)
    if view == "detail":
        image = image.crop((edge // 4, edge // 4, 3 * edge // 4, 3 * edge // 4)).resize(
            (edge, edge)
        )
    if orientation in (6, 8):
        image = image.rotate(90 if orientation == 6 else -90, expand=True)
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Urakata Studio", "Demo Camera 12"
    exif[0x8825] = {1: "N", 2: (35.0, 41.0, 22.0), 3: "E", 4: (139.0, 41.0, 30.0)}
    if orientation:
        exif[0x0112] = orientation
    out = BytesIO()
    image.save(out, "JPEG", quality=88, exif=exif.tobytes())
    return out.getvalue()


# --- the SKUs and how far their sasage got ----------------------------------------------------


@dataclass(frozen=True)
class Plan:
    sku: str
    days_ago: int
    state: str  # todo | in_progress | waiting | returned | complete | photo_waiting
    kind: str  # the picture to draw
    color: tuple[int, int, int]
    copy: dict
    sides: tuple[int, int, int, int]  # length, width, height (mm), weight (g)
    sizes: list = field(default_factory=list)
    note: str = ""
    comment: str = ""


def _copy(title, catch, description, materials="", care="", title_en="", description_en=""):
    return {"title": title, "catch_copy": catch, "description": description,
            "materials": materials, "care": care, "title_en": title_en,
            "description_en": description_en}  # fmt: skip


def _tee_sizes(base: int) -> list:
    return [{"size": size, "values": [["着丈", str(base + 2 * n)], ["身幅", str(48 + 3 * n)],
                                      ["肩幅", str(42 + 2 * n)], ["袖丈", f"{19 + n}.5"]]}
            for n, size in enumerate(("S", "M", "L", "XL"))]  # fmt: skip


PLANS = {
    "kumo-apparel": [
        Plan(
            "KA-TEE-WHT-M",
            24,
            "complete",
            "tee",
            (246, 246, 242),
            _copy(
                "オーガニックコットン Tシャツ 白 半袖 メンズ レディース 綿100%",
                "肌ざわりやさしい、毎日の定番",
                "インド産オーガニックコットンを100%使用した天竺Tシャツ。\n首回りは二重仕立てで、洗濯を重ねてもよれにくい。",
                "綿100%(オーガニックコットン)",
                "洗濯機可(ネット使用)。乾燥機は避けてください。",
                "Organic cotton T-shirt, white",
                "A soft everyday T-shirt in 100% organic cotton.",
            ),
            (300, 250, 30, 180),
            _tee_sizes(66),
        ),
        Plan(
            "KA-TEE-BLK-M",
            22,
            "complete",
            "tee",
            (38, 38, 42),
            _copy(
                "オーガニックコットン Tシャツ 黒 半袖 メンズ レディース 綿100%",
                "色あせしにくい、深い黒",
                "反応染めで仕上げた深みのある黒。オーガニックコットン100%の天竺素材です。",
                "綿100%(オーガニックコットン)",
                "裏返して洗濯してください。",
            ),
            (300, 250, 30, 185),
            _tee_sizes(66),
        ),
        Plan(
            "KA-HOOD-GRY-M",
            9,
            "waiting",
            "hoodie",
            (150, 152, 156),
            _copy(
                "スウェットパーカー グレー 裏毛 ユニセックス",
                "ほどよい厚みの吊り裏毛",
                "吊り編み機でゆっくり編んだ裏毛を使用。ふっくらとした風合いが長く続きます。",
                "綿100%",
                "洗濯機可(ネット使用)",
            ),
            (350, 300, 60, 620),
            [
                {
                    "size": s,
                    "values": [
                        ["着丈", str(66 + 2 * n)],
                        ["身幅", str(56 + 3 * n)],
                        ["袖丈", str(60 + n)],
                    ],
                }
                for n, s in enumerate(("S", "M", "L"))
            ],
            note="フードを立てた写真も1枚お願いします",
        ),
        Plan(
            "KA-DNM-W30",
            14,
            "returned",
            "denim",
            (52, 72, 112),
            _copy(
                "セルビッジデニム ワイド W30 岡山産",
                "はくほどに育つ、岡山のデニム",
                "旧式力織機で織ったセルビッジデニムのワイドパンツ。",
                "綿100%",
                "色落ちするため単独で洗濯してください。",
            ),
            (400, 300, 50, 800),
            [{"size": "W30", "values": [["ウエスト", "78"], ["股下", "76"], ["裾幅", "24.5"]]}],
            comment="産地(岡山・井原)と生地の目付(14oz)を説明文に入れてください。",
        ),
        Plan("KA-CAP-NVY", 6, "in_progress", "cap", (30, 40, 80), {}, (260, 200, 130, 110)),
        Plan(
            "KA-COAT-BEG-M",
            12,
            "todo",
            "coat",
            (200, 176, 140),
            {},
            (500, 400, 100, 1600),
            note="秋冬の新作です。ボタンの寄りも撮ってください",
        ),
    ],
    "hanabi-tea": [
        Plan(
            "HT-YUN-ARI",
            20,
            "complete",
            "cup",
            (236, 240, 246),
            _copy(
                "湯呑み 有田焼 藍 唐草 240ml",
                "手描きの藍が映える、毎日の湯呑み",
                "有田の窯元で一点ずつ絵付けした唐草文様の湯呑みです。",
                "磁器(有田焼)",
                "電子レンジ・食洗機可",
            ),
            (110, 110, 100, 260),
        ),
        Plan(
            "HT-KYU-TOK",
            8,
            "photo_waiting",
            "teapot",
            (168, 78, 48),
            _copy(
                "急須 常滑焼 朱泥 300ml 茶こし付き",
                "まろやかに淹れる朱泥の急須",
                "常滑の朱泥土で作られた急須。",
            ),
            (190, 140, 110, 380),
        ),
        Plan(
            "HT-GIFT-A",
            0,
            "todo",
            "box",
            (34, 90, 60),
            {},
            (320, 230, 60, 420),
            note="お歳暮向けに、のし付きの写真も",
        ),
    ],
    "sora-cosme": [
        Plan(
            "SC-LOT-200",
            18,
            "complete",
            "bottle",
            (220, 232, 240),
            _copy(
                "化粧水 しっとり 200ml 無香料 日本製",
                "うるおいを抱えこむ、やさしい化粧水",
                "3種のセラミド配合。乾燥しがちな肌をしっとり整えます。",
                "水、グリセリン、BG、セラミドNP …",
                "直射日光を避けて保管してください。",
            ),
            (60, 60, 170, 260),
        ),
        Plan(
            "SC-SUN-50",
            7,
            "returned",
            "tube",
            (250, 216, 90),
            {},
            (40, 30, 130, 70),
            comment="背景をもう少し白く。キャップを開けた写真も追加してください。",
        ),
        Plan("SC-MSK-7", 1, "todo", "box", (236, 200, 210), {}, (180, 130, 20, 160)),
    ],
}


def seed_sasage(db: Database, tenants: dict[str, Tenant], files_dir: str | None = None) -> None:
    """Sasage of a few SKUs per shop in every state (see ``PLANS``).

    Photos go where the demo's portal and worker will read them: ``files_dir``, else
    FILES_DIR from the environment (the demo passes its environment on), else the default.
    """
    store = FileStore.at(files_dir or os.environ.get("FILES_DIR") or Settings.files_dir)
    people = _people(db)
    now = utcnow()
    for slug, plans in PLANS.items():
        tenant = tenants.get(slug)
        if tenant is None:
            continue
        operator, owner = people[slug]
        for plan in plans:
            with db.tenant_session(tenant.id) as session:
                _seed_one(
                    session, plan, store, operator, owner, now - timedelta(days=plan.days_ago)
                )


def _people(db: Database) -> dict[str, tuple[Actor, Actor]]:
    emails = {"kumo-apparel": ("op.tanaka@urakata.example", "owner@kumo-apparel.example"),
              "hanabi-tea": ("op.tanaka@urakata.example", "owner@hanabi-tea.example"),
              "sora-cosme": ("op.suzuki@urakata.example", "owner@sora-cosme.example")}  # fmt: skip
    with db.platform_session() as session:
        found = {email: user_actor(get_user_by_email(session, email))
                 for pair in emails.values() for email in pair}  # fmt: skip
    return {slug: (found[op], found[own]) for slug, (op, own) in emails.items()}


def _seed_one(session, plan: Plan, store: FileStore, operator: Actor, owner: Actor, when) -> None:
    [request] = services.request_sasage(
        session, actor=owner, data={"skus": [plan.sku], "note": plan.note}, requested_at=when
    )
    if plan.state == "todo":
        return
    rid = request.id
    _assign(session, operator, request)
    rng = random.Random(plan.sku)
    views = ("front", "back", "detail")[: 2 + (plan.state == "complete")]
    uploads = [photos.Upload(f"IMG_{rng.randint(1000, 9999)}.JPG",
                             product_photo(plan.kind, plan.color, view,
                                           orientation=6 if view == "back" else None))
               for view in views]  # fmt: skip
    photos.add_photos(session, actor=operator, request_id=rid, uploads=uploads, store=store)
    if plan.state == "in_progress":
        measuring.save_measurement(session, actor=operator, request_id=rid, data=_sides(plan))
        return  # the renditions are left to the demo's worker: it starts with work to do
    photos.render_pending(session, actor=Actor.job("demo seed"), request_id=rid, store=store)
    measuring.save_measurement(session, actor=operator, request_id=rid,
                               data={**_sides(plan), "sizes": plan.sizes})  # fmt: skip
    if plan.copy:
        copywriting.save_copy(session, actor=operator, request_id=rid,
                              data={**plan.copy, "based_on": 0})  # fmt: skip
    kinds = ("photo",) if plan.state == "photo_waiting" else ("photo", "measure", "copy")
    if plan.state == "photo_waiting":
        _submit(session, operator, rid, "measure")
        _review(session, owner, rid, "measure", "approve")
    for kind in kinds:
        if kind == "copy" and not plan.copy:
            continue
        _submit(session, operator, rid, kind)
    if plan.state == "returned":
        returned = "copy" if plan.copy else "photo"
        for kind in kinds:
            if kind != returned and (kind != "copy" or plan.copy):
                _review(session, owner, rid, kind, "approve")
        _review(session, owner, rid, returned, "return", plan.comment)
    elif plan.state == "complete":
        for kind in kinds:
            _review(session, owner, rid, kind, "approve")


def _sides(plan: Plan) -> dict:
    length, width, height, weight = plan.sides
    return {"length_mm": length, "width_mm": width, "height_mm": height, "weight_g": weight}


def _assign(session, operator: Actor, request) -> None:
    from urakata.platform.identity import UserAccount

    user = session.get(UserAccount, operator.user_id)
    for task in request.tasks:
        services.assign_task(session, actor=operator, request_id=request.id, kind=task.kind,
                             version=task.version, assignee=user)  # fmt: skip


def _submit(session, operator: Actor, request_id: int, kind: str) -> None:
    task = services.get_task(session, request_id, kind)
    services.submit_task(session, actor=operator, request_id=request_id, kind=kind,
                         version=task.version)  # fmt: skip


def _review(session, owner: Actor, request_id: int, kind: str, decision: str, comment="") -> None:
    task = services.get_task(session, request_id, kind)
    services.review_task(session, actor=owner, request_id=request_id, kind=kind,
                         data={"decision": decision, "comment": comment,
                               "version": task.version})  # fmt: skip
