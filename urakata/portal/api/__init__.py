"""The REST API under /api/v1 (flask-smorest, OpenAPI at /api/v1/openapi.json)."""

from __future__ import annotations

from flask import Flask


def init_api(app: Flask) -> None:
    """Registered by the API work; until then the API has no endpoints."""
