"""Request ids and structured (JSON) logs carrying the request id, shop and user."""

from __future__ import annotations

import json
import logging
import re
import uuid

from flask import Flask, g, has_request_context, request

from urakata.platform.config import Settings

REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def request_id() -> str:
    return g.get("request_id", "") if has_request_context() else ""


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if has_request_context():
            entry["request_id"] = g.get("request_id", "")
            entry["method"] = request.method
            entry["path"] = request.path
            shop = g.get("shop")
            if shop is not None:
                entry["shop"] = shop.slug
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(app: Flask, settings: Settings) -> None:
    @app.before_request
    def _assign_request_id():
        incoming = request.headers.get("X-Request-ID", "")
        # Only a trusted proxy may name the request; otherwise we do.
        if settings.trusted_proxies and REQUEST_ID_RE.match(incoming):
            g.request_id = incoming
        else:
            g.request_id = uuid.uuid4().hex

    @app.after_request
    def _echo_request_id(response):
        response.headers["X-Request-ID"] = request_id()
        return response

    if settings.mode == "test":
        return  # pytest captures logs itself
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
