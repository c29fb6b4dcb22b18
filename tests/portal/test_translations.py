"""Japanese is the first language: every UI string has a Japanese translation."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "urakata/translations/ja/LC_MESSAGES/messages.po"
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _source_messages() -> dict[str, str]:
    with (ROOT / "babel.cfg").open() as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    keywords = {
        "_": None,
        "gettext": None,
        "_l": None,
        "lazy_gettext": None,
        "N_": None,
        "ngettext": (1, 2),
    }
    found = {}
    for filename, lineno, message, _comments, _ctx in extract_from_dir(
        str(ROOT / "urakata"), method_map, options_map, keywords=keywords
    ):
        for msgid in message if isinstance(message, tuple) else (message,):
            if msgid:
                found[msgid] = f"{filename}:{lineno}"
    return found


def test_every_ui_string_has_a_japanese_translation():
    with PO.open("rb") as fh:
        catalog = read_po(fh, locale="ja")
    translated = {}
    for m in catalog:
        if not m.id:
            continue
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        for msgid in ids:  # a plural's singular and plural forms share the translation
            translated[msgid] = strings[0]
    missing = [
        f"{where}: {msgid!r}"
        for msgid, where in sorted(_source_messages().items(), key=lambda kv: kv[1])
        if not translated.get(msgid)
    ]
    assert missing == [], "untranslated (run `make messages` and translate):\n" + "\n".join(missing)


def test_placeholders_survive_translation():
    with PO.open("rb") as fh:
        catalog = read_po(fh, locale="ja")
    wrong = []
    for m in catalog:
        if not m.id or not m.string:
            continue
        msgid = m.id[0] if isinstance(m.id, tuple) else m.id
        string = m.string[0] if isinstance(m.string, tuple) else m.string
        if set(PLACEHOLDER.findall(msgid)) != set(PLACEHOLDER.findall(string)):
            wrong.append(msgid)
    assert wrong == []


def test_the_portal_speaks_japanese_first_and_english_on_request(portal):
    page = portal.get("/login").get_data(as_text=True)
    assert '<html lang="ja">' in page and "ログイン" in page
    portal.post_form("/language/en", {"next": "/login"}, form_url="/login")
    page = portal.get("/login").get_data(as_text=True)
    assert '<html lang="en">' in page and "Log in" in page and "ログイン" not in page


def test_a_logged_in_users_language_choice_is_remembered(portal, world, db):
    from urakata.platform.identity import UserAccount

    portal.login(world.shop_admin_a)
    portal.post_form("/language/en", {"next": "/account"}, form_url="/account")
    with db.platform_session() as s:
        assert s.get(UserAccount, world.shop_admin_a.id).locale == "en"
