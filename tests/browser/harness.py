"""Helpers for the browser journeys: the user's phone, the real login pages, screenshots.

Fixtures live in ``conftest.py``; this module holds plain functions the journeys call.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlparse

import pyotp
from playwright.sync_api import Page, expect

from tests.factories import PASSWORD, World
from urakata.platform.identity import UserAccount

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT_DIR = ROOT / "var" / "e2e"
TOTP_STEP_WAIT = 35.0  # seconds: one 30-second step plus slack
RESET_LINK_RE = re.compile(r"https?://\S+/password/reset/\S+")


def screenshot(page: Page, name: str) -> Path:
    """Save the whole page as ``var/e2e/<name>.png`` (relative to the repo root)."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOT_DIR / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@dataclass
class Authenticator:
    """The users' authenticator app: one secret per e-mail, and the last step it showed.

    The portal refuses a code of a step it already accepted, so a second login within the
    same 30-second step waits for the next one (polling the clock against a deadline).
    """

    secrets: dict[str, str] = field(default_factory=dict)
    last_steps: dict[str, int] = field(default_factory=dict)

    def enrol(self, email: str, secret: str) -> None:
        self.secrets[email] = secret
        self.last_steps.pop(email, None)

    def code(self, email: str) -> str:
        totp = pyotp.TOTP(self.secrets[email])
        step = self._next_step(totp, self.last_steps.get(email))
        self.last_steps[email] = step
        return totp.generate_otp(step)

    @staticmethod
    def _next_step(totp: pyotp.TOTP, last: int | None) -> int:
        deadline = time.monotonic() + TOTP_STEP_WAIT
        while True:
            step = totp.timecode(datetime.now(UTC))
            if last is None or step > last:
                return step
            if time.monotonic() > deadline:
                raise AssertionError(f"the TOTP step did not advance past {last} in time")
            time.sleep(0.1)


@dataclass(frozen=True)
class BrowserPortal:
    """The portal served for the browser: its address, its world and its mailbox."""

    base_url: str
    world: World
    onboarder: UserAccount  # a second agency admin, TOTP already set up
    authenticator: Authenticator
    mailbox: list[EmailMessage]

    def mail_to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.mailbox if address in str(m["To"])]

    def wait_for_mail(self, address: str, timeout: float = 30.0) -> list[EmailMessage]:
        """The worker sends mails after the request commits: poll against a deadline."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.mail_to(address)
            if found:
                return found
            time.sleep(0.1)
        raise AssertionError(f"no mail to {address} within {timeout:.0f}s")


def path_of(page: Page) -> str:
    return urlparse(page.url).path


def submit(page: Page, testid: str) -> None:
    """Click a submit button and wait for the page the form leads to (redirects included)."""
    with page.expect_navigation():
        page.get_by_test_id(testid).click()


def login(
    page: Page,
    portal: BrowserPortal,
    email: str,
    password: str = PASSWORD,
    *,
    shots: tuple[str, ...] = (),
) -> None:
    """Log in through the real pages; ``shots`` names the steps to screenshot
    (``login``, ``totp-setup``, ``totp-code``)."""
    page.goto("/login")
    page.fill("#email", email)
    page.fill("#password", password)
    if "login" in shots:
        screenshot(page, "login")
    submit(page, "login-submit")
    step = path_of(page)
    if step == "/login/2fa/setup":
        portal.authenticator.enrol(email, page.get_by_test_id("totp-secret").inner_text().strip())
        _enter_code(page, portal.authenticator.code(email), "totp-setup" in shots, "totp-setup")
    elif step == "/login/2fa":
        _enter_code(page, portal.authenticator.code(email), "totp-code" in shots, "totp-code")
    assert not path_of(page).startswith("/login"), (
        f"login of {email} stopped at {page.url}: {_field_errors(page)}"
    )


def _enter_code(page: Page, code: str, shoot: bool, name: str) -> None:
    page.fill("#code", code)
    if shoot:
        screenshot(page, name)
    submit(page, "totp-submit")


def _field_errors(page: Page) -> list[str]:
    return page.locator(".field-error").all_inner_texts()


def logout(page: Page) -> None:
    submit(page, "logout")
    expect(page).to_have_url(re.compile(r"/login$"))


def expect_japanese(page: Page) -> None:
    expect(page.locator("html[lang=ja]")).to_have_count(1)


def reset_link_in(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",)).get_content()
    match = RESET_LINK_RE.search(body)
    assert match, f"no reset link in the mail:\n{body}"
    return match.group(0)


def urakata_verify(export: Path, public_key_pem: bytes) -> str:
    """Run the independent verifier on a downloaded export as an auditor would, with the
    agency's public key beside it; what it printed (it must exit 0)."""
    pubkey = export.with_name("agency-ledger.pub")
    pubkey.write_bytes(public_key_pem)
    done = subprocess.run(
        [sys.executable, "-m", "urakata_verify", str(export), "--pubkey", str(pubkey)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout
