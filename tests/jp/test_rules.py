"""Japanese field rules: each normalises what residents really type, and refuses the rest politely."""

from __future__ import annotations

import random

import pytest

from app import jp
from app.jp import InvalidValue


def refused(parse, value, *args, **kwargs) -> InvalidValue:
    with pytest.raises(InvalidValue) as caught:
        parse(value, *args, **kwargs)
    return caught.value


# --- text and widths ---------------------------------------------------------------------------


def test_normalise_text_strips_both_widths_and_keeps_every_code_point():
    # U+FA19 is a CJK compatibility ideograph that NFC would fold to U+795E; 𠮷 is outside the BMP.
    name = "\ufa19田 𠮷野"
    assert jp.normalise_text(f"\u3000 \t{name}\n\u3000") == name
    assert jp.normalise_text(None) == ""


@pytest.mark.parametrize("dash", ["ー", "－", "‐", "−", "–", "—", "―", "ｰ", "‑"])
def test_normalise_digits_folds_widths_and_every_dash(dash):
    assert jp.normalise_digits(f"１２３{dash}ＡＢｃ") == "123-ABc"


# --- postcode ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed", ["100-0001", "1000001", "〒100-0001", "〒 100 0001", "１００ー０００１", "１０００００１", " 100－0001 "]
)
def test_postcode_accepts_what_residents_type(typed):
    assert jp.parse_postcode(typed) == "100-0001"


@pytest.mark.parametrize("typed", ["", "100-001", "10000011", "100-00O1", "abc-defg", "100--0001"])
def test_postcode_refuses_anything_but_seven_digits(typed):
    error = refused(jp.parse_postcode, typed)
    assert error.code == "postcode_format"
    assert str(error.message) == "郵便番号は数字7桁で入力してください（例：100-0001）。"


# --- phone -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("090-1234-5678", "090-1234-5678"),
        ("09012345678", "09012345678"),
        ("０９０ー１２３４ー５６７８", "090-1234-5678"),
        ("03(1234)5678", "03-1234-5678"),
        ("0466 12 3456", "0466-12-3456"),
        ("+81 90-1234-5678", "090-1234-5678"),
        ("0120-123-456", "0120-123-456"),
    ],
)
def test_phone_keeps_hyphens_as_typed_in_ascii(typed, stored):
    assert jp.parse_phone(typed) == stored


@pytest.mark.parametrize("typed", ["", "1234567890", "090-1234-567", "090-1234-56789", "03-1234-567a", "110"])
def test_phone_refuses_numbers_that_are_not_japanese_phone_numbers(typed):
    assert refused(jp.parse_phone, typed).code == "phone_format"


# --- e-mail ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("taro@example.jp", "taro@example.jp"),
        (" Taro.Yamada@Example.CO.JP ", "Taro.Yamada@example.co.jp"),
        ("ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ", "taro@example.jp"),
        ("taro..yamada.@docomo.ne.jp", "taro..yamada.@docomo.ne.jp"),
        ("a+tag@xn--eckwd4c7c.xn--zckzah", "a+tag@xn--eckwd4c7c.xn--zckzah"),
    ],
)
def test_email_folds_widths_and_lowercases_the_domain_only(typed, stored):
    assert jp.parse_email(typed) == stored


@pytest.mark.parametrize("typed", ["", "taro", "taro@", "@example.jp", "taro@example", "ta ro@example.jp", "t@-x.jp"])
def test_email_refuses_what_cannot_receive_mail(typed):
    assert refused(jp.parse_email, typed).code == "email_format"


# --- kana --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("ヤマダ", "ヤマダ"),
        ("やまだ", "ヤマダ"),
        ("ﾔﾏﾀﾞ", "ヤマダ"),
        ("ｶﾞｯｺｳ", "ガッコウ"),
        ("ｺｰﾋｰ", "コーヒー"),
        ("コ-ヒ-", "コーヒー"),
        ("やまだ たろう", "ヤマダ\u3000タロウ"),
        ("ヤマダ\u3000\u3000タロウ", "ヤマダ\u3000タロウ"),
        ("ｽﾐｽ･ｼﾞｮﾝ", "スミス・ジョン"),
        ("ゔぃくとりあ", "ヴィクトリア"),
        ("カ\u3099ク", "ガク"),  # decomposed dakuten, as macOS sends it
        ("\u3000ヤマダ ", "ヤマダ"),
    ],
)
def test_kana_converts_to_full_width_katakana(typed, stored):
    assert jp.parse_kana(typed) == stored


