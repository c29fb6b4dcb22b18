"""Character counts of product copy against the limits of the common malls.

The malls count text their own way: Rakuten and Yahoo! Shopping give a limit in 全角
characters and, equivalently, in 半角 units (a 全角 character counts 2, a 半角 one 1, as
in Shift_JIS bytes); Amazon counts characters. Their CSV files travel in Shift_JIS
(CP932), so a character CP932 cannot carry (most emoji, some kanji such as 𠮷) is named.

The limits are the malls' entry-screen limits as published in their merchant manuals
(RMS 商品登録, ストアクリエイターPro, Seller Central 商品名の要件) and repeated by the
listing tools that upload to them; they change, so they are kept in this one table to be
corrected without touching code elsewhere. They are advice for the writer: copy over a
limit is saved and shown as over, never cut.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True)
class MallLimit:
    field: str  # the copy field it applies to
    mall: str  # shown as is (mall names are not translated)
    label: str  # the mall's own name for the field
    limit: int
    unit: str  # "width" (半角 units: 全角 = 2) or "chars"


# Rakuten RMS: 商品名 全角127 (半角255); PC用キャッチコピー 全角87 (半角174); モバイル用
# キャッチコピー 全角30 (半角60); PC用商品説明文 全角5,120 (半角10,240).
# Yahoo! Shopping (ストアクリエイターPro): 商品名 全角75 (半角150).
# Amazon (Seller Central, 商品名の要件 2021): item name at most 200 characters incl. spaces.
LIMITS: tuple[MallLimit, ...] = (
    MallLimit("title", "楽天市場", "商品名", 255, "width"),
    MallLimit("title", "Yahoo!ショッピング", "商品名", 150, "width"),
    MallLimit("title", "Amazon", "商品名", 200, "chars"),
    MallLimit("catch_copy", "楽天市場", "PC用キャッチコピー", 174, "width"),
    MallLimit("catch_copy", "楽天市場", "モバイル用キャッチコピー", 60, "width"),
    MallLimit("description", "楽天市場", "PC用商品説明文", 10_240, "width"),
)


def width(text: str) -> int:
    """半角 units: ASCII and half-width katakana count 1, everything else 2."""
    return sum(1 if ch.isascii() or unicodedata.east_asian_width(ch) == "H" else 2 for ch in text)


def not_in_cp932(text: str) -> list[str]:
    """The distinct characters a Shift_JIS (CP932) mall file cannot carry, in order."""
    missing: dict[str, None] = {}
    for ch in text:
        if ch in "\r\n\t":
            continue
        try:
            ch.encode("cp932")
        except UnicodeEncodeError:
            missing[ch] = None
    return list(missing)


@dataclass(frozen=True)
class Count:
    limit: MallLimit
    used: int

    @property
    def over(self) -> bool:
        return self.used > self.limit.limit


def counts(values: dict[str, str]) -> dict[str, list[Count]]:
    """For each copy field with a mall limit: how much of each limit the text uses."""
    result: dict[str, list[Count]] = {}
    for limit in LIMITS:
        text = values.get(limit.field) or ""
        used = width(text) if limit.unit == "width" else len(text)
        result.setdefault(limit.field, []).append(Count(limit, used))
    return result
