"""Accessibility in Chromium: axe-core (the npm package, pinned in package-lock.json and
installed by ``npm ci``) is injected into the pages people work in all day — the login
page (Japanese and English), the order list, an order, the scan station, the stock list
and the auditor's ledger search — and into every page of the portal's route map that an
operator, an agency admin, a shop admin and an auditor may open; any *serious* or
*critical* finding fails the test. All findings land in ``var/e2e/a11y-axe.json``.

Beside axe: every page has a title, one ``<main>``, a labelled ``<nav>`` and one ``<h1>``;
every Tab stop shows a visible focus indicator; the first one skips the menus; and the
scan station works with the keyboard alone (Tab to the field, type the code, Enter
records it, the focus comes back).
The agency admin's header is photographed at tablet and desktop width
(``var/e2e/a11y-nav-800.png``, ``var/e2e/a11y-nav-1280.png``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.harness import SCREENSHOT_DIR, BrowserPortal, login, screenshot, submit
from urakata.platform.audit import Actor
from urakata.platform.config import Settings
from urakata.platform.db import Database
from urakata.platform.locations import create_locations
from urakata.tenants.catalog.services import create_product
from urakata.tenants.fulfilment import services as fulfilment
from urakata.tenants.fulfilment.waves import create_wave
from urakata.tenants.orders import services as orders
from urakata.tenants.stock.allocation import allocate_order
from urakata.tenants.stock.bins import assign_bins
from urakata.tenants.stock.receipts import receive

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")
ACTION_TIMEOUT_MS = 10_000  # as the harness's own pages
ACTOR = Actor(type="system", label="accessibility checks")
FINDINGS = SCREENSHOT_DIR / "a11y-axe.json"  # every finding of every page, for reading
SWEEP_SKIP = {"static", "auth.logout", "ops.healthz", "ops.readyz"}
FOCUSABLE = (
    "a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]),"
    " select:not([disabled]), textarea:not([disabled]), summary, [tabindex]:not([tabindex='-1'])"
)
FOCUS_STYLE_JS = """el => {
  const s = getComputedStyle(el);
  const visible = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0;
  return [visible ? `${s.outlineStyle} ${s.outlineWidth} ${s.outlineColor}` : 'none',
          s.boxShadow, s.borderColor, s.backgroundColor, s.textDecorationLine].join(' | ');
}"""


@dataclass(frozen=True)
class Seeded:
    """What the pages under test show: an order in a wave, its shipment, its items."""

    order_id: int
    wave_id: int
    shipment_id: int
    shipment_label: str
    jan: str
    sku: str
    product_id: int


def _seed(app_url: str, shop_id) -> Seeded:
    """Bins, a product with a JAN, stock, an order for two pieces, allocated, instructed
    and put in a wave: the order page, the stock list and the scan station have content."""
    tag = uuid.uuid4().hex[:6].upper()
    sku, jan = f"A11Y-{tag}", _jan(f"459{uuid.uuid4().int % 10**9:09d}")
    db = Database.from_url(app_url)
    try:
        with db.platform_session() as s:
            made = create_locations(
                s,
                actor=ACTOR,
                data={"zone": "Y", "aisle": "11", "shelf": "01", "bin": "1", "kind": "pick_face"},
            )
            codes = [m.code for m in made]
        with db.tenant_session(shop_id) as s:
            assign_bins(s, actor=ACTOR, codes=codes)
            product_id = create_product(
                s,
                actor=ACTOR,
                data={
                    "sku": sku,
                    "name": "有田焼 小皿 白磁",
                    "price_yen": 1_320,
                    "status": "active",
                    "jan": jan,
                },
            ).id
        with db.tenant_session(shop_id) as s:
            receive(
                s,
                actor=ACTOR,
                data={
                    "key": f"a11y-{tag}",
                    "reference": f"IN-{tag}",
                    "lines": [{"sku": sku, "quantity": 12, "location": codes[0]}],
                },
            )
        with db.tenant_session(shop_id) as s:
            order = orders.intake(
                s, actor=ACTOR, data=_order_body(f"#A11Y-{tag}", sku), channel="api"
            )
            order_id = order.id
        with db.tenant_session(shop_id) as s:
            allocate_order(s, actor=ACTOR, order_id=order_id)
        with db.tenant_session(shop_id) as s:
            shipment = fulfilment.instruct_order(s, actor=ACTOR, order_id=order_id)[0]
            shipment_id, label = shipment.id, shipment.label
        with db.tenant_session(shop_id) as s:
            wave, _ = create_wave(s, actor=ACTOR, shipment_ids=[shipment_id], request_key=tag)
            wave_id = wave.id
        return Seeded(order_id, wave_id, shipment_id, label, jan, sku, product_id)
    finally:
        db.dispose()


def _jan(first12: str) -> str:
    """An EAN-13 (JAN) code: the twelve digits and their check digit."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return first12 + str((10 - total % 10) % 10)


