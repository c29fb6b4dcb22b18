"""Helpers for shop settings tests: small real images made with Pillow."""

from __future__ import annotations

from io import BytesIO

import pytest
from PIL import Image


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (120, 40)) -> bytes:
    buffer = BytesIO()
    Image.new("RGB", size, (200, 30, 60)).save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.fixture
def png() -> bytes:
    return image_bytes("PNG")
