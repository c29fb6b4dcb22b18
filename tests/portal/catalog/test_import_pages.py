"""CSV import in the portal: checked in the request (mapping, errors by row and column,
nothing written), then imported by a job whose progress the task page follows."""

from __future__ import annotations

import csv
import io
import re
import uuid

import pytest
from sqlalchemy import func, select

from tests.factories import make_user
from urakata.platform import tasks
from urakata.platform.audit import AuditEvent, user_actor
from urakata.platform.codes import gtin_check_digit
from urakata.platform.identity import Role
from urakata.tenants.catalog import csvio
from urakata.tenants.catalog.models import Product
from urakata.tenants.catalog.services import create_product

HEADER = ["商品コード", "JANコード", "商品名", "販売価格", "税率", "温度帯", "バーコード"]


def jan(n: int) -> str:
    body = f"4569951{n:05d}"
    return body + str(gtin_check_digit(body))


def csv_file(rows, encoding="utf-8-sig") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


GOOD = [
    ["TEA-1", jan(1), "深蒸し煎茶 100g", "1200", "8", "常温", "T1"],
    ["TEA-2", jan(2), "水出し緑茶 ボトル", "480", "8", "冷蔵", ""],
    ["CUP-1", "", "湯呑み 有田焼", "3,300", "10", "常温", "C1,C1B"],
]


def upload(portal, data: bytes, action="import", shop="shop-a", name="商品.csv", **extra):
    return portal.post_form(
        f"/s/{shop}/products/import",
        {
            "file": (io.BytesIO(data), name),
            "action": action,
            "update_existing": "y",
            **extra,
        },
        form_url=f"/s/{shop}/products/import",
        content_type="multipart/form-data",
    )


def count(db, shop) -> int:
    with db.tenant_session(shop.id) as s:
        return s.scalar(select(func.count()).select_from(Product))


@pytest.fixture
def quiet_spine(spine):
    spine.run()  # the world's own jobs (welcome mails)
    return spine


def test_a_check_shows_the_mapping_and_each_error_by_row_and_column(db, world, portal):
    portal.login(world.shop_admin_a)
    bad = [*GOOD, ["TEA-1", jan(9)[:-1] + "0", "重複", "-1", "5", "常温", ""]]
    response = upload(portal, csv_file(bad), action="check")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    mapping = re.findall(r'data-testid="mapping-row" data-field="([^"]*)"', html)
    assert mapping == [
        "sku",
        "jan",
        "name",
        "price_yen",
        "tax_rate",
        "temperature_zone",
        "barcodes",
    ]
    problems = re.findall(
        r'data-testid="import-error" data-row="(\d+)" data-column="([^"]*)"', html
    )
    assert problems == [
        ("5", "商品コード"),
        ("5", "JANコード"),
        ("5", "販売価格"),
        ("5", "税率"),
    ]
    assert "row 2" in html or "2 行目" in html  # the duplicate names the first row
    assert count(db, world.shop_a) == 0
    with db.tenant_session(world.shop_a.id) as s:
        assert tasks.list_tasks(s, kinds={csvio.IMPORT_KIND}) == []


def test_import_with_errors_starts_nothing(db, world, portal):
    portal.login(world.operator_a)
    response = upload(portal, csv_file([*GOOD, ["X-1", "", "", "1", "", "", ""]]))
    assert response.status_code == 422
    assert 'data-row="5" data-column="商品名"' in response.get_data(as_text=True)
    with db.tenant_session(world.shop_a.id) as s:
        assert tasks.list_tasks(s, kinds={csvio.IMPORT_KIND}) == []


def test_a_file_in_another_encoding_is_refused_on_the_page(world, portal):
    portal.login(world.shop_admin_a)
    response = upload(portal, "商品コード,商品名,販売価格\nA,緑茶,1\n".encode("utf-16"))
    assert response.status_code == 422
    assert 'class="field-error"' in response.get_data(as_text=True)


def test_a_clean_check_shows_what_would_happen(db, world, portal):
    portal.login(world.shop_admin_a)
    response = upload(portal, csv_file(GOOD, encoding="cp932"), action="check")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'data-testid="import-check" data-ok="true"' in html and "cp932" in html
    assert 'data-testid="import-summary"' in html
    assert count(db, world.shop_a) == 0