def _order_body(number: str, sku: str) -> dict:
    return {
        "external_id": number,
        "customer": {"name": "佐藤 美咲", "email": "misaki@example.jp"},
        "ship_to": {
            "name": "佐藤 美咲",
            "postal_code": "150-0001",
            "prefecture": "東京都",
            "city": "渋谷区",
            "street": "神宮前1-2-3",
            "phone": "090-3333-4444",
        },
        "lines": [{"sku": sku, "quantity": 2, "unit_price_yen": 1_320}],
        "payment_method": "card",
        "payment_status": "authorized",
    }


@pytest.fixture(scope="module")
def seeded(portal_server: BrowserPortal, browser_database: str) -> Seeded:
    return _seed(browser_database, portal_server.world.shop_a.id)


@pytest.fixture(scope="module")
def findings() -> Iterator[dict[str, dict]]:
    """Every axe finding by page, written to var/e2e/a11y-axe.json when the module ends."""
    collected: dict[str, dict] = {}
    yield collected
    FINDINGS.parent.mkdir(parents=True, exist_ok=True)
    FINDINGS.write_text(json.dumps(collected, ensure_ascii=False, indent=1))


def _new_page(browser: Browser, portal: BrowserPortal, locale: str = "ja-JP", width=1280) -> Page:
    # axe is injected as a script tag, which the portal's Content-Security-Policy refuses.
    context = browser.new_context(
        base_url=portal.base_url,
        locale=locale,
        viewport={"width": width, "height": 900},
        bypass_csp=True,
    )
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    return context.new_page()


@pytest.fixture(scope="module")
def signed_in(browser: Browser, portal_server: BrowserPortal) -> Iterator[Callable[[str], Page]]:
    """A logged-in page per e-mail, made on first use and kept for the module: agency
    staff log in with a TOTP code, and a second login waits for the next 30-second step."""
    pages: dict[str, Page] = {}

    def page_of(email: str) -> Page:
        if email not in pages:
            pages[email] = _new_page(browser, portal_server)
            login(pages[email], portal_server, email)
        return pages[email]

    yield page_of
    for page in pages.values():
        page.context.close()


@pytest.fixture(scope="module")
def operator_page(signed_in, portal_server: BrowserPortal) -> Page:
    return signed_in(portal_server.world.operator_a.email)


@pytest.fixture
def anonymous_page(browser: Browser, portal_server: BrowserPortal) -> Iterator[Page]:
    page = _new_page(browser, portal_server)
    yield page
    page.context.close()


def run_axe(page: Page, name: str, findings: dict[str, dict]) -> list[dict]:
    """Inject axe-core, run it on the whole page; return the violations (all impacts).

    ``findings`` keeps them by page, with the rules axe could not decide ("incomplete",
    e.g. contrast over a gradient) and the number of rules passed, for a person to read."""
    if not AXE.exists():
        pytest.fail(
            f"{AXE.relative_to(ROOT)} is missing: run `npm ci` at the repository root"
            " (it installs the axe-core version pinned in package-lock.json)",
            pytrace=False,
        )
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "async () => await axe.run(document, {resultTypes: ['violations', 'incomplete']})"
    )
    violations = [_finding(v) for v in result["violations"]]
    assert result["passes"], f"axe checked nothing on {page.url}"
    findings[name] = {
        "url": page.url,
        "violations": violations,
        "incomplete": [_finding(v) for v in result["incomplete"]],
        "rules_passed": len(result["passes"]),
    }
    return violations


def _finding(rule: dict) -> dict:
    return {
        "id": rule["id"],
        "impact": rule["impact"],
        "help": rule["help"],
        "targets": [", ".join(map(str, n["target"])) for n in rule["nodes"]],
        "why": sorted(
            {c["message"] for n in rule["nodes"] for c in n["any"] + n["all"] + n["none"]}
        )[:5],
    }


