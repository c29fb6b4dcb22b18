"""The app factory: settings are read here, once; the rest is a list of configure_* calls."""

from __future__ import annotations

from flask import Flask, g
from flask_babel import get_translations
from flask_babel import lazy_gettext as _l

from urakata.platform.config import Settings
from urakata.platform.db import Database
from urakata.platform.dbroles import check_app_role
from urakata.platform.identity import Role

ROLE_LABELS = {
    Role.agency_admin: _l("Agency admin"),
    Role.operator: _l("Operator"),
    Role.shop_admin: _l("Shop admin"),
    Role.shop_staff: _l("Shop staff"),
    Role.auditor: _l("Auditor"),
}


def create_app(config: Settings | None = None, *, db: Database | None = None) -> Flask:
    """Build the portal. ``config`` defaults to the environment; ``db`` lets tests share one.

    Refuses to start when the database role could bypass row-level security.
    """
    settings = (config or Settings.from_env()).validated()
    app = Flask(__name__)
    configure_settings(app, settings)
    configure_logging(app, settings)
    configure_database(app, settings, db)
    configure_request_lifecycle(app)
    configure_security(app, settings)
    configure_i18n(app)
    configure_templates(app)
    configure_blueprints(app)
    configure_api(app)
    configure_errors(app)
    return app


def configure_settings(app: Flask, settings: Settings) -> None:
    app.config.update(
        SECRET_KEY=settings.secret_key,
        REDIS_URL=settings.redis_url,
        URAKATA_SETTINGS=settings,
        TESTING=settings.mode == "test",
        MAX_CONTENT_LENGTH=20 * 1024 * 1024,
        PREFERRED_URL_SCHEME="https" if settings.is_production else "http",
    )


def configure_logging(app: Flask, settings: Settings) -> None:
    from urakata.portal.observability import configure_logging as _configure

    _configure(app, settings)


def configure_database(app: Flask, settings: Settings, db: Database | None) -> None:
    database = db or Database.from_url(settings.database_url, pool_size=10, max_overflow=10)
    check_app_role(database.engine)
    app.extensions["urakata.db"] = database


def configure_request_lifecycle(app: Flask) -> None:
    from urakata.portal.requestdb import configure_request_session

    configure_request_session(app)


def configure_security(app: Flask, settings: Settings) -> None:
    from urakata.portal import security

    security.configure_security(app, settings)


def configure_i18n(app: Flask) -> None:
    from urakata.portal.i18n import configure_i18n as _configure

    _configure(app)


def ship_day(day) -> str:
    """A ship-by day as people read it: "2026-11-27 (金)" (the weekday in the UI language)."""
    from flask_babel import format_date

    return format_date(day, "yyyy-MM-dd (E)") if day else ""


def _page_translations():
    """The request's translations, looked up once per locale instead of once per string.

    Flask-Babel resolves the domain, the locale and its catalog for every ``_()`` of a
    template (a list page has dozens). The catalog is kept on ``g`` with the locale object
    it is for: ``force_locale`` (the error pages) swaps that object, and a new lookup
    follows.
    """
    if not g:  # no app context: Flask-Babel answers untranslated
        return get_translations()
    here = g._get_current_object()
    state = getattr(here, "_flask_babel", None)
    locale = getattr(state, "babel_locale", None)
    if locale is None:  # not resolved yet this request: let Flask-Babel do it
        return get_translations()
    kept = here.__dict__.get("_urakata_translations")
    if kept is not None and kept[0] is locale:
        return kept[1]
    translations = get_translations()
    here._urakata_translations = (locale, translations)
    return translations


def configure_templates(app: Flask) -> None:
    from flask_babel import get_locale

    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _page_translations().ugettext(s),
        ngettext=lambda s, p, n: _page_translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: _page_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _page_translations().unpgettext(c, s, p, n),
    )

    @app.context_processor
    def _helpers():
        return {
            "role_label": lambda role: ROLE_LABELS[Role(role)],
            "get_locale": get_locale,
            "ship_day": ship_day,
        }


def configure_blueprints(app: Flask) -> None:
    from urakata.portal import home, ops, webhooks
    from urakata.portal.agency import calendar_views, ops_views  # noqa: F401
    from urakata.portal.agency import handover_views as _agency_handover_views  # noqa: F401
    from urakata.portal.agency import inbound_views as _agency_inbound_views  # noqa: F401
    from urakata.portal.agency import order_views as _agency_order_views  # noqa: F401
    from urakata.portal.agency import packing_views as _agency_packing_views  # noqa: F401
    from urakata.portal.agency import payment_views as _agency_payment_views  # noqa: F401
    from urakata.portal.agency import planning_views as _agency_planning_views  # noqa: F401
    from urakata.portal.agency import sasage_views as _agency_sasage_views  # noqa: F401
    from urakata.portal.agency import scan_views as _agency_scan_views  # noqa: F401
    from urakata.portal.agency import stock_views as _agency_stock_views  # noqa: F401
    from urakata.portal.agency import stocktake_views as _agency_stocktake_views  # noqa: F401
    from urakata.portal.agency import views as agency
    from urakata.portal.agency import wave_views as _agency_wave_views  # noqa: F401
    from urakata.portal.audit import ledger_views as _audit_ledger_views  # noqa: F401
    from urakata.portal.audit import views as audit
    from urakata.portal.auth import views as auth

    # Importing these modules registers their routes on the shop blueprint.
    from urakata.portal.shop import apikey_views, settings_views  # noqa: F401
    from urakata.portal.shop import blueprint as shop
    from urakata.portal.shop import catalog_views as _catalog_views  # noqa: F401
    from urakata.portal.shop import inbound_views as _inbound_views  # noqa: F401
    from urakata.portal.shop import mail_template_views as _mail_template_views  # noqa: F401
    from urakata.portal.shop import order_import_views as _order_import_views  # noqa: F401
    from urakata.portal.shop import order_views as _order_views  # noqa: F401
    from urakata.portal.shop import payment_views as _payment_views  # noqa: F401
    from urakata.portal.shop import planning_views as _planning_views  # noqa: F401
    from urakata.portal.shop import privacy_views as _privacy_views  # noqa: F401
    from urakata.portal.shop import sasage_views as _sasage_views  # noqa: F401
    from urakata.portal.shop import shipment_views as _shipment_views  # noqa: F401
    from urakata.portal.shop import stock_views as _stock_views  # noqa: F401
    from urakata.portal.shop import stocktake_views as _stocktake_views  # noqa: F401
    from urakata.portal.shop import task_views as _task_views  # noqa: F401
    from urakata.portal.shop import tracking_views as _tracking_views  # noqa: F401
    from urakata.portal.shop import views as _shop_views  # noqa: F401

    for bp in (ops.bp, home.bp, auth.bp, agency.bp, audit.bp, shop.bp, webhooks.bp):
        app.register_blueprint(bp)


def configure_api(app: Flask) -> None:
    """The REST API (flask-smorest) lives under /api/v1."""
    from urakata.portal.api import init_api

    init_api(app)


def configure_errors(app: Flask) -> None:
    from urakata.portal.errors import configure_errors as _configure

    _configure(app)
