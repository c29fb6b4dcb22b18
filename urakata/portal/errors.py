"""Error responses: HTML pages in the portal, JSON under /api. Never a stack trace."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def handle_http_exception(exc: HTTPException):
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


def configure_errors(app: Flask) -> None:
    """Registered after flask-smorest, whose app-wide handler would turn portal 404s into JSON."""
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