def blocking(violations: list[dict]) -> str:
    """The serious and critical findings, one readable line per rule (empty: none)."""
    lines = []
    for v in violations:
        if v["impact"] in BLOCKING:
            shown = "; ".join(v["targets"][:6]) + (" …" if len(v["targets"]) > 6 else "")
            lines.append(f"  [{v['impact']}] {v['id']}: {v['help']} — {shown}")
    return "\n".join(lines)


def check_page(page: Page, name: str, findings: dict[str, dict]) -> None:
    """axe without serious or critical findings, and the page's landmarks."""
    problems = blocking(run_axe(page, name, findings))
    assert not problems, f"axe on {name} ({page.url}):\n{problems}"
    check_landmarks(page)


def check_landmarks(page: Page) -> None:
    title = page.title()
    assert title.strip() and not title.startswith(" ·"), f"{page.url}: empty title {title!r}"
    expect(page.locator("main")).to_have_count(1)
    expect(page.locator("h1")).to_have_count(1)
    labelled = page.locator("nav[aria-label]").evaluate_all(
        "navs => navs.filter(n => n.getAttribute('aria-label').trim()).length"
    )
    assert labelled >= 1, f"{page.url}: no <nav> with an aria-label"


def test_login_page_in_japanese_and_english(anonymous_page: Page, findings: dict[str, dict]):
    page = anonymous_page
    page.goto("/login")
    expect(page.locator("html[lang=ja]")).to_have_count(1)
    check_page(page, "login-ja", findings)
    screenshot(page, "a11y-login-ja")
    page.fill("#email", "nobody@example.jp")  # the refused state: message and field errors
    submit(page, "login-submit")
    expect(page.locator(".field-error").first).to_be_visible()
    expect(page.locator("#password")).to_be_focused()  # the field to correct, not the first
    check_page(page, "login-ja-refused", findings)
    screenshot(page, "a11y-login-ja-refused")
    with page.expect_navigation():
        page.locator("header form button[lang=en]").click()
    expect(page.locator("html[lang=en]")).to_have_count(1)
    check_page(page, "login-en", findings)


def test_axe_reports_what_these_checks_fail_on(anonymous_page: Page, findings: dict[str, dict]):
    """The control: an unlabelled field and an empty button on the login page are found."""
    page = anonymous_page
    page.goto("/login")
    page.evaluate(
        """() => document.querySelector('main form').insertAdjacentHTML('beforeend',
          '<input type="text" name="stray"><button type="button"></button>')"""
    )
    found = blocking(run_axe(page, "control", findings))
    findings.pop("control")
    assert "label:" in found and "button-name:" in found, found


def test_every_tab_stop_on_the_login_page_shows_focus(anonymous_page: Page):
    assert_tab_stops_show_focus(anonymous_page, "/login")


def assert_tab_stops_show_focus(page: Page, path: str) -> None:
    """Tab through the page: each element that takes the focus must look different from
    itself unfocused (outline, box shadow, border, background or underline)."""
    page.goto(path)
    _focus_top(page)
    stops = page.locator(FOCUSABLE).count()
    assert stops > 3, f"{path}: only {stops} focusable elements"
    unfocused = page.locator(FOCUSABLE).evaluate_all(
        f"els => els.map(el => ({FOCUS_STYLE_JS})(el))"
    )
    seen, invisible = 0, []
    for _ in range(stops):
        page.keyboard.press("Tab")
        index = page.evaluate(
            f"() => [...document.querySelectorAll({json.dumps(FOCUSABLE)})]"
            ".indexOf(document.activeElement)"
        )
        if index < 0:
            break  # left the page's focusable elements (browser chrome)
        seen += 1
        focused = page.evaluate(f"() => ({FOCUS_STYLE_JS})(document.activeElement)")
        if focused == unfocused[index]:
            invisible.append(page.evaluate("() => document.activeElement.outerHTML.slice(0, 120)"))
    assert seen > 3, f"{path}: Tab reached only {seen} elements"
    assert not invisible, f"{path}: no visible focus on:\n" + "\n".join(invisible)


def test_operator_pages_have_no_serious_axe_findings(
    operator_page: Page,
    portal_server: BrowserPortal,
    seeded: Seeded,
    findings: dict[str, dict],
):
    page, slug = operator_page, portal_server.world.shop_a.slug
    pages = {
        "order-list": f"/s/{slug}/orders",
        "order": f"/s/{slug}/orders/{seeded.order_id}",
        "stock-list": f"/s/{slug}/stock",
        "scan-station": f"/s/{slug}/waves/{seeded.wave_id}/scan",
        "scan-station-shipment": (
            f"/s/{slug}/waves/{seeded.wave_id}/scan?shipment={seeded.shipment_id}"
        ),
    }
    for name, path in pages.items():
        response = page.goto(path)
        assert response.ok, f"{path}: {response.status}"
        check_page(page, name, findings)
        screenshot(page, f"a11y-{name}")


