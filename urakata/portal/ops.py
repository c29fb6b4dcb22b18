"""Liveness and readiness probes for load balancers and orchestrators."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from urakata.portal.requestdb import get_db

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz():
    """The process is up; no dependencies checked."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """Ready to serve: PostgreSQL and Redis answer."""
    checks = {}
    try:
        get_db().ping()
        checks["database"] = "ok"
    except SQLAlchemyError as exc:
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        Redis.from_url(current_app.config["REDIS_URL"], socket_timeout=2).ping()
        checks["redis"] = "ok"
    except RedisError as exc:
        checks["redis"] = f"error: {type(exc).__name__}"
    ready = all(v == "ok" for v in checks.values())
    return jsonify(status="ready" if ready else "unavailable", checks=checks), (
        200 if ready else 503
    )
