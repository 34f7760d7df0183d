"""The pure calendar: working days, trading days and the refusal to guess, on a small hand-made table.

The table holds the first two months of the State Council's 2026 schedule (元旦 and 春节) and covers 2025 and
2026 only; 2024 and 2027 are uncovered on purpose."""

import datetime as dt

import pytest

from huifang.lib.workdays import (
    CalendarNotCovered,
    WorkCalendar,
    end_of_month,
    end_of_quarter,
    format_year_ranges,
    parse_date,
    parse_month,
)

D = dt.date


def day_range(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=offset) for offset in range((last - first).days + 1)]


@pytest.fixture
def cal() -> WorkCalendar:
    return WorkCalendar.build(
        holidays=[*day_range(D(2026, 1, 1), D(2026, 1, 3)), *day_range(D(2026, 2, 15), D(2026, 2, 23))],
        workdays=[D(2026, 1, 4), D(2026, 2, 14), D(2026, 2, 28)],
        # Not a real closure: a weekday on which only the exchange is closed, to tell the two apart.
        market_closures=[D(2026, 2, 13)],
        covered_years=[2025, 2026],
        names={D(2026, 1, 1): "元旦", D(2026, 1, 4): "元旦"},
    )


def test_plain_weekday_is_a_working_day_and_a_trading_day(cal: WorkCalendar) -> None:
    assert cal.is_working_day(D(2026, 1, 5))
    assert cal.is_trading_day(D(2026, 1, 5))


def test_plain_weekend_is_neither_a_working_day_nor_a_trading_day(cal: WorkCalendar) -> None:
    assert not cal.is_working_day(D(2026, 1, 10))
    assert not cal.is_trading_day(D(2026, 1, 11))


def test_weekday_holiday_is_neither_a_working_day_nor_a_trading_day(cal: WorkCalendar) -> None:
    assert not cal.is_working_day(D(2026, 1, 2))
    assert not cal.is_trading_day(D(2026, 1, 2))


def test_make_up_sunday_is_a_working_day_but_not_a_trading_day(cal: WorkCalendar) -> None:
    assert cal.is_working_day(D(2026, 1, 4))
    assert not cal.is_trading_day(D(2026, 1, 4))


def test_exchange_closure_is_a_working_day_but_not_a_trading_day(cal: WorkCalendar) -> None:
    assert cal.is_working_day(D(2026, 2, 13))
    assert not cal.is_trading_day(D(2026, 2, 13))


def test_name_is_that_of_the_holiday_and_empty_for_a_plain_day(cal: WorkCalendar) -> None:
    assert cal.name(D(2026, 1, 4)) == "元旦"
    assert cal.name(D(2026, 1, 5)) == ""


def test_uncovered_year_raises_a_chinese_message_naming_the_year(cal: WorkCalendar) -> None:
    with pytest.raises(CalendarNotCovered) as raised:
        cal.is_working_day(D(2027, 3, 1))
    assert raised.value.year == 2027
    assert str(raised.value).startswith("2027 年的节假日未录入日历表")
    assert "管理后台 › 日历" in str(raised.value)


@pytest.mark.parametrize(
    "question",
    [
        lambda cal: cal.is_working_day(D(2024, 6, 3)),
        lambda cal: cal.is_trading_day(D(2024, 6, 3)),
        lambda cal: cal.add_working_days(D(2024, 6, 3), 1),
        lambda cal: cal.add_working_days(D(2024, 6, 3), 0),
        lambda cal: cal.nth_working_day(2024, 6, 1),
        lambda cal: cal.next_trading_day(D(2024, 6, 3)),
    ],
    ids=["is_working_day", "is_trading_day", "add_working_days", "add_zero", "nth_working_day", "next_trading"],
)
def test_every_question_needing_the_table_refuses_an_uncovered_year(cal: WorkCalendar, question: object) -> None:
    with pytest.raises(CalendarNotCovered, match="2024"):
        question(cal)  # type: ignore[operator]


def test_adding_zero_working_days_to_a_working_day_returns_it(cal: WorkCalendar) -> None:
    assert cal.add_working_days(D(2026, 1, 4), 0) == D(2026, 1, 4)


def test_adding_zero_working_days_to_a_holiday_returns_the_next_working_day(cal: WorkCalendar) -> None:
    assert cal.add_working_days(D(2026, 1, 1), 0) == D(2026, 1, 4)


def test_adding_working_days_counts_after_the_date_and_skips_holidays(cal: WorkCalendar) -> None:
    # Fri 13 Feb -> Sat 14 Feb (make-up) -> holidays 15-23 -> Tue 24 Feb.
    assert cal.add_working_days(D(2026, 2, 13), 1) == D(2026, 2, 14)
    assert cal.add_working_days(D(2026, 2, 13), 2) == D(2026, 2, 24)


