"""The assignment text as users paste it, and the even spread (callbacks/rules.py): pure, no database."""

import pytest

from huifang.callbacks.rules import parse_assignment_lines, spread_evenly, spread_with_exclusions


def test_bom_full_width_commas_spaces_and_blank_lines_are_tolerated() -> None:
    text = "\ufeff0031010000001\n\n  0031010000002 ， T0001 \r\n０031010000003,t0002\n\t\n0031010000004,\n"
    parsed = parse_assignment_lines(text)
    assert parsed.rejected == []
    assert [(line.line, line.customer_no, line.agent_no) for line in parsed.lines] == [
        (1, "0031010000001", None),
        (3, "0031010000002", "T0001"),
        (4, "0031010000003", "t0002"),
        (6, "0031010000004", None),
    ]


def test_line_numbers_are_those_of_the_pasted_text() -> None:
    parsed = parse_assignment_lines("\n\n0031010000001\n\n\n0031010000002")
    assert [line.line for line in parsed.lines] == [3, 6]


def test_duplicates_are_rejected_naming_the_first_line() -> None:
    parsed = parse_assignment_lines("0031010000001\n0031010000002\n0031010000001,T0001")
    assert [line.customer_no for line in parsed.lines] == ["0031010000001", "0031010000002"]
    [rejected] = parsed.rejected
    assert rejected.line == 3
    assert rejected.message == "第 3 行：客户 0031010000001 与第 1 行重复"
    assert rejected.text == "0031010000001,T0001"


@pytest.mark.parametrize(("text", "reason"), [
    ("0031010000001,T0001,extra", "格式不正确"),
    ("张伟,T0001", "客户编号“张伟”格式不正确"),
    (",T0001", "缺少客户编号"),
    ("0031010000001 T0001 T0002", "格式不正确"),
    ("0031010000001," + "9" * 25, "坐席工号"),
])
def test_bad_shapes_are_rejected_with_a_reason(text: str, reason: str) -> None:
    parsed = parse_assignment_lines("0031010000009\n" + text)
    assert parsed.lines[0].customer_no == "0031010000009"
    [rejected] = parsed.rejected
    assert rejected.line == 2
    assert reason in rejected.reason


def test_space_separates_customer_and_agent_when_there_is_no_comma() -> None:
    [line] = parse_assignment_lines("0031010000001  T0001").lines
    assert (line.customer_no, line.agent_no) == ("0031010000001", "T0001")


def test_a_header_line_is_skipped() -> None:
    parsed = parse_assignment_lines("\ufeff客户编号，坐席工号\n0031010000001,T0001")
    assert parsed.rejected == []
    assert [line.line for line in parsed.lines] == [2]


def test_empty_text_has_no_lines() -> None:
    parsed = parse_assignment_lines("\ufeff\n \n")
    assert (parsed.lines, parsed.rejected, parsed.read) == ([], [], 0)


def test_spread_fills_the_least_loaded_first() -> None:
    chosen = spread_evenly({"a": 5, "b": 0, "c": 2}, 6)
    loads = {"a": 5, "b": 0, "c": 2}
    for agent in chosen:
        loads[agent] += 1
    assert loads == {"a": 5, "b": 4, "c": 4}
    assert chosen[:2] == ["b", "b"]


def test_spread_ends_even_within_one() -> None:
    start = {1: 3, 2: 7, 3: 0, 4: 1}
    loads = dict(start)
    for agent in spread_evenly(start, 23):
        loads[agent] += 1
    assert max(loads.values()) - min(loads.values()) <= 1
    assert sum(loads.values()) == sum(start.values()) + 23


def test_spread_ties_go_by_the_given_order() -> None:
    assert spread_evenly({"b": 0, "a": 0, "c": 0}, 4) == ["b", "a", "c", "b"]


def test_spread_without_agents() -> None:
    assert spread_evenly({}, 0) == []
    with pytest.raises(ValueError):
        spread_evenly({}, 1)


def test_spread_with_exclusions_skips_the_excluded_agent() -> None:
    assert spread_with_exclusions({"a": 0, "b": 0}, [{"a"}, {"a"}, set(), {"a", "b"}]) == ["b", "b", "a", None]
