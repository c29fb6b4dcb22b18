"""Building blocks of the whole-day journeys (tests/browser/test_full_day*.py): one
browser context per person (each logs in once, as people at their own desks do), the
files and payloads the day's outside world sends, and polling a page against a deadline
while a worker job runs.

Machine-to-machine calls (the shop's system with its API key, Shopify's webhook) go over
HTTP from the test with the standard library: no browser sends them.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import io
import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import Browser, Locator, Page, expect

from tests.browser.harness import BrowserPortal, screenshot, submit
from urakata.platform.codes import gtin_check_digit

JOB_TIMEOUT_MS = 60_000  # the relay and the worker are real processes: poll, never sleep
POLL_TIMEOUT_S = 60.0
ACTION_TIMEOUT_MS = 10_000
TOKYO = ZoneInfo("Asia/Tokyo")


def today() -> date:
    """The day in Japan: the day's orders, deposits and labels carry it."""
    return datetime.now(TOKYO).date()


def moments_ago() -> datetime:
    """When the day's orders were placed: a few minutes ago, in Japan."""
    return datetime.now(TOKYO) - timedelta(minutes=5)


def jan(n: int) -> str:
    """A GTIN-13 with a valid check digit, in the 45 (Japan) range."""
    body = f"4512345{n:05d}"
    return body + str(gtin_check_digit(body))


def yamato_number(n: int) -> str:
    """A 12-digit tracking number with Yamato's check digit (the first 11 digits mod 7)."""
    body = 44441375000 + n
    return f"{body}{body % 7}"


@dataclass(frozen=True)
class Product:
    sku: str
    jan: str
    name: str
    price_yen: int
    tax_rate: int
    weight_g: int


@dataclass
class People:
    """One browser context per person, each logged in once; pages by role name."""

    browser: Browser
    portal: BrowserPortal
    pages: dict[str, Page] = field(default_factory=dict)

    def open(self, who: str, *, locale: str = "ja-JP") -> Page:
        context = self.browser.new_context(
            base_url=self.portal.base_url,
            locale=locale,
            viewport={"width": 1280, "height": 900},
        )
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        page = context.new_page()
        self.pages[who] = page
        return page

    def screenshot_all(self, prefix: str) -> None:
        """What every person's page showed when the day stopped (for a failed run)."""
        for who, page in self.pages.items():
            if not page.is_closed():
                screenshot(page, f"{prefix}-{who}")

    def close(self) -> None:
        for page in self.pages.values():
            page.context.close()


def wait_for(page: Page, url: str, check: Callable[[Page], bool], what: str) -> None:
    """Reload ``url`` until ``check(page)`` holds: for work a worker job does behind a page
    without a progress bar (allocation, shipping instructions). Polls against a deadline."""
    deadline = time.monotonic() + POLL_TIMEOUT_S
    while True:
        page.goto(url)
        if check(page):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not seen on {url} within {POLL_TIMEOUT_S:.0f}s")
        page.wait_for_timeout(300)


def wait_for_task(page: Page) -> None:
    """A task page with the progress bar: wait until the job reports done."""
    expect(page.get_by_test_id("task-progress")).to_have_attribute(
        "data-status", "done", timeout=JOB_TIMEOUT_MS
    )


def choose_file(page: Page, selector: str, name: str, data: bytes) -> None:
    page.set_input_files(selector, files=[{"name": name, "mimeType": "text/csv", "buffer": data}])


def press_enter_and_wait(page: Page, locator: Locator) -> None:
    """Enter in a scan field, as a USB scanner sends after the code; the form posts."""
    with page.expect_navigation():
        locator.press("Enter")


# --- what the outside world sends -------------------------------------------------------------