def test_negative_working_days_count_back_over_holidays(cal: WorkCalendar) -> None:
    assert cal.add_working_days(D(2026, 2, 24), -1) == D(2026, 2, 14)
    assert cal.add_working_days(D(2026, 1, 5), -1) == D(2026, 1, 4)
    assert cal.add_working_days(D(2026, 1, 5), -2) == D(2025, 12, 31)


def test_counting_into_an_uncovered_year_raises(cal: WorkCalendar) -> None:
    # Thu 31 Dec 2026 is covered, the next working day would be in 2027.
    with pytest.raises(CalendarNotCovered, match="2027"):
        cal.add_working_days(D(2026, 12, 31), 1)
    with pytest.raises(CalendarNotCovered, match="2024"):
        cal.add_working_days(D(2025, 1, 2), -2)


def test_nth_working_day_counts_from_the_start_or_from_the_end(cal: WorkCalendar) -> None:
    assert cal.nth_working_day(2026, 1, 1) == D(2026, 1, 4)
    assert cal.nth_working_day(2026, 1, 2) == D(2026, 1, 5)
    assert cal.nth_working_day(2026, 2, -1) == D(2026, 2, 28)
    assert cal.nth_working_day(2026, 2, -2) == D(2026, 2, 27)


def test_nth_working_day_refuses_zero_and_more_than_the_month_has(cal: WorkCalendar) -> None:
    count = len(cal.working_days_in_month(2026, 2))
    assert cal.nth_working_day(2026, 2, count) == D(2026, 2, 28)
    with pytest.raises(ValueError, match="只有"):
        cal.nth_working_day(2026, 2, count + 1)
    with pytest.raises(ValueError, match="第 0 个"):
        cal.nth_working_day(2026, 2, 0)
    with pytest.raises(ValueError):
        cal.nth_working_day(2026, 2, -(count + 1))


def test_next_trading_day_is_strictly_after_and_skips_make_up_weekends(cal: WorkCalendar) -> None:
    assert cal.next_trading_day(D(2026, 1, 5)) == D(2026, 1, 6)
    # Wed 31 Dec 2025 -> holidays 1-3 Jan, make-up Sunday 4 Jan is closed -> Mon 5 Jan.
    assert cal.next_trading_day(D(2025, 12, 31)) == D(2026, 1, 5)
    # Thu 12 Feb -> the closure 13 Feb, make-up 14 Feb, holidays to 23 Feb -> Tue 24 Feb.
    assert cal.next_trading_day(D(2026, 2, 12)) == D(2026, 2, 24)


def test_next_trading_day_refuses_to_leave_the_table(cal: WorkCalendar) -> None:
    with pytest.raises(CalendarNotCovered, match="2027"):
        cal.next_trading_day(D(2026, 12, 31))


def test_end_of_month_and_quarter_need_no_table(cal: WorkCalendar) -> None:
    assert end_of_month(D(2024, 2, 10)) == D(2024, 2, 29)
    assert end_of_month(D(2026, 2, 1)) == D(2026, 2, 28)
    assert end_of_month(D(2099, 12, 31)) == D(2099, 12, 31)
    assert [end_of_quarter(D(2026, month, 15)) for month in (1, 3, 4, 6, 7, 9, 10, 12)] == [
        D(2026, 3, 31), D(2026, 3, 31), D(2026, 6, 30), D(2026, 6, 30),
        D(2026, 9, 30), D(2026, 9, 30), D(2026, 12, 31), D(2026, 12, 31),
    ]


def test_a_day_cannot_be_both_a_holiday_and_a_make_up_day() -> None:
    with pytest.raises(ValueError, match="2026-01-04"):
        WorkCalendar.build(holidays=[D(2026, 1, 4)], workdays=[D(2026, 1, 4)], covered_years=[2026])


def test_parse_date_reads_iso_dates_and_explains_bad_ones() -> None:
    assert parse_date(" 2026-01-04 ") == D(2026, 1, 4)
    for bad in ["2026-13-01", "2026-02-29", "2026/01/04", "20260104", "2026-W01-7", "tomorrow", ""]:
        with pytest.raises(ValueError, match="YYYY-MM-DD"):
            parse_date(bad)


def test_parse_month_reads_year_and_month_and_explains_bad_ones() -> None:
    assert parse_month("2026-02") == (2026, 2)
    assert parse_month("2026-2") == (2026, 2)
    for bad in ["2026-13", "2026", "26-02", "2026-02-01", "abcd-ef"]:
        with pytest.raises(ValueError, match="YYYY-MM"):
            parse_month(bad)


def test_year_ranges_are_compact() -> None:
    assert format_year_ranges([2006, 2004, 2005, 2028]) == "2004–2006, 2028"
    assert format_year_ranges([]) == ""
