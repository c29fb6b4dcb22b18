"""Error responses: HTML pages in the portal, JSON under /api. Never a stack trace."""

from __future__ import annotations

import logging

import psycopg
from flask import Flask, current_app, jsonify, make_response, render_template, request, session
from flask_babel import force_locale, gettext
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException, InternalServerError

from urakata.platform.i18n import DEFAULT_LOCALE, LOCALES

log = logging.getLogger(__name__)
# Seconds a client should wait before trying again when the database is away.
RETRY_AFTER = 5


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def handle_http_exception(exc: HTTPException):
    if exc.code == 500 and database_unavailable(getattr(exc, "original_exception", None)):
        # Raised outside the view (the commit at the request's end): Flask hands it to the
        # 500 handler, wrapped.
        return handle_database_unavailable(exc.original_exception)
    if _wants_json():
        body = {"code": exc.code, "status": exc.name}
        data = getattr(exc, "data", None) or {}
        if "messages" in data:
            body["errors"] = data["messages"]
        if exc.description and exc.code not in (404,):
            body["message"] = exc.description
        response = jsonify(body)
        response.status_code = exc.code or 500
        for name, value in (data.get("headers") or {}).items():
            response.headers[name] = value
        return response
    return render_template("error.html", error=exc), exc.code


def handle_unexpected(exc: Exception):
    log.exception("unhandled error on %s %s", request.method, request.path)
    return handle_http_exception(InternalServerError())


# -- the database is away (a restart, a failover, a full pool) -----------------------------


def database_unavailable(exc: BaseException | None) -> bool:
    """The database could not be reached, dropped the connection, or gave up on the
    statement for a passing reason (a deadlock, a timeout): trying again later may work."""
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeout | psycopg.OperationalError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def _unavailable_texts(locale: str) -> dict[str, str]:
    with force_locale(locale):
        return {
            "lang": locale,
            "title": gettext("Briefly unavailable"),
            "message": gettext(
                "The database cannot be reached just now, for example during a restart."
                " Wait a few seconds and try again."
            ),
            "form_hint": gettext(
                "If you were sending a form, check whether your change was saved before"
                " sending it again."
            ),
            "retry": gettext("Try again"),
        }


def _page_locale() -> str:
    """The visitor's language without the database: the choice kept in the login cookie
    (the user's own setting needs the database), else Japanese."""
    chosen = session.get("lang")
    return chosen if chosen in LOCALES else DEFAULT_LOCALE


def handle_database_unavailable(exc: Exception):
    """503 with Retry-After: a page that needs no database (not even for the logged-in
    user) in the visitor's language and the other one, or JSON under /api."""
    orig = getattr(exc, "orig", None) or exc
    reason = str(orig).strip().splitlines()[0] if str(orig).strip() else ""
    log.warning(
        "database unavailable on %s %s: %s: %s",
        request.method,
        request.path,
        type(orig).__name__,
        reason[:200],
    )
    if _wants_json():
        response = jsonify(
            code=503,
            status="Service Unavailable",
            message="the database cannot be reached just now; try again in a few seconds",
        )
        response.status_code = 503
    else:
        first = _page_locale()
        texts = [_unavailable_texts(first)]
        texts += [_unavailable_texts(other) for other in LOCALES if other != first]
        # Straight from Jinja: render_template runs the context processors, and
        # Flask-Login's loads the logged-in user from the database.
        template = current_app.jinja_env.get_template("unavailable.html")
        page = template.render(texts=texts, sent_form=request.method != "GET")
        response = make_response(page, 503)
    response.headers["Retry-After"] = str(RETRY_AFTER)
    response.headers["Cache-Control"] = "no-store"
    return response


def _handle_database_error(exc: Exception):
    if database_unavailable(exc):
        return handle_database_unavailable(exc)
    return handle_unexpected(exc)


def configure_errors(app: Flask) -> None:
    """Registered after flask-smorest, whose app-wide handler would turn portal 404s into JSON."""
    app.register_error_handler(HTTPException, handle_http_exception)
    for error in (DBAPIError, PoolTimeout, psycopg.OperationalError):
        app.register_error_handler(error, _handle_database_error)
    app.register_error_handler(Exception, handle_unexpected)
