"""Codes that carry check digits or fixed shapes: JAN/GTIN, ITF-14, postal codes.

The rules are in shared/domain/japan.md ("Codes and addresses").
"""

from __future__ import annotations

import re
import unicodedata

_DIGITS = re.compile(r"^\d+$")


def normalise_code(value: str) -> str:
    """NFKC (full-width digits become ASCII), spaces and hyphens removed."""
    text = unicodedata.normalize("NFKC", value or "")
    return re.sub(r"[\s\-‐‑‒–—―ー−]", "", text)


def gtin_check_digit(body: str) -> int:
    """The check digit for the digits before it (GTIN-8/12/13/14 share the rule).

    Positions count from the right with the check digit at 1; even positions weigh 3.
    """
    total = 0
    for offset, ch in enumerate(reversed(body)):
        total += int(ch) * (3 if offset % 2 == 0 else 1)
    return (10 - total % 10) % 10


def is_valid_gtin(code: str, lengths: tuple[int, ...] = (8, 12, 13, 14)) -> bool:
    if not _DIGITS.match(code or "") or len(code) not in lengths:
        return False
    return gtin_check_digit(code[:-1]) == int(code[-1])


def gtin_problem(code: str, lengths: tuple[int, ...] = (8, 13)) -> str | None:
    """None when ``code`` is a valid GTIN of one of ``lengths``, else what is wrong."""
    if not _DIGITS.match(code or ""):
        return "use digits only"
    if len(code) not in lengths:
        return f"use {' or '.join(str(n) for n in lengths)} digits (this has {len(code)})"
    expected = gtin_check_digit(code[:-1])
    if expected != int(code[-1]):
        return f"the check digit should be {expected}, not {code[-1]}"
    return None


def itf14_for(jan13: str, indicator: int) -> str:
    """ITF-14 (GTIN-14) of a case: indicator 1–8 + the first 12 JAN digits + a new check."""
    if not 1 <= indicator <= 8:
        raise ValueError("the packaging indicator is 1 to 8")
    body = f"{indicator}{jan13[:12]}"
    return body + str(gtin_check_digit(body))


def normalise_postal_code(value: str) -> str | None:
    """NNN-NNNN from any 7 digits (full-width too), or None."""
    digits = normalise_code(value).replace("〒", "")
    if not re.fullmatch(r"\d{7}", digits):
        return None
    return f"{digits[:3]}-{digits[3:]}"
