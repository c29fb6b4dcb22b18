"""The app factory: settings are read here, once; the rest is a list of configure_* calls."""

from __future__ import annotations

from flask import Flask

from urakata.platform.config import Settings
from urakata.platform.db import Database
from urakata.platform.dbroles import check_app_role


def create_app(config: Settings | None = None, *, db: Database | None = None) -> Flask:
    """Build the portal. ``config`` defaults to the environment; ``db`` lets tests share one.

    Refuses to start when the database role could bypass row-level security.
    """
    settings = (config or Settings.from_env()).validated()
    app = Flask(__name__)
    configure_settings(app, settings)
    configure_database(app, settings, db)
    configure_request_lifecycle(app)
    configure_blueprints(app)
    return app


def configure_settings(app: Flask, settings: Settings) -> None:
    app.config.update(
        SECRET_KEY=settings.secret_key,
        REDIS_URL=settings.redis_url,
        URAKATA_SETTINGS=settings,
        TESTING=settings.mode == "test",
    )


def configure_database(app: Flask, settings: Settings, db: Database | None) -> None:
    database = db or Database.from_url(settings.database_url, pool_size=10, max_overflow=10)
    check_app_role(database.engine)
    app.extensions["urakata.db"] = database


def configure_request_lifecycle(app: Flask) -> None:
    from urakata.portal.requestdb import configure_request_session

    configure_request_session(app)


def configure_blueprints(app: Flask) -> None:
    from urakata.portal import ops

    app.register_blueprint(ops.bp)
