"""Sasage test material: photos made with Pillow at run time (never committed), products,
requests and the work on them, done through the services as the portal does it."""

from __future__ import annotations

import struct
import zlib
from io import BytesIO

from PIL import Image, ImageDraw

from urakata.platform.audit import Actor, user_actor
from urakata.tenants.catalog.services import create_product
from urakata.tenants.sasage import copywriting, measuring, photos, services
from urakata.tenants.sasage.storage import FileStore

SHOP_ACTOR = Actor(type="user", id="shop-1", label="店長 山本", request_id="r-s")
OPERATOR = Actor(type="user", id="op-1", label="撮影担当 佐藤", request_id="r-o")

PRODUCTS = (
    {"sku": "TEE-001", "name": "オーガニックコットン Tシャツ", "price_yen": 3_980},
    {"sku": "CUP-001", "name": "有田焼 湯呑み", "price_yen": 2_200},
    {"sku": "TEA-001", "name": "静岡 深蒸し煎茶 100g", "price_yen": 1_080, "tax_rate": 8},
)
MEASUREMENT = {
    "length_mm": 300,
    "width_mm": 250,
    "height_mm": 40,
    "weight_g": 180,
    "sizes": [
        {"size": "S", "values": {"着丈": "65", "身幅": "48.5"}},
        {"size": "M", "values": {"着丈": "68", "身幅": "51"}},
    ],
}
COPY = {
    "title": "オーガニックコットン Tシャツ 半袖 メンズ レディース 綿100% 全3色",
    "catch_copy": "肌ざわりやさしい、毎日の一枚",
    "description": "インド産オーガニックコットンを100%使用。\n首回りはよれにくい二重仕立てです。",
    "materials": "綿100%(オーガニックコットン)",
    "care": "洗濯機可(ネット使用)。タンブル乾燥はお避けください。",
    "based_on": 0,
}


def photo(
    fmt: str = "JPEG",
    size=(1200, 900),
    *,
    orientation: int | None = None,
    gps: bool = False,
    mode: str = "RGB",
    color=(200, 40, 40),
) -> bytes:
    """A product-like picture: a coloured field with a white marker at the top left, so a
    test can tell which way up a rendition is."""
    image = Image.new(mode, size, color if mode != "RGBA" else (*color, 128))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, size[0] // 4, size[1] // 4), fill="white")
    out = BytesIO()
    options = {}
    if fmt == "JPEG":
        exif = Image.Exif()
        exif[0x010F] = "TestCam"  # Make
        exif[0x0110] = "Model 12"  # Model
        if orientation:
            exif[0x0112] = orientation
        if gps:
            exif[0x8825] = {1: "N", 2: (35.0, 39.0, 29.0), 3: "E", 4: (139.0, 44.0, 28.0)}
        options = {"exif": exif.tobytes(), "quality": 90}
    image.save(out, fmt, **options)
    return out.getvalue()  # fmt: skip


def png_bomb(width: int = 30_000, height: int = 30_000) -> bytes:
    """A real decompression bomb: a bilevel PNG of ``width`` × ``height`` white pixels,
    a few hundred kilobytes that would inflate to ~100 MB (and far more once decoded)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))  # fmt: skip

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    row = b"\x00" + b"\xff" * ((width + 7) // 8)
    packer = zlib.compressobj(9)
    body = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
    )


def add_products(db, shop, actor=SHOP_ACTOR) -> None:
    with db.tenant_session(shop.id) as s:
        for data in PRODUCTS:
            create_product(s, actor=actor, data={"status": "active", **data})


def request(db, shop, skus=("TEE-001",), actor=SHOP_ACTOR, note="") -> int:
    with db.tenant_session(shop.id) as s:
        created = services.request_sasage(s, actor=actor, data={"skus": list(skus), "note": note})
        return created[0].id


def upload(db, shop, request_id, store: FileStore, *files: bytes, actor=OPERATOR):
    uploads = [photos.Upload(f"photo-{n}.jpg", data) for n, data in enumerate(files, 1)]
    with db.tenant_session(shop.id) as s:
        return photos.add_photos(s, actor=actor, request_id=request_id, uploads=uploads,
                                 store=store).id  # fmt: skip


def render(db, shop, request_id, store: FileStore) -> dict:
    with db.tenant_session(shop.id) as s:
        return photos.render_pending(s, actor=Actor.job("test"), request_id=request_id,
                                     store=store)  # fmt: skip


def measure(db, shop, request_id, data=None, actor=OPERATOR):
    with db.tenant_session(shop.id) as s:
        return measuring.save_measurement(
            s, actor=actor, request_id=request_id, data=dict(data or MEASUREMENT)
        ).version


def write(db, shop, request_id, data=None, actor=OPERATOR) -> int:
    with db.tenant_session(shop.id) as s:
        return copywriting.save_copy(
            s, actor=actor, request_id=request_id, data=dict(data or COPY)
        ).number


def task(db, shop, request_id, kind):
    with db.tenant_session(shop.id) as s:
        found = services.get_task(s, request_id, kind)
        s.expunge(found)
        return found


def submit(db, shop, request_id, kind, actor=OPERATOR):
    version = task(db, shop, request_id, kind).version
    with db.tenant_session(shop.id) as s:
        return services.submit_task(s, actor=actor, request_id=request_id, kind=kind,
                                    version=version).state  # fmt: skip


def review(db, shop, request_id, kind, decision="approve", comment="", actor=SHOP_ACTOR):
    version = task(db, shop, request_id, kind).version
    data = {"decision": decision, "comment": comment, "version": version}
    with db.tenant_session(shop.id) as s:
        return services.review_task(s, actor=actor, request_id=request_id, kind=kind,
                                    data=data).state  # fmt: skip


def finish_all(db, shop, request_id, store: FileStore) -> None:
    """Photos, measurement and copy done, submitted and approved."""
    upload(db, shop, request_id, store, photo())
    render(db, shop, request_id, store)
    measure(db, shop, request_id)
    write(db, shop, request_id)
    for kind in ("photo", "measure", "copy"):
        submit(db, shop, request_id, kind)
        review(db, shop, request_id, kind)


def shop_actor(world) -> Actor:
    return user_actor(world.shop_admin_a)
