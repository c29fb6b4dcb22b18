"""Shop tasks in the portal: start a chain verification, follow its progress, read the verdict."""

from __future__ import annotations

import re
import uuid

import pytest

from tests.factories import make_user
from urakata.platform import audit, tasks
from urakata.platform.audit import Actor, PendingEvent
from urakata.platform.identity import Role

SYSTEM = Actor.system("test")


@pytest.fixture
def quiet_spine(spine):
    """The spine with the world's own jobs (welcome mails) already done."""
    spine.run()
    return spine


def _start(portal, shop, **kw):
    return portal.post_form(
        f"/s/{shop.slug}/tasks/verify-chain", form_url=f"/s/{shop.slug}/tasks", **kw
    )


def _task_url(response) -> str:
    location = response.headers["Location"]
    assert re.search(r"/tasks/[0-9a-f-]{36}$", location), location
    return location


@pytest.mark.parametrize("who", ["shop_admin_a", "agency_admin", "auditor"])
def test_verifying_the_chain_from_start_to_verdict(db, world, portal, quiet_spine, who):
    portal.login(getattr(world, who))
    listing = portal.get("/s/shop-a/tasks").get_data(as_text=True)
    assert 'data-testid="verify-chain"' in listing

    started = _start(portal, world.shop_a)
    assert started.status_code == 303
    url = _task_url(started)
    page = portal.get(url).get_data(as_text=True)
    assert f'data-progress-url="{url}/progress.json"' in page
    assert 'data-status="queued"' in page and "progress.js" in page
    assert re.search(r"<script(?![^>]*\bsrc=)", page) is None  # CSP: no inline scripts
    waiting = portal.get(f"{url}/progress.json").get_json()
    assert (waiting["status"], waiting["result_url"]) == ("queued", None)

    quiet_spine.run()

    state = portal.get(f"{url}/progress.json")
    assert state.headers["Cache-Control"] == "no-store"
    done = state.get_json()
    assert done["status"] == "done" and done["done"] == done["total"] > 0
    assert done["result_url"] == f"{url}#result"
    page = portal.get(url).get_data(as_text=True)
    assert 'data-testid="verdict-ok"' in page and f"{done['total']}" in page
    assert 'data-status="done"' in page
    assert re.search(r'data-testid="task-result-link"(?! hidden)', page)
    with db.tenant_session(world.shop_a.id) as s:
        task = tasks.get_task(s, uuid.UUID(url.rsplit("/", 1)[1]))
    assert task.result["ok"] is True and task.result["count"] == done["total"]
    assert task.created_by == getattr(world, who).id


def test_progress_shows_on_a_chain_of_thousands_of_events(db, world, portal, quiet_spine):
    with db.tenant_session(world.shop_a.id) as s:
        audit.record_many(
            s, SYSTEM, [PendingEvent("order.shipped", "order", f"o-{n}") for n in range(2_500)]
        )
    portal.login(world.shop_admin_a)
    url = _task_url(_start(portal, world.shop_a))
    task_id = uuid.UUID(url.rsplit("/", 1)[1])
    with db.tenant_session(world.shop_a.id) as s:  # as the job reports it halfway
        tasks.report_progress(s, task_id, done=1_000, total=2_504)
    halfway = portal.get(f"{url}/progress.json").get_json()
    assert (halfway["status"], halfway["done"], halfway["total"]) == ("running", 1_000, 2_504)
    assert halfway["percent"] == 39 and "2,504" in halfway["status_text"]
    page = portal.get(url).get_data(as_text=True)
    assert 'value="1000" max="2504"' in page

    quiet_spine.run()

    done = portal.get(f"{url}/progress.json").get_json()
    assert done["status"] == "done" and done["done"] == done["total"] > 2_500


@pytest.mark.parametrize("who", ["operator_a", "shop_staff"])
def test_operators_and_shop_staff_may_not_run_or_see_tasks(db, world, portal, who):
    user = make_user(db, Role.shop_staff, world.shop_a) if who == "shop_staff" else None
    portal.login(user or getattr(world, who))
    started = portal.post_form("/s/shop-a/tasks/verify-chain", form_url="/account")
    assert started.status_code == 403
    assert portal.get("/s/shop-a/tasks").status_code == 403
    with db.tenant_session(world.shop_a.id) as s:
        task = tasks.start_task(
            s,
            kind=tasks.VERIFY_CHAIN,
            actor=SYSTEM,
            job=tasks.VERIFY_CHAIN_JOB,
            queue=tasks.VERIFY_CHAIN_QUEUE,
        )
    assert portal.get(f"/s/shop-a/tasks/{task.id}").status_code == 403
    assert portal.get(f"/s/shop-a/tasks/{task.id}/progress.json").status_code == 403


def test_another_shop_cannot_see_the_task(db, world, portal):
    portal.login(world.shop_admin_a)
    url = _task_url(_start(portal, world.shop_a))
    task_id = url.rsplit("/", 1)[1]
    portal.logout()

    portal.login(world.shop_admin_b)
    for path in (f"/s/shop-b/tasks/{task_id}", f"/s/shop-b/tasks/{task_id}/progress.json"):
        assert portal.get(path).status_code == 404, path
    for path in (f"/s/shop-a/tasks/{task_id}", f"/s/shop-a/tasks/{task_id}/progress.json"):
        assert portal.get(path).status_code == 404, path
    assert portal.get(f"/s/shop-b/tasks?before={task_id}").status_code == 404
    listing = portal.get("/s/shop-b/tasks").get_data(as_text=True)
    assert task_id not in listing and 'data-testid="task-row"' not in listing
    assert portal.post_form("/s/shop-a/tasks/verify-chain", form_url="/account").status_code == 404


def test_a_second_start_goes_to_the_verification_under_way(world, portal):
    portal.login(world.shop_admin_a)
    first = _task_url(_start(portal, world.shop_a))
    second = _start(portal, world.shop_a)
    assert _task_url(second) == first
    assert portal.get("/s/shop-a/tasks").get_data(as_text=True).count('data-testid="task-row"') == 1


def test_the_task_list_is_paginated_newest_first(db, world, portal):
    with db.tenant_session(world.shop_a.id) as s:
        started = [
            tasks.start_task(
                s,
                kind=tasks.VERIFY_CHAIN,
                actor=SYSTEM,
                job=tasks.VERIFY_CHAIN_JOB,
                queue=tasks.VERIFY_CHAIN_QUEUE,
            ).id
            for _ in range(23)
        ]
    portal.login(world.shop_admin_a)
    first = portal.get("/s/shop-a/tasks").get_data(as_text=True)
    assert first.count('data-testid="task-row"') == 20
    older = re.search(
        r'href="(/s/shop-a/tasks\?before=[^"]+)"[^>]*data-testid="tasks-older"', first
    )
    second = portal.get(older.group(1)).get_data(as_text=True)
    assert second.count('data-testid="task-row"') == 3
    assert 'data-testid="tasks-older"' not in second
    shown = re.findall(r'href="/s/shop-a/tasks/([0-9a-f-]{36})"', first + second)
    assert sorted(shown) == sorted(str(i) for i in started)


def test_the_progress_script_is_served(client):
    response = client.get("/static/progress.js")
    assert response.status_code == 200
    assert b"data-progress-url" in response.data
