"""The stock list as CSV: a job with progress, one row per bin and lot, cells that look like
formulas neutralised, the file for the shop's own download page only."""

from __future__ import annotations

import csv
import io
import re

import pytest

from tests.tenants.stock.conftest import ADMIN, PICK_1, RESERVE_1, line, put_away
from urakata.portal.shop import stock_views
from urakata.tenants.catalog.services import create_product
from urakata.worker import stock_jobs


def test_the_portal_and_the_worker_agree_on_the_exports_names():
    assert (stock_views.EXPORT_KIND, stock_views.EXPORT_JOB, stock_views.EXPORT_QUEUE) == (
        stock_jobs.EXPORT_KIND,
        stock_jobs.EXPORT_JOB,
        stock_jobs.EXPORT_QUEUE,
    )


def _export(portal, data=None) -> str:
    answer = portal.post_form(
        "/s/shop-a/stock/export", {"encoding": "utf-8", **(data or {})}, form_url="/s/shop-a/stock"
    )
    assert answer.status_code == 303
    return answer.headers["Location"]


def test_the_export_writes_a_row_per_bin_and_lot_and_neutralises_formulas(
    db, world, portal, shop_a, spine
):
    with db.tenant_session(shop_a.id) as s:
        create_product(
            s,
            actor=ADMIN,
            data={"sku": "EVIL-1", "name": '=HYPERLINK("x")', "price_yen": 1, "status": "active"},
        )
    put_away(
        db, shop_a, line("CUP-1", 3, PICK_1), line("CUP-1", 7, RESERVE_1), line("EVIL-1", 1, PICK_1)
    )
    portal.login(world.shop_admin_a)
    page_url = _export(portal)
    spine.run()
    page = portal.get(page_url).get_data(as_text=True)
    assert 'data-testid="export-result"' in page
    download = re.search(r'href="(/s/shop-a/stock/export/[^"]+/download)"', page).group(1)
    answer = portal.get(download)
    assert answer.headers["Content-Type"] == "text/csv; charset=utf-8"
    table = list(csv.reader(io.StringIO(answer.get_data(as_text=True).lstrip("\ufeff"))))
    assert table[0][:3] == ["商品コード", "商品名", "商品ステータス"]
    body = {(r[0], r[6]): r for r in table[1:]}
    assert set(body) == {
        ("CUP-1", PICK_1),
        ("CUP-1", RESERVE_1),
        ("EVIL-1", PICK_1),
        ("POT-1", ""),
        ("TEA-100", ""),
    }
    assert body[("CUP-1", RESERVE_1)][10:13] == ["7", "0", "7"]
    assert body[("CUP-1", RESERVE_1)][3] == "10"  # the SKU's total on every row
    assert body[("EVIL-1", PICK_1)][1] == '\'=HYPERLINK("x")'


def test_another_shop_cannot_see_or_download_the_export(db, world, portal, shop_a, spine):
    portal.login(world.shop_admin_a)
    page_url = _export(portal, {"q": "CUP", "in_stock": "1"})
    spine.run()
    portal.logout()
    portal.login(world.shop_admin_b)
    for url in (page_url, page_url + "/progress.json", page_url + "/download"):
        assert portal.get(url).status_code == 404
        assert portal.get(url.replace("/s/shop-a/", "/s/shop-b/")).status_code == 404


def test_a_failed_export_shows_on_its_page(db, world, portal, shop_a, spine, monkeypatch):
    from urakata.platform import tasks
    from urakata.tenants.stock import levels
    from urakata.worker.runtime import run

    portal.login(world.shop_admin_a)
    page_url = _export(portal)
    task_id = page_url.rsplit("/", 1)[1]

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(levels, "stock_list", broken)
    args = {"task_id": task_id, "encoding": "utf-8", "query": "", "in_stock_only": False}
    with pytest.raises(RuntimeError):
        run("stock.export_csv", str(shop_a.id), None, None, args)  # its last attempt
    with db.tenant_session(shop_a.id) as s:
        task = tasks.get_task(s, task_id)
        assert (task.status, task.message) == ("failed", "RuntimeError")
    assert 'data-testid="export-failed"' in portal.get(page_url).get_data(as_text=True)
