"""Reading the stock pages: rows by their data attributes, form versions and keys."""

from __future__ import annotations

import re


def rows(html: str, testid: str, *attrs: str) -> list[tuple[str, ...]]:
    """The ``data-…`` values of every element with ``data-testid=testid``, in order."""
    found = []
    for tag in re.findall(rf'<[^>]*data-testid="{testid}"[^>]*>', html):
        found.append(tuple(re.search(rf'data-{a}="([^"]*)"', tag).group(1) for a in attrs))
    return found


def hidden(html: str, name: str) -> str:
    return re.search(rf'name="{name}" type="hidden" value="([^"]*)"', html).group(1)


def line_errors(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-field="([^"]+)">([^<]+)<', html))
