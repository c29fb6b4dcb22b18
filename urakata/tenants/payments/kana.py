"""Names as a bank writes them, made comparable with the names on orders.

A transfer's remitter name is half-width katakana in the Zengin character set: no small
kana (キョウコ arrives as ｷﾖｳｺ), corporate forms abbreviated (株式会社 → ｶ) before the
name or (ｶ after it), often an order number typed in front. The customer's kana on an
order may be full-width, hiragana, spaced, with the corporate form spelled out. Both
become a :class:`NameKey`: katakana only, large kana, no spaces or marks, no corporate
form; the digits apart (an order number is a hint, never part of a name).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Zengin abbreviations of corporate forms (法人略語), as they read after NFKC.
_CORPORATE = (
    "カ",  # 株式会社
    "ユ",  # 有限会社
    "ド",  # 合同会社
    "メ",  # 合名会社
    "シ",  # 合資会社
    "イ",  # 医療法人
    "ザイ",  # 財団法人
    "シヤ",  # 社団法人
    "ガク",  # 学校法人
    "フク",  # 社会福祉法人
    "シユウ",  # 宗教法人
    "トクヒ",  # 特定非営利活動法人
    "ドク",  # 独立行政法人
    "ベン",  # 弁護士法人
    "ゼイ",  # 税理士法人
    "ノウキヨウ",  # 農業協同組合
    "セイキヨウ",  # 生活協同組合
)
_ABBREVIATION = "|".join(sorted(_CORPORATE, key=len, reverse=True))
# "カ)ヤマダ", "ヤマダ(カ", "ヤマダ(カ)シテン": the form before, after or inside the name.
_CORPORATE_MARK = re.compile(
    rf"^\(?(?:{_ABBREVIATION})\)|\((?:{_ABBREVIATION})\)|\((?:{_ABBREVIATION})$"
)
_CORPORATE_WORDS = re.compile(
    "カブシキガイシヤ|カブシキカイシヤ|ユウゲンガイシヤ|ユウゲンカイシヤ|ゴウドウガイシヤ|ゴウドウカイシヤ"
)
_SMALL_TO_LARGE = str.maketrans(
    "ァィゥェォッャュョヮヵヶヂヅヰヱヲ", "アイウエオツヤユヨワカケジズイエオ"
)
_HIRAGANA_START, _HIRAGANA_END = ord("ぁ"), ord("ゖ")
_KATAKANA_OFFSET = ord("ァ") - ord("ぁ")
_DIGITS = re.compile(r"[0-9]+")
_KEPT = re.compile(r"[^゠-ヿA-Z0-9]")  # katakana, Latin letters, digits; the rest goes


@dataclass(frozen=True)
class NameKey:
    name: str  # katakana and Latin letters only
    digits: str  # every digit run, joined: a typed order number, a branch code

    def __bool__(self) -> bool:
        return bool(self.name)


def _to_katakana(text: str) -> str:
    return "".join(
        chr(ord(c) + _KATAKANA_OFFSET) if _HIRAGANA_START <= ord(c) <= _HIRAGANA_END else c
        for c in text
    )


def name_key(raw: str) -> NameKey:
    """The comparable form of a remitter's or a customer's name."""
    text = unicodedata.normalize("NFKC", raw or "").upper()
    text = _to_katakana(text).translate(_SMALL_TO_LARGE)
    text = "".join(text.split())
    digits = "".join(_DIGITS.findall(text))
    text = _CORPORATE_MARK.sub("", _DIGITS.sub("", text))
    text = _KEPT.sub("", text).replace("ー", "").replace("・", "")
    return NameKey(_CORPORATE_WORDS.sub("", text), digits)


def is_kana_name(text: str) -> bool:
    """Whether ``text`` is written in kana only (a name a bank could print as it is)."""
    key = unicodedata.normalize("NFKC", text or "")
    letters = [c for c in key if not c.isspace() and c not in "・ー-"]
    return bool(letters) and all(
        "\u30a0" <= c <= "\u30ff" or "\u3041" <= c <= "\u3096" for c in letters
    )


def digits_of(text: str) -> str:
    """The digits of an order number (#1001 → 1001), for the remitter's typed reference."""
    return "".join(_DIGITS.findall(unicodedata.normalize("NFKC", text or "")))
