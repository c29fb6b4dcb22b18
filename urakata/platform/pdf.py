"""PDF rendering with WeasyPrint, for pick lists, labels, slips and manifests.

Every PDF the app makes goes through :func:`render_pdf`, which differs from calling
WeasyPrint directly in three ways:

- **A restricted URL fetcher.** A document can load the app's own static assets (by a
  path relative to ``urakata/portal/static``), ``data:`` URIs (logos and barcodes are
  inlined that way) and, when a shop and a files directory are given, files under that
  shop's own folders in the files directory. Anything else — ``http:``, another shop's
  folder, ``/etc/passwd`` through ``../`` — is refused before it is opened. Shop-editable
  text reaches these documents, so an ``<img src="http://…">`` in a shop's slip message
  must not make the worker fetch from the network.
- **A Japanese font everywhere**, including the ``@page`` margin boxes, which do not
  inherit the body's font (IPAexGothic from Debian's ``fonts-ipaexfont-gothic``).
- **One font configuration per process**, so a warm worker does not rebuild it.

WeasyPrint is imported lazily: the portal imports this module for its names but renders
nothing, and a cold import costs about a second.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

STATIC_DIR = (Path(__file__).resolve().parent.parent / "portal" / "static").resolve()

FONT_STACK = '"IPAexGothic", "IPAGothic", "IPAPGothic", "Noto Sans CJK JP", sans-serif'

BASE_CSS = f"""
@page {{
  size: A4;
  margin: 14mm 12mm 16mm 12mm;
  @top-left {{ font-family: {FONT_STACK}; font-size: 8pt; }}
  @top-center {{ font-family: {FONT_STACK}; font-size: 8pt; }}
  @top-right {{ font-family: {FONT_STACK}; font-size: 8pt; }}
  @bottom-left {{ font-family: {FONT_STACK}; font-size: 8pt; }}
  @bottom-center {{ font-family: {FONT_STACK}; font-size: 8pt; }}
  @bottom-right {{ font-family: {FONT_STACK}; font-size: 8pt; }}
}}
html {{ font-family: {FONT_STACK}; font-size: 10pt; }}
"""

_lock = threading.Lock()
_fonts = None
_base_css = None


class RefusedURL(ValueError):
    """A document asked for something outside what it may load."""


def _weasyprint():
    """Import WeasyPrint, undoing the one global it changes: on import it sets Pillow's
    ``ImageFile.LOAD_TRUNCATED_IMAGES``, after which every image check in the process
    (photo uploads, shop logos) would take a truncated file as whole. Our documents embed
    only images we checked ourselves and SVG barcodes, so they do not need it."""
    import weasyprint
    import weasyprint.images  # noqa: F401 - the module that sets it
    from PIL import ImageFile

    ImageFile.LOAD_TRUNCATED_IMAGES = False  # Pillow's default
    return weasyprint


def _fetcher_class():
    _weasyprint()
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class RestrictedFetcher(URLFetcher):
        """Static assets, ``data:`` URIs and one shop's files; nothing else."""

        def __init__(self, roots: tuple[Path, ...]):
            super().__init__(allowed_protocols=("file", "data"), allow_redirects=False)
            self._roots = roots

        def fetch(self, url, headers=None):
            if url.startswith("data:"):
                return super().fetch(url, headers)
            if not url.startswith("file:"):
                raise RefusedURL(f"not loaded in a PDF: {url[:80]}")
            path = Path(URLFetcherResponse(url).path or "").resolve()
            if not any(path.is_relative_to(root) for root in self._roots):
                raise RefusedURL(f"not loaded in a PDF: {url[:80]}")
            if not path.is_file():
                raise RefusedURL(f"no such file: {path.name}")
            return URLFetcherResponse(url, path.read_bytes(), status=200)

    return RestrictedFetcher


def _shared():
    global _fonts, _base_css
    with _lock:
        if _fonts is None:
            _weasyprint()
            from weasyprint import CSS
            from weasyprint.text.fonts import FontConfiguration

            _fonts = FontConfiguration()
            _base_css = CSS(string=BASE_CSS, font_config=_fonts)
        return _fonts, _base_css


def shop_roots(files_dir: str | Path, shop_id: uuid.UUID) -> tuple[Path, ...]:
    """The folders of one shop under the files directory (one per kind of file)."""
    root = Path(files_dir).resolve()
    shop = str(uuid.UUID(str(shop_id)))
    if not root.is_dir():
        return ()
    return tuple(kind / shop for kind in sorted(root.iterdir()) if kind.is_dir())


@dataclass(frozen=True)
class RenderedPDF:
    data: bytes
    pages: int


def render(
    html: str,
    *,
    shop_id: uuid.UUID | None = None,
    files: str | Path | None = None,
    stylesheets: tuple[str, ...] = (),
) -> RenderedPDF:
    """Render ``html`` to a PDF, with its page count.

    Relative URLs resolve against the portal's static folder. ``stylesheets`` are extra
    CSS texts applied after the base style. With ``shop_id`` and ``files`` (the files
    directory), that shop's stored files may be loaded too.
    """
    _weasyprint()
    from weasyprint import CSS, HTML

    fonts, base = _shared()
    roots: tuple[Path, ...] = (STATIC_DIR,)
    if shop_id is not None and files is not None:
        roots += shop_roots(files, shop_id)
    fetcher = _fetcher_class()(roots)
    document = HTML(string=html, base_url=STATIC_DIR.as_uri() + "/", url_fetcher=fetcher)
    extra = [CSS(string=text, font_config=fonts) for text in stylesheets]
    rendered = document.render(stylesheets=[base, *extra], font_config=fonts)
    return RenderedPDF(data=rendered.write_pdf(), pages=len(rendered.pages))


def render_pdf(
    html: str,
    *,
    shop_id: uuid.UUID | None = None,
    files: str | Path | None = None,
    stylesheets: tuple[str, ...] = (),
) -> bytes:
    """Render ``html`` to PDF bytes (see :func:`render`)."""
    return render(html, shop_id=shop_id, files=files, stylesheets=stylesheets).data
