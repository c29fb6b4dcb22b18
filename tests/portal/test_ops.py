"""Health and readiness probes."""

from __future__ import annotations

from urakata.platform.config import Settings
from urakata.portal import create_app


def test_healthz_answers_without_dependencies(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_checks_database_and_redis(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["checks"] == {"database": "ok", "redis": "ok", "outbox": "ok"}


def test_readyz_says_which_dependency_is_down(test_database, db):
    from urakata.platform.devservers import free_port

    settings = Settings(
        mode="test",
        secret_key="k",
        database_url=test_database.app_url,
        redis_url=f"redis://127.0.0.1:{free_port()}/0",
    )
    response = create_app(settings, db=db).test_client().get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"].startswith("error")
