"""Copy is counted as the malls count it: 全角 2, 半角 1 (half-width kana 1), Amazon by
character; characters a Shift_JIS mall file cannot carry are named."""

from __future__ import annotations

from urakata.tenants.sasage import mall_limits


def test_width_counts_full_width_as_two_and_half_width_as_one():
    assert mall_limits.width("Tシャツ") == 1 + 2 * 3
    assert mall_limits.width("ｶﾀｶﾅ ABC 123") == 12
    assert mall_limits.width("綿100%") == 2 + 4


def test_counts_flag_each_mall_limit_it_goes_over():
    counts = mall_limits.counts({"title": "あ" * 80, "catch_copy": "a" * 61, "description": ""})
    title = {(c.limit.mall, c.used, c.over) for c in counts["title"]}
    assert title == {("楽天市場", 160, False), ("Yahoo!ショッピング", 160, True),
                     ("Amazon", 80, False)}  # fmt: skip
    catch = {c.limit.label: c.over for c in counts["catch_copy"]}
    assert catch == {"PC用キャッチコピー": False, "モバイル用キャッチコピー": True}
    assert [c.used for c in counts["description"]] == [0]


def test_characters_shift_jis_cannot_carry_are_named_once():
    assert mall_limits.not_in_cp932("𠮷野家の牛丼🍚と🍚\n①②") == ["𠮷", "🍚"]
    assert mall_limits.not_in_cp932("髙橋さんの﨑") == []  # IBM extensions are in CP932
