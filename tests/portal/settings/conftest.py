"""Helpers for the settings pages: the shop's URLs and the version a page was read at."""

from __future__ import annotations

import re
from io import BytesIO

import pytest
from PIL import Image

SETTINGS = "/s/shop-a/settings"
HISTORY = SETTINGS + "/history"
LOGO = SETTINGS + "/logo"
VERSION_RE = re.compile(r'name="version" type="hidden" value="(\d+)"')


def version_on(page) -> str:
    match = VERSION_RE.search(page.get_data(as_text=True))
    assert match, "no version field on the page"
    return match.group(1)


def in_english(portal) -> None:
    """Assert on English source strings, whatever the Japanese catalog says."""
    portal.post_form("/language/en", {"next": "/account"}, form_url="/account")


@pytest.fixture
def png() -> bytes:
    buffer = BytesIO()
    Image.new("RGB", (160, 48), (20, 90, 160)).save(buffer, format="PNG")
    return buffer.getvalue()
