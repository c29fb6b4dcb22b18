"""Translations shared by the portal and the workers (mails are rendered in both).

Source strings are English; ``urakata/translations/ja/LC_MESSAGES/messages.po`` holds
Japanese. Catalogs are compiled from the .po files on first use into a cache directory
keyed by their content, so no compiled .mo file lives in the repository.
"""

from __future__ import annotations

import functools
import hashlib
import tempfile
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALES = ("ja", "en")
DEFAULT_LOCALE = "ja"
SOURCE_DIR = Path(__file__).resolve().parents[1] / "translations"


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
        tmp = mo.with_suffix(f".{digest}.tmp")
        with tmp.open("wb") as out:
            write_mo(out, catalog)
        tmp.replace(mo)  # atomic: concurrent processes may compile the same catalog
    return target


def N_(message: str) -> str:  # noqa: N802 - the conventional name for "mark for extraction"
    """Mark a string for the catalog without translating it here."""
    return message


@functools.cache
def translations(locale: str) -> Translations:
    """Translations for ``locale`` outside a request (workers rendering mails)."""
    return Translations.load(str(compile_catalogs()), [locale if locale in LOCALES else "ja"])
