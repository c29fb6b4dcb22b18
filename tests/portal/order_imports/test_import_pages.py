"""Order imports in the portal: check with errors by row and column, import by a job with
a progress bar, only the valid orders on request, the history and its error report; shop
B sees and changes nothing of shop A's."""

from __future__ import annotations

import csv
import io
import re
import uuid

import pytest
from sqlalchemy import select

from tests.factories import make_user
from tests.tenants.order_imports.conftest import add_sample_products, sample
from urakata.platform import tasks
from urakata.platform.identity import Role
from urakata.tenants.orders.models import Order

URL = "/s/shop-a/orders/import"


def upload(portal, data: bytes, fmt="generic", action="import", shop="shop-a", name="受注.csv",
           **extra):  # fmt: skip
    return portal.post_form(
        f"/s/{shop}/orders/import",
        {"file": (io.BytesIO(data), name), "format": fmt, "action": action, **extra},
        form_url=f"/s/{shop}/orders/import",
        content_type="multipart/form-data",
    )


def numbers(db, shop) -> set[str]:
    with db.tenant_session(shop.id) as s:
        return set(s.scalars(select(Order.external_id)))


def broken() -> bytes:
    lines = sample("generic_orders.csv").decode().splitlines()
    return "\n".join([*lines[:3], lines[3].replace(",1,5500", ",abc,5500")]).encode()


@pytest.fixture
def shops(db, world, spine):
    add_sample_products(db, world.shop_a)
    add_sample_products(db, world.shop_b)
    spine.run()  # the world's own jobs (welcome mails)
    return spine


def test_a_file_with_an_error_is_shown_by_row_and_column_and_nothing_is_imported(
    db, world, portal, shops
):
    portal.login(world.operator_a)
    response = upload(portal, broken())
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'data-row="4" data-column="数量"' in page
    assert "1 から" in page or "1〜" in page or "数量" in page
    assert numbers(db, world.shop_a) == set()
    assert portal.get(URL).status_code == 200


def test_a_clean_cp932_file_is_imported_by_a_job_and_listed_in_the_history(
    db, world, portal, shops
):
    portal.login(world.shop_admin_a)
    checked = upload(portal, sample("rakuten_orders.csv"), fmt="rakuten", action="check")
    assert checked.status_code == 200
    assert 'data-ok="true"' in checked.get_data(as_text=True)
    assert "cp932" in checked.get_data(as_text=True)
    started = upload(portal, sample("rakuten_orders.csv"), fmt="rakuten", name="rms.csv")
    assert started.status_code == 303, started.get_data(as_text=True)[:2000]
    url = started.headers["Location"]
    assert re.search(r"/orders/import/[0-9a-f-]{36}$", url)
    assert portal.get(f"{url}/progress.json").get_json()["status"] == "queued"

    shops.run()

    done = portal.get(f"{url}/progress.json").get_json()
    assert done["status"] == "done" and done["percent"] == 100
    assert numbers(db, world.shop_a) == {"301234-20261120-0000000101", "301234-20261120-0000000102"}
    assert numbers(db, world.shop_b) == set()
    page = portal.get(url).get_data(as_text=True)
    assert 'data-testid="order-import-result"' in page
    history = portal.get(URL).get_data(as_text=True)
    assert "rms.csv" in history and history.count('data-testid="order-import-row"') == 1
    # The same file again: nothing new.
    again = upload(portal, sample("rakuten_orders.csv"), fmt="rakuten")
    shops.run()
    with db.tenant_session(world.shop_a.id) as s:
        task = tasks.get_task(s, again.headers["Location"].rsplit("/", 1)[1])
        assert (task.result["created"], task.result["existing"]) == (0, 2)


def test_only_the_valid_orders_and_the_error_report(db, world, portal, shops):
    portal.login(world.operator_a)
    started = upload(portal, broken(), only_valid="y")
    assert started.status_code == 303
    shops.run()
    assert numbers(db, world.shop_a) == {"TEL-20261120-0001"}
    url = started.headers["Location"]
    page = portal.get(url).get_data(as_text=True)
    assert 'data-row="4"' in page
    report = portal.get(f"{url}/errors.csv")
    assert report.status_code == 200 and report.headers["Cache-Control"] == "no-store"
    rows = list(csv.reader(io.StringIO(report.get_data().decode("utf-8-sig"))))
    assert rows[0] == ["行", "列", "問題"] and rows[1][:2] == ["4", "数量"]


