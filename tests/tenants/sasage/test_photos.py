"""Photos are recognised by their content, bad ones refused with nothing kept, and the
renditions are upright, small, sRGB JPEGs without the camera's metadata."""

from __future__ import annotations

import zipfile
from io import BytesIO

import pytest
from PIL import Image
from sqlalchemy import func, select

from tests.tenants.sasage.helpers import (
    OPERATOR,
    photo,
    png_bomb,
    render,
    request,
    task,
    upload,
)
from urakata.platform.tasks import ShopTask
from urakata.platform.tenancy import NotFound
from urakata.tenants.sasage import images, photos
from urakata.tenants.sasage.images import ImageRefused, check_image
from urakata.tenants.sasage.models import SasageImage
from urakata.tenants.sasage.photos import PhotosRefused
from urakata.tenants.sasage.services import StaleSasage


def _zip() -> bytes:
    out = BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("product.png", b"not really")
    return out.getvalue()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_jpeg_png_and_webp_are_recognised_by_their_signature(fmt):
    checked = check_image(photo(fmt, (800, 600)))
    assert (checked.format, checked.width, checked.height) == (fmt.lower(), 800, 600)
    assert len(checked.sha256) == 64 and checked.mime == f"image/{fmt.lower()}"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "empty"),
        (_zip(), "not a JPEG, PNG or WebP"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", "not a JPEG"),
        (b"\x89PNG\r\n\x1a\n" + b"this is not a png at all" * 10, "does not decode"),
        (photo("JPEG", (1600, 1200))[:4000], "does not decode"),  # cut short
        (photo("JPEG", (300, 200)), "at least 500 pixels"),
    ],
    ids=["empty", "zip-named-png", "svg", "png-signature-garbage", "truncated-jpeg", "tiny"],
)
def test_what_is_not_a_usable_photo_is_refused_with_a_reason(data, expected):
    with pytest.raises(ImageRefused) as refused:
        check_image(data)
    assert expected in str(refused.value)


def test_a_file_over_the_size_limit_is_refused_before_it_is_opened(monkeypatch):
    data = photo()
    monkeypatch.setattr(images, "IMAGE_MAX_BYTES", len(data) - 1)
    with pytest.raises(ImageRefused, match="at most"):
        check_image(data)


def test_decompression_bombs_are_refused_unopened():
    with pytest.raises(ImageRefused) as huge:
        check_image(png_bomb())  # 900 megapixels: Pillow itself refuses to open it
    assert "decompression bomb" in str(huge.value)
    with pytest.raises(ImageRefused) as big:
        check_image(png_bomb(9_000, 8_000))  # 72 MP: over our 64 MP, under Pillow's limit
    assert "9000 × 8000" in str(big.value) and "decompression bomb" in str(big.value)


def test_renditions_are_upright_small_srgb_jpegs_without_metadata():
    # Stored 1600 × 1200 with orientation 6: the camera was turned; upright it is portrait.
    made = {r.name: r for r in images.render(photo("JPEG", (1600, 1200), orientation=6, gps=True))}
    assert (made["web"].width, made["web"].height) == (900, 1200)
    assert (made["thumb"].width, made["thumb"].height) == (240, 320)
    for rendition in made.values():
        with Image.open(BytesIO(rendition.data)) as image:
            assert image.format == "JPEG" and image.mode == "RGB"
            assert len(image.getexif()) == 0  # no orientation, camera, GPS
            assert "icc_profile" not in image.info and "xmp" not in image.info
            # The white marker was at the stored top left; turned upright it is top right.
            assert image.getpixel((image.width - 5, 5))[1] > 200
            assert image.getpixel((5, 5))[1] < 120


def test_a_small_photo_is_not_enlarged_and_transparency_lands_on_white():
    made = {r.name: r for r in images.render(photo("PNG", (700, 500), mode="RGBA"))}
    assert (made["web"].width, made["web"].height) == (700, 500)
    with Image.open(BytesIO(made["web"].data)) as image:
        red, green, blue = image.getpixel((600, 400))
    assert red > 200 and green > 100  # half-transparent red over white: pink, not black


def test_sixteen_bit_and_palette_pngs_render():
    deep = Image.new("I;16", (800, 600), 40_000)
    palette = Image.new("P", (800, 600), 3)
    for image in (deep, palette):
        out = BytesIO()
        image.save(out, "PNG")
        made = images.render(out.getvalue())
        assert [r.name for r in made] == ["web", "thumb"]


def test_an_upload_with_one_bad_file_keeps_nothing(db, shops, store):
    shop_a, _ = shops
    request_id = request(db, shop_a)
    with pytest.raises(PhotosRefused) as refused:
        upload(db, shop_a, request_id, store, photo(), _zip(), png_bomb(9_000, 8_000))
    assert [name for name, _message in refused.value.files] == ["photo-2.jpg", "photo-3.jpg"]
    with db.tenant_session(shop_a.id) as s:
        assert s.scalar(select(func.count()).select_from(SasageImage)) == 0
        assert s.scalar(select(func.count()).select_from(ShopTask)) == 0
    assert not (store.root / "sasage").exists()
    assert task(db, shop_a, request_id, "photo").state == "todo"


