import pytest

from huifang.lib.phones import (
    InvalidPhoneNumber,
    clean,
    is_valid_phone,
    normalise_phone,
    parse_phone,
    phone_kind,
)


@pytest.mark.parametrize(
    "raw",
    ["13812345678", "+86 138 1234 5678", "+86-138-1234-5678", "008613812345678", "8613812345678",
     "１３８１２３４５６７８", " 138 1234 5678 ", "(+86)13812345678"],
)
def test_mobile_written_any_way_normalises_to_eleven_digits(raw: str) -> None:
    assert normalise_phone(raw) == "13812345678"


def test_mobile_reports_carrier_and_region_in_chinese() -> None:
    phone = parse_phone("13812345678")
    assert phone.kind == "mobile"
    assert phone.carrier == "中国移动"
    assert phone.region == "江苏省连云港市"
    assert phone.e164 == "+8613812345678"


@pytest.mark.parametrize(("raw", "carrier"), [("18612345678", "中国联通"), ("18912345678", "中国电信"),
                                              ("19212345678", "中国广电")])
def test_carrier_of_each_operator(raw: str, carrier: str) -> None:
    assert parse_phone(raw).carrier == carrier


@pytest.mark.parametrize(
    ("raw", "number", "region"),
    [
        ("021-62345678", "021-62345678", "上海市"),
        ("（021）6234 5678", "021-62345678", "上海市"),
        ("０２１－６２３４５６７８", "021-62345678", "上海市"),
        ("+86 21 6234 5678", "021-62345678", "上海市"),
        ("0755 2345 6789", "0755-23456789", "广东省深圳市"),
        ("010-88888888", "010-88888888", "北京市"),
    ],
)
def test_landline_normalises_to_area_code_dash_number(raw: str, number: str, region: str) -> None:
    phone = parse_phone(raw)
    assert phone.kind == "landline"
    assert phone.number == number
    assert phone.region == region
    assert phone.carrier == ""


@pytest.mark.parametrize("raw", ["021-62345678-8001", "021-62345678转8001", "021 6234 5678 ext. 8001"])
def test_landline_extension_is_kept_apart_from_the_dialled_digits(raw: str) -> None:
    phone = parse_phone(raw)
    assert phone.number == "021-62345678-8001"
    assert phone.extension == "8001"
    assert phone.dial == "02162345678"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "号码为空"),
        ("   ", "号码为空"),
        ("1381234567", "手机号码应为11位，这里是10位"),
        ("138123456789", "手机号码应为11位，这里是12位"),
        ("10012345678", "不存在的手机号段 100"),
        ("62345678", "固定电话缺少区号"),
        ("0571-888888", "固定电话的区号或位数不对"),
        ("138abcd5678", "号码含有非数字字符“a”"),
        ("+1 650 253 0000", "不是中国大陆的号码"),
        ("400-123-4567", "400/800服务号码不是客户的电话"),
        ("13812345678转12", "手机号码不能带分机号"),
        ("95588", "无法识别的号码（手机以1开头，固定电话以区号0开头）"),
    ],
)
def test_invalid_number_is_rejected_with_a_chinese_reason(raw: str, reason: str) -> None:
    with pytest.raises(InvalidPhoneNumber) as caught:
        parse_phone(raw)
    assert caught.value.reason == reason
    assert not is_valid_phone(raw)


def test_clean_turns_full_width_and_country_prefix_into_national_digits() -> None:
    assert clean("＋８６ １３８-１２３４-５６７８") == "13812345678"


def test_phone_kind_of_stored_numbers() -> None:
    assert phone_kind("13812345678") == "mobile"
    assert phone_kind("021-62345678") == "landline"


def test_the_fast_mobile_check_agrees_with_the_full_parse() -> None:
    import random

    from huifang.lib.phones import parse_mobile_fast

    rng = random.Random(7)
    for _ in range(3000):
        number = "1" + "".join(rng.choice("0123456789") for _ in range(10))
        fast = parse_mobile_fast(number)
        try:
            full: str | None = parse_phone(number).number if parse_phone(number).kind == "mobile" else None
        except InvalidPhoneNumber:
            full = None
        assert fast == full, number


def test_the_fast_mobile_check_leaves_written_forms_to_the_full_parse() -> None:
    from huifang.lib.phones import parse_mobile_fast

    assert parse_mobile_fast("138 1234 5678") is None
    assert parse_mobile_fast("+8613812345678") is None
    assert parse_mobile_fast("１３８１２３４５６７８") is None
