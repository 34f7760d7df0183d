"""Mainland-China telephone numbers: clean what people type, tell mobile from landline, reject the invalid.

Pure functions over `phonenumbers`; no Django. The normalised form is what the database stores:
a mobile as its 11 digits (`13812345678`), a landline as area code, dash, subscriber number
(`021-62345678`), with `-extension` when one was given (`021-62345678-8001`).
"""

import functools
import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

import phonenumbers
from phonenumbers import PhoneNumberType, carrier, geocoder

PhoneKind = Literal["mobile", "landline"]

# Separators people put inside numbers; NFKC has already turned full-width forms into these.
_SEPARATORS = re.compile(r"[\s\-‐‑‒–—―−().·/]")
# An extension written after the number: "转8001", "ext 8001", "x8001", "#8001".
_EXTENSION = re.compile(r"\s*(?:转|分机|ext\.?|x|#)\s*(\d{1,6})$", re.IGNORECASE)
# An extension after a second dash of a landline: "021-62345678-8001".
_DASHED_EXTENSION = re.compile(r"^(\(?0\d{2,3}\)?[\s-]*\d{7,8})-(\d{1,6})$")
_MOBILE_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}


class InvalidPhoneNumber(ValueError):
    """A number that is not a valid mainland-China mobile or landline; `reason` is for the user (Chinese)."""

    def __init__(self, raw: str, reason: str) -> None:
        super().__init__(f"{raw!r}：{reason}")
        self.raw = raw
        self.reason = reason


@dataclass(frozen=True)
class PhoneNumber:
    """A valid number, as parsed."""

    #: the stored form: `13812345678` or `021-62345678[-ext]`
    number: str
    kind: PhoneKind
    #: `+8613812345678` (without extension), for exchanges and SMS gateways
    e164: str
    #: the digits a caller dials inside mainland China, without extension (`13812345678`, `02162345678`)
    dial: str
    #: operator in Chinese (中国移动, 中国联通, 中国电信, 中国广电), "" for landlines or when unknown
    carrier: str
    #: region in Chinese (上海市, 广东省深圳市); "" when phonenumbers only knows "中国"
    region: str
    extension: str = ""


def clean(raw: str) -> str:
    """Full-width to half-width, separators removed, `+86` / `0086` / `86` country prefix turned national.
    Does not validate: the result may still be anything."""
    text = _SEPARATORS.sub("", unicodedata.normalize("NFKC", raw or "").strip())
    for prefix in ("+86", "0086"):
        if text.startswith(prefix):
            text = text[len(prefix):]
            # Internationally a landline drops its trunk 0 (+86 21 ...); nationally it has one (021 ...).
            if text[:1].isdigit() and not text.startswith(("1", "0")):
                text = "0" + text
            return text
    # "86" before a full 11-digit mobile number (13 digits in all) is the country code, not part of it.
    if text.startswith("861") and len(text) == 13 and text.isdigit():
        text = text[2:]
    return text


def parse_phone(raw: str) -> PhoneNumber:
    """Parse a mainland-China mobile or landline number as a person or a counter export wrote it.
    Raises InvalidPhoneNumber with a Chinese reason for anything else (foreign, service or short numbers)."""
    text = unicodedata.normalize("NFKC", raw or "").strip()
    extension = ""
    match = _EXTENSION.search(text) or _DASHED_EXTENSION.match(text)
    if match:
        extension = match.group(match.lastindex or 1)
        text = text[: match.start()] if match.re is _EXTENSION else match.group(1)
    text = clean(text)
    if not text:
        raise InvalidPhoneNumber(raw, "号码为空")
    if text.startswith("+"):
        raise InvalidPhoneNumber(raw, "不是中国大陆的号码")
    if not text.isdigit():
        bad = next(char for char in text if not char.isdigit())
        raise InvalidPhoneNumber(raw, f"号码含有非数字字符“{bad}”")
    if text.startswith("1"):
        if len(text) != 11:
            raise InvalidPhoneNumber(raw, f"手机号码应为11位，这里是{len(text)}位")
        if extension:
            raise InvalidPhoneNumber(raw, "手机号码不能带分机号")
    elif text[:3] in {"400", "800"}:
        raise InvalidPhoneNumber(raw, "400/800服务号码不是客户的电话")
    elif not text.startswith("0"):
        if 7 <= len(text) <= 8:
            raise InvalidPhoneNumber(raw, "固定电话缺少区号")
        raise InvalidPhoneNumber(raw, "无法识别的号码（手机以1开头，固定电话以区号0开头）")
    try:
        parsed = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException:
        raise InvalidPhoneNumber(raw, "无法识别的号码") from None
    if not phonenumbers.is_valid_number(parsed):
        if text.startswith("1"):
            raise InvalidPhoneNumber(raw, f"不存在的手机号段 {text[:3]}")
        raise InvalidPhoneNumber(raw, "固定电话的区号或位数不对")
    number_type = phonenumbers.number_type(parsed)
    national = str(parsed.national_number)
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    region = geocoder.description_for_number(parsed, "zh")
    region = "" if region == "中国" else region
    if number_type in _MOBILE_TYPES and national.startswith("1"):
        return PhoneNumber(
            number=national, kind="mobile", e164=e164, dial=national,
            carrier=carrier.name_for_number(parsed, "zh"), region=region,
        )
    if number_type in {PhoneNumberType.FIXED_LINE, PhoneNumberType.FIXED_LINE_OR_MOBILE}:
        area_length = phonenumbers.length_of_geographical_area_code(parsed)
        area, subscriber = national[:area_length], national[area_length:]
        number = f"0{area}-{subscriber}" + (f"-{extension}" if extension else "")
        return PhoneNumber(
            number=number, kind="landline", e164=e164, dial=f"0{national}", carrier="", region=region,
            extension=extension,
        )
    raise InvalidPhoneNumber(raw, "不是手机或固定电话号码（如400/800服务号码）")


@functools.lru_cache(maxsize=20_000)
def _mobile_segment_is_valid(first_five: str) -> bool:
    # Whether numbers of a mobile segment exist depends on their first five digits only (checked for every
    # segment 10000-19999 against phonenumbers' metadata), so one full parse answers for the whole segment.
    try:
        return parse_phone(first_five + "000000").kind == "mobile"
    except InvalidPhoneNumber:
        return False


def parse_mobile_fast(raw: str) -> str | None:
    """The stored form of `raw` when it already is a plain 11-digit mobile number of a segment in use, without
    a full parse (an import checks a million of them); None when `raw` needs parse_phone to decide."""
    if len(raw) == 11 and raw.isascii() and raw.isdigit() and raw[0] == "1" and _mobile_segment_is_valid(raw[:5]):
        return raw
    return None


def normalise_phone(raw: str) -> str:
    """The stored form of `raw`; raises InvalidPhoneNumber."""
    return parse_phone(raw).number


def is_valid_phone(raw: str) -> bool:
    try:
        parse_phone(raw)
    except InvalidPhoneNumber:
        return False
    return True


def phone_kind(number: str) -> PhoneKind:
    """The kind of an already normalised number, without parsing it again."""
    return "mobile" if number.startswith("1") else "landline"