def test_a_clean_file_is_imported_by_a_job_with_progress(db, world, portal, quiet_spine):
    with db.tenant_session(world.shop_a.id) as s:
        create_product(
            s,
            actor=user_actor(world.agency_admin),
            data={"sku": "TEA-1", "name": "旧名", "price_yen": 1000},
        )
    portal.login(world.shop_admin_a)
    started = upload(portal, csv_file(GOOD))
    assert started.status_code == 303, started.get_data(as_text=True)[:2000]
    url = started.headers["Location"]
    task_id = uuid.UUID(re.search(r"/products/import/([0-9a-f-]{36})$", url).group(1))
    page = portal.get(url).get_data(as_text=True)
    assert f'data-progress-url="{url}/progress.json"' in page and 'data-status="queued"' in page
    assert re.search(r"<script(?![^>]*\bsrc=)", page) is None  # CSP: no inline scripts
    with db.tenant_session(world.shop_a.id) as s:
        task = tasks.get_task(s, task_id)
        assert task.result["upload"]["filename"] == "商品.csv"
        assert "深蒸し煎茶" in task.result["upload"]["text"]
    waiting = portal.get(f"{url}/progress.json").get_json()
    assert (waiting["status"], waiting["result_url"]) == ("queued", None)

    quiet_spine.run()

    state = portal.get(f"{url}/progress.json")
    assert state.headers["Cache-Control"] == "no-store"
    done = state.get_json()
    assert done["status"] == "done" and done["done"] == done["total"] == 6
    assert done["percent"] == 100 and done["result_url"] == "/s/shop-a/products"
    page = portal.get(url).get_data(as_text=True)
    assert 'data-testid="import-result"' in page and 'data-status="done"' in page
    with db.tenant_session(world.shop_a.id) as s:
        task = tasks.get_task(s, task_id)
        assert "upload" not in task.result  # the file is gone with the job
        assert (task.result["created"], task.result["updated"]) == (2, 1)
        skus = s.scalars(select(Product.sku).order_by(Product.sku)).all()
        actions = s.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)).all()
    assert skus == ["CUP-1", "TEA-1", "TEA-2"]
    assert actions[-5:] == [
        "task.started",
        "product.imported",
        "product.imported",
        "product.imported",
        "catalog.imported",
    ]
    listing = portal.get("/s/shop-a/products").get_data(as_text=True)
    assert listing.count('data-testid="product-row"') == 3
    history = portal.get("/s/shop-a/products/import").get_data(as_text=True)
    assert str(task_id) in history


def test_the_job_checks_again_and_imports_nothing_when_the_shop_changed(
    db, world, portal, quiet_spine
):
    portal.login(world.shop_admin_a)
    url = upload(portal, csv_file(GOOD)).headers["Location"]
    with db.tenant_session(world.shop_a.id) as s:  # meanwhile, through the API or the portal
        create_product(
            s,
            actor=user_actor(world.agency_admin),
            data={"sku": "OTHER", "name": "別商品", "price_yen": 1, "jan": jan(2)},
        )

    quiet_spine.run()

    state = portal.get(f"{url}/progress.json").get_json()
    assert state["status"] == "failed" and state["result_url"] is None
    page = portal.get(url).get_data(as_text=True)
    assert 'data-testid="import-failed"' in page
    assert 'data-row="3" data-column="JANコード"' in page
    assert count(db, world.shop_a) == 1


def test_a_second_import_goes_to_the_one_under_way(world, portal):
    portal.login(world.shop_admin_a)
    first = upload(portal, csv_file(GOOD)).headers["Location"]
    second = upload(portal, csv_file(GOOD))
    assert second.status_code == 303 and second.headers["Location"] == first


def test_another_shop_cannot_see_or_start_shop_as_import(db, world, portal):
    portal.login(world.shop_admin_a)
    url = upload(portal, csv_file(GOOD)).headers["Location"]
    task_id = url.rsplit("/", 1)[1]
    portal.logout()
    portal.login(world.shop_admin_b)
    for path in (
        url,
        f"{url}/progress.json",
        f"/s/shop-b/products/import/{task_id}",
        f"/s/shop-b/products/import/{task_id}/progress.json",
        f"/s/shop-b/products/import?before={task_id}",
    ):
        assert portal.get(path).status_code == 404, path
    refused = upload(portal, csv_file(GOOD), shop="shop-a")
    assert refused.status_code == 404
    mine = portal.get("/s/shop-b/products/import").get_data(as_text=True)
    assert task_id not in mine


def test_other_task_kinds_are_not_import_pages(db, world, portal):
    with db.tenant_session(world.shop_a.id) as s:
        task = tasks.start_task(
            s,
            kind=tasks.VERIFY_CHAIN,
            actor=user_actor(world.agency_admin),
            job=tasks.VERIFY_CHAIN_JOB,
            queue=tasks.VERIFY_CHAIN_QUEUE,
        )
    portal.login(world.shop_admin_a)
    assert portal.get(f"/s/shop-a/products/import/{task.id}").status_code == 404


def test_shop_staff_may_not_import(db, world, portal):
    portal.login(make_user(db, Role.shop_staff, world.shop_a))
    assert portal.get("/s/shop-a/products/import").status_code == 403
    response = portal.post_form(
        "/s/shop-a/products/import",
        {"file": (io.BytesIO(csv_file(GOOD)), "a.csv"), "action": "import"},
        form_url="/account",
        content_type="multipart/form-data",
    )
    assert response.status_code == 403