@pytest.mark.parametrize("typed", ["", "山田", "Yamada", "ヤマダ1", "ヤマダ（タロウ）", "ヤマダ、タロウ"])
def test_kana_refuses_anything_but_kana(typed):
    error = refused(jp.parse_kana, typed)
    assert error.code == "kana_format"
    assert "カタカナ" in str(error.message)


# --- integers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "number"), [("3", 3), ("３", 3), (" 10 ", 10), ("1,000", 1000), ("−5", -5)])
def test_integer_accepts_either_width(typed, number):
    assert jp.parse_integer(typed) == number


def test_integer_range_messages_name_the_limits():
    assert jp.parse_integer("1", min=1, max=10) == 1
    assert jp.parse_integer("10", min=1, max=10) == 10
    both = refused(jp.parse_integer, "11", min=1, max=10)
    assert (both.code, str(both.message)) == ("integer_range", "1から10までの数字で入力してください。")
    assert str(refused(jp.parse_integer, "0", min=1).message) == "1以上の数字で入力してください。"
    assert str(refused(jp.parse_integer, "99", max=10).message) == "10以下の数字で入力してください。"


@pytest.mark.parametrize("typed", ["", "三", "1.5", "1e3", "abc"])
def test_integer_refuses_what_is_not_a_whole_number(typed):
    assert refused(jp.parse_integer, typed).code == "integer_format"


# --- My Number ---------------------------------------------------------------------------------


def independent_check_digit(first_eleven: str) -> int:
    """The same rule written from the left: weights 6,5,4,3,2,7,6,5,4,3,2 for digits 1..11."""
    weights = (6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
    remainder = sum(int(d) * w for d, w in zip(first_eleven, weights, strict=True)) % 11
    return 0 if remainder in (0, 1) else 11 - remainder


def test_mynumber_known_good_example():
    assert jp.validate_mynumber("123456789018") == "123456789018"


@pytest.mark.parametrize("typed", ["1234 5678 9018", "1234-5678-9018", "１２３４５６７８９０１８", " 123456789018 "])
def test_mynumber_accepts_spaces_hyphens_and_full_width(typed):
    assert jp.validate_mynumber(typed) == "123456789018"


def test_mynumber_check_digit_matches_an_independent_implementation():
    rng = random.Random(20250401)
    for _ in range(500):
        first_eleven = "".join(rng.choice("0123456789") for _ in range(11))
        check = independent_check_digit(first_eleven)
        assert jp.validate_mynumber(first_eleven + str(check)) == first_eleven + str(check)
        wrong = (check + rng.randint(1, 9)) % 10
        assert refused(jp.validate_mynumber, first_eleven + str(wrong)).code == "mynumber_check_digit"


@pytest.mark.parametrize("typed", ["123456789017", "123456789019", "000000000001"])
def test_mynumber_refuses_a_wrong_check_digit_without_repeating_the_number(typed):
    error = refused(jp.validate_mynumber, typed)
    assert error.code == "mynumber_check_digit"
    assert typed not in str(error.message) and typed not in str(error)


@pytest.mark.parametrize("typed", ["", "12345678901", "1234567890123", "12345678901a"])
def test_mynumber_refuses_anything_but_twelve_digits(typed):
    assert refused(jp.validate_mynumber, typed).code == "mynumber_format"


def test_mask_mynumber_shows_only_the_last_four_digits():
    assert jp.mask_mynumber("123456789018") == "**** **** 9018"
    assert jp.mask_mynumber("1234 5678 9018") == "**** **** 9018"
    assert jp.mask_mynumber("") == "**** **** ****"


# --- postcode lookup ---------------------------------------------------------------------------


def test_lookup_postcode_finds_the_town():
    assert jp.lookup_postcode("100-0001") == [
        {"prefecture": "東京都", "city": "千代田区", "town": "千代田", "address": "東京都千代田区千代田"}
    ]
    assert jp.lookup_postcode("〒１００ー０００１") == jp.lookup_postcode("1000001")


def test_lookup_postcode_returns_every_town_a_code_covers_without_notes():
    # 498-0000 spans 愛知県 and 三重県; its 町域 is the note 「以下に掲載がない場合」, which is not a town.
    choices = jp.lookup_postcode("4980000")
    assert {choice["prefecture"] for choice in choices} == {"愛知県", "三重県"}
    assert all(choice["town"] == "" for choice in choices)


def test_lookup_postcode_unknown_code_is_empty():
    assert jp.lookup_postcode("0000000") == []


def test_lookup_postcode_refuses_a_malformed_code():
    assert refused(jp.lookup_postcode, "12345").code == "postcode_format"


def test_lookup_postcode_works_off_the_importing_thread():
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        assert pool.submit(jp.lookup_postcode, "1000001").result()[0]["town"] == "千代田"
