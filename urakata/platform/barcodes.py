"""Barcodes as SVG for pick lists, labels and slips (python-barcode).

``code128_svg`` draws any printable ASCII value (SKUs, shipment and bin references);
``ean_svg`` draws a JAN/EAN-13 or EAN-8 code and checks its check digit on the way.
The SVG text can go inline in HTML or, through :func:`data_uri`, into an ``<img>``,
which is how WeasyPrint documents embed them (``render_pdf`` allows ``data:`` URIs).
"""

from __future__ import annotations

import base64
import io

from barcode import EAN8, EAN13, Code128
from barcode.errors import BarcodeError
from barcode.writer import SVGWriter

from urakata.platform.codes import is_valid_gtin


class BarcodeValueError(ValueError):
    """The value cannot be drawn as the requested barcode."""


_OPTIONS = {"module_height": 9.0, "font_size": 7, "text_distance": 3.5, "quiet_zone": 2.5}


def _svg(code, *, text: bool) -> str:
    buffer = io.BytesIO()
    code.write(buffer, options={**_OPTIONS, "write_text": text})
    svg = buffer.getvalue().decode("utf-8")
    # Inline use: drop the XML prolog and doctype, keep the <svg> element.
    return svg[svg.index("<svg") :]


def code128_svg(value: str, *, text: bool = True) -> str:
    """``value`` as a Code128 barcode."""
    if not value or not value.isascii() or not value.isprintable():
        raise BarcodeValueError(f"Code128 takes printable ASCII only: {value!r}")
    return _svg(Code128(value, writer=SVGWriter()), text=text)


def ean_svg(code: str, *, text: bool = True) -> str:
    """A JAN/EAN-13 or EAN-8 code (with its check digit) as a barcode."""
    if not code.isdigit() or len(code) not in (8, 13) or not is_valid_gtin(code, (8, 13)):
        raise BarcodeValueError(f"not a valid JAN/EAN-13 or EAN-8 code: {code!r}")
    kind = EAN13 if len(code) == 13 else EAN8
    try:
        return _svg(kind(code, writer=SVGWriter()), text=text)
    except BarcodeError as exc:  # pragma: no cover - the checks above come first
        raise BarcodeValueError(str(exc)) from exc


def data_uri(svg: str) -> str:
    """An ``<img src>`` value for an SVG text."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")
