"""Japanese first, English second (Flask-Babel).

Source strings are English; ``urakata/translations/ja/LC_MESSAGES/messages.po`` holds
Japanese (shared with the workers, which render mails). Catalogs are compiled when the
app starts (:func:`urakata.platform.i18n.compile_catalogs`).
"""

from __future__ import annotations

from flask import Flask, request, session
from flask_babel import Babel
from flask_login import current_user

from urakata.platform.i18n import DEFAULT_LOCALE, LOCALES, compile_catalogs

babel = Babel()


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


def translate_message(message) -> str:
    """A service's message (platform.fields.Message keeps msgid and parameters) translated."""
    from flask_babel import gettext

    msgid = getattr(message, "msgid", None)
    if msgid is not None:
        return gettext(msgid, **message.params)
    return gettext(str(message))
