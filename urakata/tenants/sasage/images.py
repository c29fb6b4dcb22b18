"""Product photos: recognising an upload by its content, and making its renditions.

An upload is recognised by its file signature (magic bytes), never by its name or the
content type the browser sent; only the JPEG, PNG and WebP decoders of Pillow ever see
the bytes. A file is refused when it is too big, is none of the three, does not decode
as what its signature says, or claims more pixels than we accept (a decompression bomb:
a few kilobytes that would inflate into gigabytes). Nothing here touches the database.

Renditions are JPEGs in sRGB without metadata: the EXIF orientation is applied to the
pixels (``ImageOps.exif_transpose``) and EXIF, XMP and ICC data are not written, so a
camera's serial number or a studio's GPS position never leaves with a photo.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from io import BytesIO

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from urakata.platform.fields import N_, Message

IMAGE_MAX_BYTES = 15 * 1024 * 1024  # a 12-megapixel JPEG from a camera is 3–8 MB
# 64 MP covers 61 MP full-frame cameras; Pillow's own bomb limit is ~89 MP (and it refuses
# outright past twice that), so this check always comes first.
IMAGE_MAX_PIXELS = min(64_000_000, Image.MAX_IMAGE_PIXELS)
# Amazon asks for at least 500 px on the longer side (1,000 for zoom); smaller is no use.
IMAGE_MIN_EDGE = 500

# name -> (Pillow format, MIME type, file extension)
FORMATS = {
    "jpeg": ("JPEG", "image/jpeg", "jpg"),
    "png": ("PNG", "image/png", "png"),
    "webp": ("WEBP", "image/webp", "webp"),
}
# Renditions by name: the longer side in pixels (never enlarged). "web" suits the malls'
# detail pages (Rakuten shows up to 3,840 px but pages use ~700–1,200); "thumb" the lists.
RENDITIONS = {"web": 1200, "thumb": 320}
RENDITION_QUALITY = {"web": 85, "thumb": 80}
RENDITION_MIME = "image/jpeg"
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


class ImageRefused(ValueError):
    """The upload is not an image we take; ``message`` says why (translatable)."""

    def __init__(self, message: Message):
        super().__init__(str(message))
        self.message = message


@dataclass(frozen=True)
class CheckedImage:
    format: str  # "jpeg" | "png" | "webp"
    width: int
    height: int
    byte_size: int
    sha256: str

    @property
    def mime(self) -> str:
        return FORMATS[self.format][1]

    @property
    def extension(self) -> str:
        return FORMATS[self.format][2]


def sniff(data: bytes) -> str | None:
    """The format the file's signature names, or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def check_image(data: bytes) -> CheckedImage:
    """Accept a JPEG, PNG or WebP by its content, or raise :class:`ImageRefused`."""
    if not data:
        raise ImageRefused(N_("The file is empty."))
    if len(data) > IMAGE_MAX_BYTES:
        megabytes = format(len(data) / 1024 / 1024, ".1f")
        raise ImageRefused(
            N_(
                "The file is %(size)s MB; at most %(limit)s MB is accepted.",
                size=megabytes,
                limit=IMAGE_MAX_BYTES // 1024 // 1024,
            )
        )
    kind = sniff(data)
    if kind is None:
        raise ImageRefused(
            N_(
                "This file is not a JPEG, PNG or WebP image"
                " (its content was checked, not its name)."
            )
        )
    pillow_format = FORMATS[kind][0]
    try:
        with Image.open(BytesIO(data), formats=(pillow_format,)) as image:
            width, height = image.size
            _refuse_bomb(width, height)
            _decode(image, kind)
            if image.format != pillow_format:  # pragma: no cover - formats= allows one only
                raise ImageRefused(_mismatch(kind))
    except ImageRefused:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageRefused(_bomb_message(None, None)) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageRefused(_mismatch(kind)) from exc
    if max(width, height) < IMAGE_MIN_EDGE:
        raise ImageRefused(
            N_(
                "The image is %(width)d × %(height)d pixels; product photos need at least"
                " %(minimum)d pixels on the longer side.",
                width=width,
                height=height,
                minimum=IMAGE_MIN_EDGE,
            )
        )
    return CheckedImage(kind, width, height, len(data), hashlib.sha256(data).hexdigest())


def _mismatch(kind: str) -> Message:
    return N_(
        "The file starts like a %(format)s image but does not decode as one"
        " (damaged, cut short, or something else renamed).",
        format=FORMATS[kind][0],
    )


