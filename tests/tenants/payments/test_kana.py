"""Names as banks print them and as orders carry them compare equal after normalising."""

from __future__ import annotations

import pytest

from urakata.tenants.payments.kana import digits_of, is_kana_name, name_key


@pytest.mark.parametrize(
    ("bank", "order"),
    [
        ("ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダ タロウ"),
        ("ﾔﾏﾀﾞﾀﾛｳ", "やまだ　たろう"),
        ("ｻﾄｳ ｷﾖｳｺ", "サトウ キョウコ"),  # Zengin has no small kana
        ("ｶ)ﾔﾏﾀﾞｼﾖｳｼﾞ", "カブシキガイシャ ヤマダショウジ"),
        ("ﾔﾏﾀﾞｼﾖｳｼﾞ(ｶ", "ヤマダショウジ株式会社"[:7]),
        ("(ﾕ)ｽｽﾞｷﾌﾞﾂｻﾝ", "ユウゲンガイシャ スズキブッサン"),
        ("ｺｰﾋｰﾔ ﾀﾛｳ", "コーヒーヤ タロウ"),
        ("1001 ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダ タロウ"),  # an order number typed in front
    ],
)
def test_the_same_name_as_bank_and_order_write_it(bank, order):
    assert name_key(bank).name == name_key(order).name


def test_digits_are_apart_and_other_names_differ():
    assert name_key("1001 ﾔﾏﾀﾞ ﾀﾛｳ").digits == "1001"
    assert digits_of("#1001") == "1001"
    assert name_key("ﾔﾏﾀﾞ ﾀﾛｳ") != name_key("ﾔﾏﾀﾞ ｼﾞﾛｳ")
    assert not name_key("  ")


def test_kana_names():
    assert is_kana_name("ヤマダ タロウ") and is_kana_name("やまだ")
    assert not is_kana_name("山田 太郎") and not is_kana_name("") and not is_kana_name("Smith")
