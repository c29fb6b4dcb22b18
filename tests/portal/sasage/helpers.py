"""Reading the sasage page the way a browser's form would."""

from __future__ import annotations

import re
from io import BytesIO


def hidden(html: str, element_id: str) -> str:
    match = re.search(
        rf'id="{re.escape(element_id)}" name="[^"]+" type="hidden" value="([^"]*)"', html
    )
    assert match, f"no hidden field {element_id} on the page"
    return match.group(1)


def files(*pairs: tuple[str, bytes]) -> list[tuple[BytesIO, str]]:
    return [(BytesIO(data), name) for name, data in pairs]


def page_of(portal, shop_slug: str, request_id: int) -> str:
    response = portal.get(f"/s/{shop_slug}/sasage/{request_id}")
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)