def catalog_csv(products: list[Product]) -> bytes:
    """The shop's product master, as Excel on Windows saves it (CP932, CRLF)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(
        ["商品コード", "JANコード", "商品名", "販売価格", "税率", "温度帯", "重量(g)", "状態"]
    )
    for p in products:
        writer.writerow(
            [p.sku, p.jan, p.name, f"{p.price_yen:,}", p.tax_rate, "常温", p.weight_g, "販売中"]
        )
    return buffer.getvalue().encode("cp932")


GENERIC_HEADER = (
    "注文番号,注文日時,注文者名,注文者カナ,注文者メール,注文者電話,送付先名,送付先郵便番号,"
    "送付先都道府県,送付先市区町村,送付先番地,送付先建物名,送付先電話,お届け希望日,"
    "お届け時間帯,ギフト包装,のし,支払方法,入金状況,送料,手数料,値引き,備考,SKU,商品名,数量,単価"
)


@dataclass(frozen=True)
class CsvOrder:
    number: str
    name: str
    kana: str
    email: str
    postal_code: str
    prefecture: str
    city: str
    street: str
    payment_method: str
    payment_status: str
    lines: tuple[tuple[Product, int], ...]

    @property
    def total_yen(self) -> int:
        return sum(p.price_yen * q for p, q in self.lines)


def orders_csv(orders: list[CsvOrder]) -> bytes:
    """The Urakata order CSV (the template on the import page), one row per line."""
    rows = [GENERIC_HEADER]
    placed = f"{moments_ago():%Y-%m-%d %H:%M}"
    for o in orders:
        for product, quantity in o.lines:
            rows.append(
                ",".join([
                    o.number, placed, o.name, o.kana, o.email, "090-1234-5678",
                    o.name, o.postal_code, o.prefecture, o.city, o.street, "", "090-1234-5678",
                    "", "", "0", "", o.payment_method, o.payment_status, "0", "0", "0", "",
                    product.sku, "", str(quantity), str(product.price_yen),
                ])
            )  # fmt: skip
    return ("\r\n".join(rows) + "\r\n").encode("utf-8")


def shopify_order(number: str, lines: list[tuple[Product, int]]) -> dict:
    """An ``orders/create`` body as Shopify sends it for a card payment."""
    total = sum(p.price_yen * q for p, q in lines)
    taxes: dict[int, int] = {}
    for p, q in lines:
        taxes[p.tax_rate] = taxes.get(p.tax_rate, 0) + p.price_yen * q * p.tax_rate // (
            100 + p.tax_rate
        )
    address = {
        "last_name": "小林", "first_name": "陽菜", "zip": "150-0001", "province_code": "JP-13",
        "province": "Tokyo", "city": "渋谷区", "address1": "神宮前１－２－３", "address2": "",
        "phone": "080-1111-2222",
    }  # fmt: skip
    return {
        "id": 5409990001001,
        "name": number,
        "email": "hina.kobayashi@example.jp",
        "created_at": moments_ago().isoformat(timespec="seconds"),
        "financial_status": "paid",
        "payment_gateway_names": ["shopify_payments"],
        "total_price": str(total),
        "total_discounts": "0",
        "taxes_included": True,
        "tax_lines": [
            {"title": "消費税", "rate": rate / 100, "price": str(yen)}
            for rate, yen in sorted(taxes.items())
        ],
        "note": "",
        "note_attributes": [],
        "shipping_lines": [{"title": "通常配送", "price": "0"}],
        "billing_address": {"last_name": "小林", "first_name": "陽菜", "phone": "080-1111-2222"},
        "shipping_address": address,
        "line_items": [
            {"sku": p.sku, "name": p.name, "quantity": q, "price": f"{p.price_yen}.00"}
            for p, q in lines
        ],
    }


def bank_statement(rows: list[tuple[str, int]]) -> bytes:
    """An internet banking statement: (remitter as the bank prints it, yen) per deposit."""
    lines = ["取引日,摘要,お預入金額,お引出金額,差引残高"]
    balance = 1_000_000
    for remitter, yen in rows:
        balance += yen
        lines.append(f'{today():%Y/%m/%d},振込 {remitter},"{yen:,}",,"{balance:,}"')
    return ("\r\n".join(lines) + "\r\n").encode("cp932")


def issued_labels(numbers: dict[str, str]) -> bytes:
    """B2 Cloud's export of issued labels: shipment label (お客様管理番号) → tracking number."""
    lines = ["お客様管理番号,送り状種類,クール区分,伝票番号,出荷予定日"]
    lines += [f"{label},0,0,{number},{today():%Y/%m/%d}" for label, number in numbers.items()]
    return ("\r\n".join(lines) + "\r\n").encode("cp932")


# --- machine to machine -----------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict


def http_post(url: str, body: bytes, headers: dict[str, str]) -> Answer:
    assert url.startswith("http://127.0.0.1:"), url  # the harness's portal, nothing else
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return Answer(response.status, json.loads(response.read() or b"{}"))
    except urllib.error.HTTPError as exc:
        return Answer(exc.code, json.loads(exc.read() or b"{}"))


def api_post(portal: BrowserPortal, path: str, token: str, payload: dict, key: str) -> Answer:
    """The shop's own system calling the API with its key."""
    return http_post(
        portal.base_url + path,
        json.dumps(payload, ensure_ascii=False).encode(),
        {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Idempotency-Key": key,
        },
    )


def shopify_signature(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def deliver_webhook(portal: BrowserPortal, slug: str, payload: dict, secret: str) -> Answer:
    """Shopify's delivery: the raw body signed with HMAC-SHA256 of the shop's secret."""
    raw = json.dumps(payload, ensure_ascii=False).encode()
    return http_post(
        f"{portal.base_url}/webhooks/shopify/{slug}",
        raw,
        {
            "Content-Type": "application/json",
            "X-Shopify-Topic": "orders/create",
            "X-Shopify-Hmac-Sha256": shopify_signature(raw, secret),
            "X-Shopify-Webhook-Id": "0c6a8f0e-5d7b-4c1e-9a55-2f3d9d0e7a11",
        },
    )


# --- steps more than one journey takes --------------------------------------------------------


def set_up_totp(page: Page, portal: BrowserPortal, email: str) -> None:
    """From the account page: turn on two-factor authentication with the phone's app."""
    page.goto("/account")
    expect(page.get_by_test_id("totp-status")).to_be_visible()
    page.locator('a[href="/login/2fa/setup"]').click()
    secret = page.get_by_test_id("totp-secret").inner_text().strip()
    portal.authenticator.enrol(email, secret)
    page.fill("#code", portal.authenticator.code(email))
    submit(page, "totp-submit")


def order_id_from(page: Page) -> int:
    match = re.search(r"/orders/(\d+)$", page.url)
    assert match, page.url
    return int(match.group(1))