def test_the_template_downloads_with_the_generic_header(world, portal, shops):
    portal.login(world.shop_admin_a)
    response = portal.get(f"{URL}/template.csv")
    header = response.get_data().decode("utf-8-sig").splitlines()[0]
    assert header.startswith("注文番号,注文日時,注文者名")


def test_another_shop_cannot_see_or_start_shop_as_import(db, world, portal, shops):
    portal.login(world.shop_admin_a)
    started = upload(portal, sample("generic_orders.csv"))
    task_id = started.headers["Location"].rsplit("/", 1)[1]
    portal.logout()
    portal.login(world.shop_admin_b)
    for suffix in ("", "/progress.json", "/errors.csv"):
        assert portal.get(f"/s/shop-b/orders/import/{task_id}{suffix}").status_code == 404
        assert portal.get(f"/s/shop-a/orders/import/{task_id}{suffix}").status_code == 404
    assert upload(portal, sample("generic_orders.csv"), shop="shop-a").status_code == 404
    assert portal.get(f"/s/shop-b/orders/import/{uuid.uuid4()}").status_code == 404
    shops.run()
    assert numbers(db, world.shop_b) == set()


def test_shop_staff_may_read_the_history_but_not_import(db, world, portal, shops):
    portal.login(make_user(db, Role.shop_staff, world.shop_a))
    assert portal.get(URL).status_code == 403
    response = portal.post_form(
        URL,
        {"file": (io.BytesIO(sample("generic_orders.csv")), "a.csv"), "format": "generic",
         "action": "import"},
        form_url="/account",
        content_type="multipart/form-data",
    )  # fmt: skip
    assert response.status_code == 403


def test_the_job_checks_a_big_file_in_a_second_process_while_it_takes_it_in(
    db, world, portal, shops, monkeypatch
):
    """What a file of 512 KB or more gets: the checking process hands the job the orders
    two at a time; the bar ends at 100 and only shop A has them."""
    from urakata.tenants.orders.imports import service

    monkeypatch.setattr(service, "FORK_BYTES", 0)
    monkeypatch.setattr(service, "INTAKE_BATCH", 2)
    portal.login(world.shop_admin_a)
    started = upload(portal, sample("shopify_orders.csv"), fmt="shopify", name="big.csv")
    assert started.status_code == 303
    shops.run()
    done = portal.get(f"{started.headers['Location']}/progress.json").get_json()
    assert done["status"] == "done" and done["percent"] == 100
    assert numbers(db, world.shop_a) == {"#2001", "#2002", "#2003"}
    assert numbers(db, world.shop_b) == set()


def test_a_file_that_turns_out_wrong_in_the_job_fails_the_task_with_its_errors(
    db, world, portal, shops, monkeypatch
):
    """The job checks the file again; what it finds wrong is the task's result, by row
    and column, and no order of the file is taken in (the one before the error was
    written already, one order at a time: it is taken back)."""
    from urakata.tenants.orders.imports import service

    monkeypatch.setattr(service, "FORK_BYTES", 0)
    monkeypatch.setattr(service, "INTAKE_BATCH", 1)
    portal.login(world.shop_admin_a)
    started = upload(portal, sample("generic_orders.csv"))
    task_id = started.headers["Location"].rsplit("/", 1)[1]
    with db.tenant_session(world.shop_a.id) as s:  # the stored upload, spoiled meanwhile
        task = tasks.get_task(s, task_id)
        upload_ = dict(task.result["upload"])
        upload_["text"] = broken().decode()
        task.result = {**task.result, "upload": upload_}
    shops.run()
    with db.tenant_session(world.shop_a.id) as s:
        task = tasks.get_task(s, task_id)
        assert task.status == "failed"
        assert [(e["row"], e["column"]) for e in task.result["errors"]] == [(4, "数量")]
    assert numbers(db, world.shop_a) == set()
    page = portal.get(started.headers["Location"]).get_data(as_text=True)
    assert 'data-row="4"' in page
