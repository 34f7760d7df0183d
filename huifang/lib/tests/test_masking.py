import pytest

from huifang.lib.masking import (
    mask_bank_card,
    mask_email,
    mask_id_number,
    mask_landline,
    mask_middle,
    mask_mobile,
    mask_phone,
)


def test_mobile_keeps_first_three_and_last_four_digits() -> None:
    assert mask_mobile("13812345678") == "138****5678"


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("021-62345678", "021-****5678"),
        ("0755-2345678", "0755-***5678"),
        ("021-62345678-8001", "021-****5678-8001"),
        ("02162345678", "021****5678"),
    ],
)
def test_landline_keeps_area_code_and_last_four_digits(number: str, masked: str) -> None:
    assert mask_landline(number) == masked


def test_mask_phone_chooses_by_kind() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("010-88888888") == "010-****8888"


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("31011519900307123X", "310***********123X"),
        ("31011519900307123x", "310***********123X"),
        ("310115900307123", "310********7123"),
    ],
)
def test_id_number_shows_first_three_and_last_four(number: str, masked: str) -> None:
    assert mask_id_number(number) == masked


def test_email_keeps_first_letter_and_domain() -> None:
    assert mask_email("zhangwei@example.com") == "z***@example.com"
    assert mask_email("a@b.cn") == "a***@b.cn"


def test_text_that_is_not_an_email_is_hidden_entirely() -> None:
    assert mask_email("zhangwei") == "********"
    assert mask_email("@example.com") == "************"


def test_bank_card_shows_first_six_and_last_four() -> None:
    assert mask_bank_card("6222 0212 3456 7890 123") == "622202*********0123"


def test_value_too_short_to_mask_is_hidden_entirely() -> None:
    assert mask_middle("1234567", keep_start=3, keep_end=4) == "*******"
    assert mask_mobile("") == ""


def test_masked_value_never_contains_the_hidden_digits() -> None:
    masked = mask_id_number("110101199003071234")
    assert "19900307" not in masked
    assert len(masked) == 18
