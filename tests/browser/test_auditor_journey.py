"""An auditor in Chromium: searches shop A's ledger, opens an event and sees its before and
after, verifies the chain up to the latest signed checkpoint, and downloads an export that
the standalone ``urakata-verify`` command accepts with the agency's public key."""

from __future__ import annotations

import os
import re
import tempfile

import pytest
from playwright.sync_api import Page, expect

from tests.browser.harness import BrowserPortal, login, screenshot, submit, urakata_verify
from urakata.platform import audit, checkpoints, exports
from urakata.platform.audit import Actor
from urakata.platform.config import Settings
from urakata.platform.db import Database

pytestmark = pytest.mark.browser

CLERK = Actor(type="user", id="journey-clerk", label="受注担当 佐藤", request_id="r-aj")
# The worker process the harness starts inherits the environment: it signs with this key
# and publishes checkpoints to a throwaway directory (set before any fixture starts it).
os.environ.setdefault(
    "LEDGER_SIGNING_KEY", checkpoints.Signer.generate().private_key.private_bytes_raw().hex()
)
os.environ.setdefault("LEDGER_CHECKPOINT_DIR", tempfile.mkdtemp(prefix="urakata-cp-journey-"))
SIGNER = checkpoints.Signer.from_text(os.environ["LEDGER_SIGNING_KEY"])


def _settings(app_url: str) -> Settings:
    return Settings.from_env({**os.environ, "DATABASE_URL": app_url, "URAKATA_MODE": "test"})


def _seed(app_url: str, world) -> None:
    """Shop A: an order whose address changed, and a signed checkpoint; shop B: its own."""
    signer = checkpoints.Signer.from_settings(
        Settings.from_env({**os.environ, "DATABASE_URL": app_url, "URAKATA_MODE": "test"})
    )
    db = Database.from_url(app_url)
    try:
        with db.tenant_session(world.shop_a.id) as s:
            audit.record(
                s,
                CLERK,
                "order.address_changed",
                object_type="order",
                object_id="AJ-1001",
                changes={"prefecture": ("大阪府", "京都府")},
            )
            checkpoints.make_checkpoint(s, signer, os.environ["LEDGER_CHECKPOINT_DIR"])
        with db.tenant_session(world.shop_b.id) as s:
            audit.record(s, CLERK, "order.confirmed", object_type="order", object_id="BJ-2002")
    finally:
        db.dispose()


def _wait_done(page: Page) -> None:
    expect(page.get_by_test_id("task-progress")).to_have_attribute(
        "data-status", "done", timeout=60_000
    )


def test_auditor_searches_opens_verifies_and_exports(
    page: Page, portal_server: BrowserPortal, browser_database: str, tmp_path
):
    world = portal_server.world
    _seed(browser_database, world)
    login(page, portal_server, world.auditor.email)

    page.goto("/audit/")
    page.locator(f'a[href="/audit/{world.shop_a.slug}/events"]').click()
    page.get_by_test_id("search-q").fill("京都府")
    submit(page, "search-submit")
    rows = page.get_by_test_id("audit-event-row")
    expect(rows).to_have_count(1)
    expect(page.get_by_test_id("audit-events")).not_to_contain_text("BJ-2002")
    screenshot(page, "auditor-search")

    with page.expect_navigation():
        rows.first.get_by_test_id("event-link").click()
    changes = page.get_by_test_id("change-row")
    expect(changes).to_have_count(1)
    expect(changes.first).to_contain_text("大阪府")
    expect(changes.first).to_contain_text("京都府")
    screenshot(page, "auditor-event")

    page.goto(f"/audit/{world.shop_a.slug}/events")
    submit(page, "verify-button")
    expect(page).to_have_url(re.compile(r"/tasks/[0-9a-f-]+$"))
    _wait_done(page)
    page.reload()
    expect(page.get_by_test_id("verdict-ok")).to_be_visible()
    expect(page.get_by_test_id("verdict-ok")).to_contain_text(SIGNER.key_id)
    screenshot(page, "auditor-verified")

    page.goto(f"/audit/{world.shop_a.slug}/events")
    submit(page, "export-button")
    _wait_done(page)
    page.reload()
    with page.expect_download() as download_info:
        page.get_by_test_id("export-download").click()
    export = tmp_path / "ledger.jsonl"
    download_info.value.save_as(export)
    screenshot(page, "auditor-export")

    printed = urakata_verify(export, checkpoints.public_key_pem(SIGNER.public_raw))
    assert printed.startswith(f"ok: chain {world.shop_a.id}"), printed
    assert b"BJ-2002" not in export.read_bytes()
    task_id = re.search(r"/tasks/([0-9a-f-]+)", page.url).group(1)
    exports.export_path(_settings(browser_database).files_dir, world.shop_a.id, task_id).unlink(
        missing_ok=True
    )