@pytest.fixture(scope="module")
def sweep_paths(portal_server: BrowserPortal, browser_database: str, seeded: Seeded) -> list[str]:
    """Every GET page of the portal the sweep can fill: shop A's, the agency's, the
    seeded order, product, wave and shipment's, shop A's ledger (the portal's own route map, so a
    new page joins the sweep by itself)."""
    from urakata.portal import create_app

    slug = portal_server.world.shop_a.slug
    fillers = {
        "shop": slug,
        "chain": slug,
        "seq": 1,
        "order_id": seeded.order_id,
        "wave_id": seeded.wave_id,
        "shipment_id": seeded.shipment_id,
        "product_id": seeded.product_id,
    }
    app = create_app(Settings(mode="test", secret_key="sweep", database_url=browser_database))
    try:
        paths = set()
        for rule in app.url_map.iter_rules():
            if "GET" not in rule.methods or rule.endpoint in SWEEP_SKIP:
                continue
            if not set(rule.arguments) <= set(fillers):
                continue
            path = rule.build({k: fillers[k] for k in rule.arguments}, append_unknown=False)[1]
            if "." not in path.rsplit("/", 1)[-1]:  # not a file (CSV template, PDF, …)
                paths.add(path)
        return sorted(paths)
    finally:
        app.extensions["urakata.db"].dispose()


@pytest.mark.parametrize(
    ("role", "at_least"),
    [("operator_a", 30), ("onboarder", 30), ("shop_admin_a", 20), ("auditor", 3)],
)
def test_every_page_of_a_role_has_no_serious_axe_findings(
    role: str,
    at_least: int,
    signed_in,
    portal_server: BrowserPortal,
    sweep_paths: list[str],
    findings: dict[str, dict],
):
    """Each role opens every page of the sweep; those it may see (200, HTML) go to axe."""
    user = portal_server.onboarder if role == "onboarder" else getattr(portal_server.world, role)
    page = signed_in(user.email)
    problems, checked, seen = [], 0, set()
    for path in sweep_paths:
        probe = page.request.get(path)  # the context's cookies, without rendering
        if not probe.ok or "text/html" not in probe.headers.get("content-type", ""):
            continue  # not a page of this role (403/404), or a file
        if probe.url in seen:
            continue  # a redirect to a page already checked
        seen.add(probe.url)
        page.goto(path)
        checked += 1
        found = blocking(run_axe(page, f"{role} {path}", findings))
        if found:
            problems.append(f"{path}:\n{found}")
    assert checked >= at_least, f"{role} opened only {checked} pages"
    assert not problems, "axe found serious or critical problems:\n" + "\n".join(problems)


def test_scan_station_works_with_the_keyboard_alone(
    operator_page: Page, portal_server: BrowserPortal, seeded: Seeded
):
    page, slug = operator_page, portal_server.world.shop_a.slug
    page.goto(f"/s/{slug}/waves/{seeded.wave_id}/scan")
    field = page.get_by_test_id("scan-input")
    _tab_to(page, "scan-input")
    with page.expect_navigation():  # the label takes the shipment up
        page.keyboard.type(seeded.shipment_label)
        page.keyboard.press("Enter")
    expect(page.get_by_test_id("scan-station")).to_have_attribute(
        "data-shipment", str(seeded.shipment_id)
    )
    expect(field).to_be_focused()  # the next scan needs no click
    page.keyboard.type(seeded.jan)
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("scan-message")).to_have_attribute("data-outcome", "ok")
    row = page.locator(f'[data-testid="scan-line"][data-sku="{seeded.sku}"]')
    expect(row.locator("[data-line-scanned]")).to_have_text("1")
    expect(field).to_be_focused()
    expect(field).to_have_value("")
    screenshot(page, "a11y-scan-keyboard")
    assert_tab_stops_show_focus(
        page, f"/s/{slug}/waves/{seeded.wave_id}/scan?shipment={seeded.shipment_id}"
    )


