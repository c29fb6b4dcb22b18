"""Liveness and readiness probes for load balancers and orchestrators."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from urakata.platform import outbox
from urakata.portal.requestdb import get_db

bp = Blueprint("ops", __name__)

# The relay wakes on every commit and polls each second: minutes of lag mean it is not running.
OUTBOX_LAG_LIMIT_SECONDS = 300


@bp.get("/healthz")
def healthz():
    """The process is up; no dependencies checked."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """Ready to serve: PostgreSQL and Redis answer. The outbox lag is reported too, but a
    lagging relay does not take the web processes out of service: alert on it instead."""
    checks, extra = {}, {}
    try:
        get_db().ping()
        checks["database"] = "ok"
    except SQLAlchemyError as exc:
        checks["database"] = f"error: {type(exc).__name__}"
    checks["outbox"] = _outbox_check(extra) if checks["database"] == "ok" else "error: no database"
    try:
        Redis.from_url(current_app.config["REDIS_URL"], socket_timeout=2).ping()
        checks["redis"] = "ok"
    except RedisError as exc:
        checks["redis"] = f"error: {type(exc).__name__}"
    ready = checks["database"] == "ok" and checks["redis"] == "ok"
    return jsonify(status="ready" if ready else "unavailable", checks=checks, **extra), (
        200 if ready else 503
    )


def _outbox_check(extra: dict) -> str:
    """How far the relay is behind; adds the figures to ``extra["outbox"]``."""
    try:
        with get_db().platform_session() as session:
            unsent, lag = outbox.unsent_count(session), outbox.lag_seconds(session)
    except SQLAlchemyError as exc:
        return f"error: {type(exc).__name__}"
    extra["outbox"] = {"unsent": unsent, "lag_seconds": round(lag, 1)}
    if lag > OUTBOX_LAG_LIMIT_SECONDS:
        return f"lagging: {lag:.0f} s behind, over {OUTBOX_LAG_LIMIT_SECONDS} s ({unsent} unsent)"
    return "ok"
