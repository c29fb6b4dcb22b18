"""One database session per request, committed once at the boundary (STYLE habit 6)."""

from __future__ import annotations

from flask import Flask, current_app, g

from urakata.platform.db import Database, UrakataSession


def get_db() -> Database:
    return current_app.extensions["urakata.db"]


def db_session() -> UrakataSession:
    """The request's session; bound to the shop of the URL once a shop view resolves it."""
    if "db_session" not in g:
        g.db_session = get_db().session()
    return g.db_session


def keep_changes_on_error() -> None:
    """Commit this request's changes even though it answers with an error status.

    For security counters only (failed logins, lockouts): a refused login must still count.
    Everything else is rolled back when a request answers 4xx/5xx.
    """
    g.keep_changes_on_error = True


def configure_request_session(app: Flask) -> None:
    @app.after_request
    def _commit(response):
        session = g.pop("db_session", None)
        if session is None:
            return response
        try:
            if response.status_code < 400 or g.get("keep_changes_on_error"):
                session.commit()
            else:
                session.rollback()
        finally:
            session.close()
        return response

    @app.teardown_request
    def _rollback(exc):
        session = g.pop("db_session", None)
        if session is not None:
            session.rollback()
            session.close()
