import pytest

from huifang.customers.rules import (
    InvalidCustomerNumber,
    digits_prefix_upper_bound,
    looks_like_customer_no,
    parse_customer_no,
)


def test_customer_number_keeps_leading_zeros_and_drops_surrounding_spaces() -> None:
    assert parse_customer_no(" 0031010000001 ") == "0031010000001"


def test_full_width_digits_are_read_as_a_customer_number() -> None:
    assert parse_customer_no("００３１") == "0031"


@pytest.mark.parametrize("raw", ["", "abc", "12 34", "1" * 21, "١٢٣"])
def test_malformed_customer_number_is_refused_with_a_chinese_reason(raw: str) -> None:
    with pytest.raises(InvalidCustomerNumber, match="客户编号格式不正确"):
        parse_customer_no(raw)


@pytest.mark.parametrize(("prefix", "bound"), [("0310", "0311"), ("0319", "032"), ("0", "1"), ("999", None),
                                               ("0399", "04")])
def test_prefix_upper_bound_is_the_next_digit_string(prefix: str, bound: str | None) -> None:
    assert digits_prefix_upper_bound(prefix) == bound


def test_prefix_range_holds_exactly_the_numbers_with_that_prefix() -> None:
    prefix = "0319"
    bound = digits_prefix_upper_bound(prefix)
    assert bound is not None
    numbers = ["0318999", "0319", "0319000", "03199999", "0320", "032"]
    assert [n for n in numbers if prefix <= n < bound] == [n for n in numbers if n.startswith(prefix)]


def test_search_text_of_digits_is_a_customer_number() -> None:
    assert looks_like_customer_no("0310")
    assert not looks_like_customer_no("王伟")