def _bomb_message(width: int | None, height: int | None) -> Message:
    megapixels = IMAGE_MAX_PIXELS // 1_000_000
    if width is None:
        return N_(
            "The image claims far more pixels than %(limit)s megapixels (a decompression bomb);"
            " it was not opened.",
            limit=megapixels,
        )
    return N_(
        "The image claims %(width)d × %(height)d pixels, more than %(limit)s megapixels"
        " (a decompression bomb?); it was not opened.",
        width=width,
        height=height,
        limit=megapixels,
    )


def _refuse_bomb(width: int, height: int) -> None:
    if width * height > IMAGE_MAX_PIXELS:
        raise ImageRefused(_bomb_message(width, height))


def _decode(image: Image.Image, kind: str) -> None:
    """Decode every byte, so a damaged or truncated file is refused now, not in the job.

    A JPEG is decoded at 1/8 scale (its DCT allows it): every scan is still read, at a
    fraction of the time; PNG and WebP have no such shortcut.
    """
    if kind == "jpeg":
        image.draft("RGB", (max(1, image.size[0] // 8), max(1, image.size[1] // 8)))
    image.load()


# --- renditions --------------------------------------------------------------------------


@dataclass(frozen=True)
class Rendition:
    name: str
    data: bytes
    width: int
    height: int


def fit(size: tuple[int, int], edge: int) -> tuple[int, int]:
    """``size`` scaled down so its longer side is at most ``edge`` (never enlarged)."""
    width, height = size
    longest = max(width, height)
    if longest <= edge:
        return width, height
    scale = edge / longest
    return max(1, round(width * scale)), max(1, round(height * scale))


def render(data: bytes) -> list[Rendition]:
    """The renditions of an original (``RENDITIONS``), largest first.

    Work is done at the smallest size that serves: a JPEG is decoded straight at a reduced
    scale, each rendition is resized from the one before it, and the EXIF orientation is
    applied to the resized pixels (turning 1,200 pixels, not 12 million).
    """
    kind = sniff(data)
    if kind is None:
        raise ImageRefused(N_("This file is not a JPEG, PNG or WebP image."))
    ordered = sorted(RENDITIONS.items(), key=lambda item: -item[1])
    with Image.open(BytesIO(data), formats=(FORMATS[kind][0],)) as image:
        _refuse_bomb(*image.size)
        if kind == "jpeg":
            image.draft("RGB", fit(image.size, ordered[0][1]))
        image.load()
        icc = image.info.get("icc_profile")
        source = _resizable(image)
        results = []
        for name, edge in ordered:
            resized = source.resize(
                fit(source.size, edge), Image.Resampling.LANCZOS, reducing_gap=2.0
            )
            source = resized  # the next, smaller rendition starts from this one
            upright = ImageOps.exif_transpose(resized)
            results.append(_encode(name, _to_srgb(upright, icc)))
    return results


def _resizable(image: Image.Image) -> Image.Image:
    """Modes the Lanczos filter works on: palettes, 16-bit and bilevel images converted."""
    if image.mode in ("RGB", "RGBA", "L", "LA", "CMYK"):
        return image
    if image.mode in ("P", "PA") and (image.mode == "PA" or "transparency" in image.info):
        return image.convert("RGBA")
    if image.mode.startswith("I;16"):
        # 16-bit greyscale: scale to 8 bits (convert("L") would clip at 255).
        return image.point(lambda value: value / 257, "F").convert("L")
    return image.convert("RGB")


def _to_srgb(image: Image.Image, icc: bytes | None) -> Image.Image:
    """RGB pixels in sRGB: transparency on white, an embedded profile converted, not kept."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    if icc:
        try:
            source = ImageCms.ImageCmsProfile(BytesIO(icc))
            if image.mode not in ("RGB", "CMYK", "L"):
                image = image.convert("RGB")
            return ImageCms.profileToProfile(image, source, _SRGB, outputMode="RGB")
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # an unreadable profile: take the pixels as sRGB
    return image if image.mode == "RGB" else image.convert("RGB")


def _encode(name: str, image: Image.Image) -> Rendition:
    out = BytesIO()
    # No exif=, icc_profile= or xmp=: Pillow writes none of them unless asked.
    image.save(out, "JPEG", quality=RENDITION_QUALITY[name], optimize=False)
    return Rendition(name, out.getvalue(), image.width, image.height)
