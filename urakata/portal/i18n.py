"""Japanese first, English second (Flask-Babel).

Source strings are English; ``translations/ja/LC_MESSAGES/messages.po`` holds Japanese.
Catalogs are compiled from the .po files when the app starts, into a per-content cache
directory, so no compiled .mo file lives in the repository.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, request, session
from flask_babel import Babel
from flask_login import current_user

LOCALES = ("ja", "en")
DEFAULT_LOCALE = "ja"
SOURCE_DIR = Path(__file__).parent / "translations"

babel = Babel()


def compile_catalogs(source: Path = SOURCE_DIR) -> Path:
    """Compile every .po under ``source`` into a cache dir keyed by their content."""
    po_files = sorted(source.glob("*/LC_MESSAGES/*.po"))
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in po_files)).hexdigest()[:16]
    target = Path(tempfile.gettempdir()) / f"urakata-i18n-{digest}"
    for po in po_files:
        mo = target / po.relative_to(source).with_suffix(".mo")
        if mo.exists():
            continue
        mo.parent.mkdir(parents=True, exist_ok=True)
        with po.open("rb") as fh:
            catalog = read_po(fh, locale=po.parts[-3])
        tmp = mo.with_suffix(".tmp")
        with tmp.open("wb") as out:
            write_mo(out, catalog)
        tmp.replace(mo)  # atomic: concurrent workers may compile the same catalog
    return target


def select_locale() -> str:
    chosen = session.get("lang")
    if chosen in LOCALES:
        return chosen
    if current_user and current_user.is_authenticated and current_user.locale in LOCALES:
        return current_user.locale
    if request and request.path.startswith("/api/"):
        return request.accept_languages.best_match(LOCALES, DEFAULT_LOCALE)
    return DEFAULT_LOCALE


def configure_i18n(app: Flask) -> None:
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(compile_catalogs())
    app.config["BABEL_DEFAULT_LOCALE"] = DEFAULT_LOCALE
    babel.init_app(app, locale_selector=select_locale, default_timezone="Asia/Tokyo")
