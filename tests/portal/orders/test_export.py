"""Order CSV export: a job with a progress bar; one row per line; formula-looking cells
neutralised; only the shop's own orders; a download by agency staff recorded."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import select

from tests.portal.orders.helpers import GOOD, actions, take
from urakata.platform.audit import AuditEvent


@pytest.fixture
def quiet_spine(spine):
    spine.run()  # the world's own jobs (welcome mails)
    return spine


def start(portal, shop="shop-a", **data):
    response = portal.post_form(
        f"/s/{shop}/orders/export", {"encoding": "utf-8", **data}, form_url=f"/s/{shop}/orders"
    )
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    return response.headers["Location"]


def read_csv(body: bytes, encoding="utf-8-sig") -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode(encoding))))


def test_the_export_runs_as_a_job_and_neutralises_formula_cells(db, world, portal, quiet_spine):
    take(
        db,
        world,
        world.shop_a,
        "=A-1",
        customer={**GOOD["customer"], "name": '=HYPERLINK("http://x")'},
        lines=[
            {"sku": "TEA-1", "quantity": 2, "unit_price_yen": 1200},
            {"sku": "CUP-1", "quantity": 1, "unit_price_yen": 800},
        ],
        notes="+81 に電話",
    )
    take(db, world, world.shop_a, "A-2")
    take(db, world, world.shop_b, "B-SECRET")
    portal.login(world.shop_admin_a)
    url = start(portal)
    assert re.search(r"/s/shop-a/orders/export/[0-9a-f-]{36}$", url)
    page = portal.get(url).get_data(as_text=True)
    assert "注文のCSV出力" in page and 'data-status="queued"' in page
    assert portal.get(f"{url}/download").status_code == 404  # not made yet

    quiet_spine.run()

    state = portal.get(f"{url}/progress.json").get_json()
    assert state["status"] == "done" and state["done"] == state["total"] == 2
    assert state["result_url"] == f"{url}/download"
    assert "2 件の注文を 3 行に出力しました" in state["status_text"]
    download = portal.get(f"{url}/download")
    assert download.status_code == 200 and download.headers["Cache-Control"] == "no-store"
    assert download.data.startswith(b"\xef\xbb\xbf")
    table = read_csv(download.data)
    header, body = table[0], table[1:]
    assert header[0] == "注文番号" and "商品コード" in header
    assert [row[0] for row in body] == ["A-2", "'=A-1", "'=A-1"]
    by = {
        name: header.index(name) for name in ("注文者名", "商品コード", "備考", "お届け先郵便番号")
    }
    first = body[1]
    assert first[by["注文者名"]] == '\'=HYPERLINK("http://x")'
    assert first[by["備考"]] == "'+81 に電話"
    assert first[by["お届け先郵便番号"]] == "100-0001"
    assert [row[by["商品コード"]] for row in body[1:]] == ["TEA-1", "CUP-1"]
    assert b"B-SECRET" not in download.data
    assert "orders.exported" in actions(db, world.shop_a)
    assert "personal_data.exported" not in actions(db, world.shop_a)  # the shop's own user


def test_an_operator_download_is_recorded_and_cp932_is_offered(db, world, portal, quiet_spine):
    take(db, world, world.shop_a, "A-1")
    portal.login(world.operator_a)
    url = start(portal, encoding="cp932", status="released")
    quiet_spine.run()
    download = portal.get(f"{url}/download")
    assert download.status_code == 200
    assert "Shift_JIS" in download.headers["Content-Type"]
    assert read_csv(download.data, "cp932")[1][0] == "A-1"
    with db.tenant_session(world.shop_a.id) as s:
        event = s.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert event.action == "personal_data.exported"
    assert event.payload["actor"]["id"] == str(world.operator_a.id)
    assert event.payload["data"]["rows"] == 1


def test_the_export_follows_the_list_filters(db, world, portal, quiet_spine):
    take(db, world, world.shop_a, "A-OK")
    take(db, world, world.shop_a, "A-HELD", ship_to={**GOOD["ship_to"], "phone": "12"})
    portal.login(world.shop_admin_a)
    url = start(portal, status="on_hold")
    quiet_spine.run()
    body = read_csv(portal.get(f"{url}/download").data)[1:]
    assert [row[0] for row in body] == ["A-HELD"]


def test_shop_b_cannot_see_or_download_shop_a_exports(db, world, portal, quiet_spine):
    take(db, world, world.shop_a, "A-1")
    portal.login(world.shop_admin_a)
    url = start(portal)
    quiet_spine.run()
    portal.logout()
    portal.login(world.shop_admin_b)
    task_path = url.removeprefix("/s/shop-a")
    for suffix in ("", "/progress.json", "/download"):
        assert portal.get(url + suffix).status_code == 404
        assert portal.get("/s/shop-b" + task_path + suffix).status_code == 404
    b_url = start(portal, shop="shop-b")
    quiet_spine.run()
    assert b"A-1" not in portal.get(f"{b_url}/download").data


def test_the_portal_and_the_worker_name_the_export_alike():
    from urakata.portal.shop import order_views
    from urakata.worker import order_jobs

    for name in ("EXPORT_KIND", "EXPORT_JOB", "EXPORT_QUEUE"):
        assert getattr(order_views, name) == getattr(order_jobs, name)