def test_the_same_photo_twice_or_more_than_twenty_are_refused(db, shops, store, monkeypatch):
    shop_a, _ = shops
    request_id = request(db, shop_a)
    upload(db, shop_a, request_id, store, photo())
    with pytest.raises(PhotosRefused) as refused:
        upload(db, shop_a, request_id, store, photo())
    assert "already" in str(refused.value.files[0][1])
    monkeypatch.setattr(photos, "IMAGES_MAX", 2)
    with pytest.raises(photos.SasageInvalid, match="at most 2 photos"):
        upload(db, shop_a, request_id, store, photo(color=(1, 2, 3)), photo(color=(4, 5, 6)))


def test_uploads_are_stored_outside_the_database_and_rendered_by_the_job_body(db, shops, store):
    shop_a, _ = shops
    request_id = request(db, shop_a)
    render_task = upload(db, shop_a, request_id, store, photo(size=(2400, 1800)), photo("PNG"))
    with db.tenant_session(shop_a.id) as s:
        rows = photos.list_photos(s, request_id)
        assert [(r.position, r.is_main, r.status, r.format) for r in rows] == [
            (1, True, "pending", "jpeg"), (2, False, "pending", "png"),
        ]  # fmt: skip
        assert {r.render_task_id for r in rows} == {render_task}
        assert photos.rendering_task_id(s, request_id) == render_task
    first = rows[0]
    assert store.path(shop_a.id, first.id, "original.jpg").read_bytes() == photo(size=(2400, 1800))
    assert render(db, shop_a, request_id, store) == {"ready": 2, "failed": 0}
    assert render(db, shop_a, request_id, store) == {"ready": 0, "failed": 0}  # idempotent
    with db.tenant_session(shop_a.id) as s:
        first = photos.get_photo(s, request_id, first.id)
        assert (first.status, first.renditions) == (
            "ready",
            {"web": [1200, 900], "thumb": [320, 240]},
        )
        assert photos.rendering_task_id(s, request_id) is None
    assert store.existing(shop_a.id, first.id, "thumb.jpg").stat().st_size > 0


def test_a_photo_whose_original_is_gone_is_marked_failed(db, shops, store):
    shop_a, _ = shops
    request_id = request(db, shop_a)
    upload(db, shop_a, request_id, store, photo())
    with db.tenant_session(shop_a.id) as s:
        image = photos.list_photos(s, request_id)[0]
    store.path(shop_a.id, image.id, "original.jpg").unlink()
    assert render(db, shop_a, request_id, store) == {"ready": 0, "failed": 1}


def _version(db, shop, request_id) -> int:
    return task(db, shop, request_id, "photo").version


def test_order_main_photo_and_removal(db, shops, store):
    shop_a, _ = shops
    request_id = request(db, shop_a)
    upload(db, shop_a, request_id, store, *(photo(color=(n, 0, 0)) for n in (10, 20, 30)))
    render(db, shop_a, request_id, store)
    with db.tenant_session(shop_a.id) as s:
        first, second, third = (p.id for p in photos.list_photos(s, request_id))
    with db.tenant_session(shop_a.id) as s:
        photos.move_photo(s, actor=OPERATOR, request_id=request_id, image_id=third,
                          direction="up", version=_version(db, shop_a, request_id))  # fmt: skip
    with db.tenant_session(shop_a.id) as s:
        photos.choose_main(s, actor=OPERATOR, request_id=request_id, image_id=third,
                           version=_version(db, shop_a, request_id))  # fmt: skip
    with db.tenant_session(shop_a.id) as s:
        order = [(p.id, p.is_main) for p in photos.list_photos(s, request_id)]
    assert order == [(first, False), (third, True), (second, False)]
    stale = _version(db, shop_a, request_id)
    with db.tenant_session(shop_a.id) as s:
        photos.remove_photo(s, actor=OPERATOR, request_id=request_id, image_id=third,
                            version=stale)  # fmt: skip
    with db.tenant_session(shop_a.id) as s:
        rest = [(p.id, p.position, p.is_main) for p in photos.list_photos(s, request_id)]
        with pytest.raises(StaleSasage):
            photos.move_photo(s, actor=OPERATOR, request_id=request_id, image_id=first,
                              direction="down", version=stale)  # fmt: skip
    assert rest == [(first, 1, True), (second, 2, False)]  # the main photo passed on


def test_the_other_shop_cannot_reach_a_photo(db, shops, store):
    shop_a, shop_b = shops
    request_id = request(db, shop_a)
    upload(db, shop_a, request_id, store, photo())
    with db.tenant_session(shop_a.id) as s:
        image_id = photos.list_photos(s, request_id)[0].id
    other = request(db, shop_b)
    with db.tenant_session(shop_b.id) as s:
        for rid in (request_id, other):
            with pytest.raises(NotFound):
                photos.get_photo(s, rid, image_id)
        assert photos.list_photos(s, request_id) == []
