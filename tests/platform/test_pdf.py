"""The PDF renderer: Japanese text, barcodes, and a fetcher that loads only what it may."""

import subprocess
import uuid

import pytest
from PIL import Image

from urakata.platform import barcodes, pdf


def _text(data: bytes, tmp_path) -> str:
    path = tmp_path / "out.pdf"
    path.write_bytes(data)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout


def _image_count(data: bytes, tmp_path) -> int:
    path = tmp_path / "images.pdf"
    path.write_bytes(data)
    out = subprocess.run(["pdfimages", "-list", str(path)], capture_output=True, text=True).stdout
    return max(0, len(out.strip().splitlines()) - 2)


def test_japanese_text_and_page_count(tmp_path):
    rows = "".join(f"<p>ピッキングリスト 第{i}行</p>" for i in range(120))
    rendered = pdf.render(f"<h1>出荷指示 テスト店</h1>{rows}")
    assert rendered.data.startswith(b"%PDF")
    assert rendered.pages >= 2
    text = _text(rendered.data, tmp_path)
    assert "出荷指示 テスト店" in text
    assert "ピッキングリスト 第119行" in text
    path = tmp_path / "fonts.pdf"
    path.write_bytes(rendered.data)
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True).stdout
    assert "IPAexGothic" in fonts


def test_fonts_reach_the_margin_boxes(tmp_path):
    css = "@page { @bottom-right { content: '頁 ' counter(page); } }"
    text = _text(pdf.render_pdf("<p>本文</p>", stylesheets=(css,)), tmp_path)
    assert "頁1" in text.replace(" ", "")


def test_barcodes_render_as_vector_images(tmp_path):
    html = (
        f'<img src="{barcodes.data_uri(barcodes.code128_svg("SKU-001"))}">'
        f'<img src="{barcodes.data_uri(barcodes.ean_svg("4901234567894"))}">'
        "<p>バーコード</p>"
    )
    data = pdf.render_pdf(html)
    # SVG stays vector: no raster images, but the bars are drawn (the PDF grows).
    assert _image_count(data, tmp_path) == 0
    assert len(data) > len(pdf.render_pdf("<p>バーコード</p>")) + 500
    assert "SKU-001" in _text(data, tmp_path)


@pytest.mark.parametrize("value", ["", "コード", "a\tb"])
def test_code128_refuses_what_it_cannot_draw(value):
    with pytest.raises(barcodes.BarcodeValueError):
        barcodes.code128_svg(value)


@pytest.mark.parametrize("code", ["4901234567890", "12345", "49012345678ab"])
def test_ean_refuses_bad_codes(code):
    with pytest.raises(barcodes.BarcodeValueError):
        barcodes.ean_svg(code)


def test_ean8_is_drawn():
    assert barcodes.ean_svg("49123456").startswith("<svg")


def _png(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (4, 4), (200, 30, 30)).save(path, "PNG")
    return path


def test_fetcher_allows_own_shop_files_and_refuses_the_rest(tmp_path):
    files = tmp_path / "files"
    mine, theirs = uuid.uuid4(), uuid.uuid4()
    own = _png(files / "logos" / str(mine) / "logo.png")
    other = _png(files / "logos" / str(theirs) / "logo.png")
    outside = _png(tmp_path / "secret.png")

    def images(src: str) -> int:
        data = pdf.render_pdf(f'<img src="{src}"><p>x</p>', shop_id=mine, files=files)
        return _image_count(data, tmp_path)

    assert images(own.as_uri()) == 1
    assert images(other.as_uri()) == 0
    assert images(outside.as_uri()) == 0
    assert images((files / "logos" / str(mine) / ".." / str(theirs) / "logo.png").as_uri()) == 0
    assert images("http://127.0.0.1:9/x.png") == 0
    # Without a shop, no shop's files at all.
    assert _image_count(pdf.render_pdf(f'<img src="{own.as_uri()}">'), tmp_path) == 0


def test_static_assets_load_by_relative_path(tmp_path):
    data = pdf.render_pdf('<link rel="stylesheet" href="app.css"><p>静的</p>')
    assert "静的" in _text(data, tmp_path)


def test_rendering_leaves_pillows_truncated_image_check_on():
    """WeasyPrint turns Pillow's truncated-image tolerance on at import; photo and logo
    checks in the same process must still refuse a truncated file."""
    import io

    from PIL import ImageFile

    pdf.render_pdf("<p>x</p>")
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (10, 200, 30)).save(buffer, "JPEG")
    truncated = buffer.getvalue()[:-200]
    with pytest.raises(OSError):
        Image.open(io.BytesIO(truncated)).load()