def test_the_first_tab_stop_skips_the_menus(operator_page: Page, portal_server: BrowserPortal):
    """Keyboard users skip the header's dozen links: the first Tab shows "skip to
    content", Enter on it, and the next Tab lands in the page's own content."""
    page = operator_page
    page.goto(f"/s/{portal_server.world.shop_a.slug}/orders")
    _focus_top(page)
    page.keyboard.press("Tab")
    skip = page.locator("a.skip-link")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    inside = page.evaluate("() => document.activeElement.closest('main') !== null")
    assert inside, page.evaluate("() => document.activeElement.outerHTML.slice(0, 120)")


def _focus_top(page: Page) -> None:
    """Put the keyboard's starting point at the top of the page, as on a fresh visit
    without autofocus: a focused marker before everything else (Tab leaves it)."""
    page.evaluate(
        """() => {
      const start = document.createElement('span');
      start.tabIndex = -1;
      document.body.prepend(start);
      start.focus();
    }"""
    )


def _tab_to(page: Page, testid: str, limit: int = 60) -> None:
    """From nothing focused, press Tab until the element has the focus."""
    _focus_top(page)
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"() => document.activeElement?.dataset.testid === {json.dumps(testid)}"):
            return
    raise AssertionError(f"{limit} Tab presses never reached [data-testid={testid}]")


def test_auditor_search_has_no_serious_axe_findings(
    anonymous_page: Page,
    portal_server: BrowserPortal,
    seeded: Seeded,
    findings: dict[str, dict],
):
    page = anonymous_page
    login(page, portal_server, portal_server.world.auditor.email)
    page.goto(f"/audit/{portal_server.world.shop_a.slug}/events?q={seeded.sku}")
    expect(page.get_by_test_id("audit-event-row").first).to_be_visible()
    check_page(page, "auditor-search", findings)
    screenshot(page, "a11y-auditor-search")


def test_agency_admin_nav_groups_the_links_at_tablet_width(
    signed_in, portal_server: BrowserPortal, findings: dict[str, dict]
):
    """Agency admins have the most links: at 800 px the menu takes at most two rows with
    no label broken over lines, the grouped links open from their menus, and axe finds
    nothing serious with a menu open."""
    page = signed_in(portal_server.onboarder.email)
    try:
        page.goto("/agency/shops")
        header = page.locator("body > header")
        for width in (800, 1280):
            page.set_viewport_size({"width": width, "height": 900})
            header.screenshot(path=str(SCREENSHOT_DIR / f"a11y-nav-{width}.png"))
        page.set_viewport_size({"width": 800, "height": 900})
        rows, broken = _menu_layout(page)
        assert rows <= 2, f"the menu takes {rows} rows at 800 px wide"
        assert not broken, f"labels broken over lines at 800 px wide: {broken}"
        for testid in ("nav-waves", "nav-inbound", "nav-shipping", "nav-payment-desk"):
            expect(page.get_by_test_id(testid)).to_be_visible()
        page.get_by_test_id("nav-inventory").locator("summary").click()
        expect(page.get_by_test_id("nav-stock")).to_be_visible()
        expect(page.get_by_test_id("nav-planning")).to_be_visible()
        page.keyboard.press("Escape")  # closes the menu, the focus back on its button
        expect(page.get_by_test_id("nav-stock")).to_be_hidden()
        expect(page.get_by_test_id("nav-inventory").locator("summary")).to_be_focused()
        page.get_by_test_id("nav-agency").locator("summary").click()
        expect(page.get_by_test_id("nav-shops")).to_be_visible()
        page.screenshot(
            path=str(SCREENSHOT_DIR / "a11y-nav-800-open.png"),
            clip={"x": 0, "y": 0, "width": 800, "height": 400},
        )
        check_page(page, "agency-shops-menu-open", findings)
    finally:
        page.set_viewport_size({"width": 1280, "height": 900})


def _menu_layout(page: Page) -> tuple[int, list[str]]:
    """How many rows the header's menu items take, and the items whose label wraps."""
    items = page.locator(".site-menu > ul > li").evaluate_all(
        """lis => lis.map(li => {
          const text = document.createTreeWalker(li, NodeFilter.SHOW_TEXT, {acceptNode:
            n => n.textContent.trim() ? NodeFilter.FILTER_ACCEPT : NodeFilter.FILTER_SKIP
          }).nextNode();
          const range = document.createRange();
          range.selectNodeContents(text);
          return {top: Math.round(li.getBoundingClientRect().top),
                  lines: range.getClientRects().length, text: text.textContent.trim()};
        })"""
    )
    assert items, "no menu in the header"
    rows = len({i["top"] for i in items})
    return rows, [i["text"] for i in items if i["lines"] > 1]
