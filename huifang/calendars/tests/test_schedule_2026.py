"""The seeded table against the State Council's 2026 schedule (国办发明电〔2025〕7号), read through queries.

元旦 Jan 1–3 off, Sun Jan 4 work; 春节 Feb 15–23 off, Sat Feb 14 and Sat Feb 28 work; 清明 Apr 4–6 off;
劳动节 May 1–5 off, Sat May 9 work; 端午 Jun 19–21 off; 中秋 Sep 25–27 off; 国庆 Oct 1–7 off, Sun Sep 20 and
Sat Oct 10 work."""

import datetime as dt

import pytest

from huifang.calendars import queries
from huifang.calendars.models import CoveredYear, DayKind, SpecialDay

D = dt.date

pytestmark = pytest.mark.usefixtures("seeded")


def day_range(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=offset) for offset in range((last - first).days + 1)]


HOLIDAYS_2026 = {
    "元旦": day_range(D(2026, 1, 1), D(2026, 1, 3)),
    "春节": day_range(D(2026, 2, 15), D(2026, 2, 23)),
    "清明节": day_range(D(2026, 4, 4), D(2026, 4, 6)),
    "劳动节": day_range(D(2026, 5, 1), D(2026, 5, 5)),
    "端午节": day_range(D(2026, 6, 19), D(2026, 6, 21)),
    "中秋节": day_range(D(2026, 9, 25), D(2026, 9, 27)),
    "国庆节": day_range(D(2026, 10, 1), D(2026, 10, 7)),
}
MAKE_UP_DAYS_2026 = {
    D(2026, 1, 4): "元旦",
    D(2026, 2, 14): "春节",
    D(2026, 2, 28): "春节",
    D(2026, 5, 9): "劳动节",
    D(2026, 9, 20): "国庆节",
    D(2026, 10, 10): "国庆节",
}
ALL_HOLIDAYS_2026 = [(day, name) for name, days in HOLIDAYS_2026.items() for day in days]


def test_the_table_holds_exactly_the_state_council_schedule_for_2026() -> None:
    rows = SpecialDay.objects.filter(date__year=2026)
    assert {(row.date, row.name) for row in rows if row.kind == DayKind.HOLIDAY} == set(ALL_HOLIDAYS_2026)
    assert {(row.date, row.name) for row in rows if row.kind == DayKind.WORKDAY} == set(MAKE_UP_DAYS_2026.items())


def test_the_migration_covers_2004_to_2026_and_not_2027() -> None:
    assert set(range(2004, 2027)) <= set(CoveredYear.objects.values_list("year", flat=True))
    assert 2027 not in queries.covered_years()


@pytest.mark.parametrize(("day", "name"), ALL_HOLIDAYS_2026, ids=[d.isoformat() for d, _ in ALL_HOLIDAYS_2026])
def test_every_2026_holiday_is_neither_a_working_day_nor_a_trading_day(day: dt.date, name: str) -> None:
    assert not queries.is_working_day(day)
    assert not queries.is_trading_day(day)
    assert queries.day_name(day) == name


@pytest.mark.parametrize("day", list(MAKE_UP_DAYS_2026), ids=[d.isoformat() for d in MAKE_UP_DAYS_2026])
def test_every_2026_make_up_weekend_day_is_a_working_day_but_not_a_trading_day(day: dt.date) -> None:
    assert day.weekday() >= 5
    assert queries.is_working_day(day)
    assert not queries.is_trading_day(day)


def test_make_up_sunday_jan_4_2026_is_a_working_day_but_not_a_trading_day() -> None:
    assert queries.is_working_day(D(2026, 1, 4))
    assert not queries.is_trading_day(D(2026, 1, 4))


def test_plain_weekdays_and_weekends_around_the_breaks_follow_the_week() -> None:
    assert queries.is_working_day(D(2026, 2, 24)) and queries.is_trading_day(D(2026, 2, 24))
    assert queries.is_working_day(D(2026, 10, 8)) and queries.is_trading_day(D(2026, 10, 8))
    assert not queries.is_working_day(D(2026, 11, 21)) and not queries.is_trading_day(D(2026, 11, 22))


def test_2026_has_248_working_days_and_242_trading_days() -> None:
    # 261 weekdays, 19 of them holidays -> 242 trading days; plus 6 make-up weekend days -> 248 working days.
    days = day_range(D(2026, 1, 1), D(2026, 12, 31))
    assert sum(queries.is_working_day(day) for day in days) == 248
    assert sum(queries.is_trading_day(day) for day in days) == 242


def test_nth_working_day_of_2026_months() -> None:
    # January's first working day is the make-up Sunday.
    assert queries.nth_working_day(2026, 1, 1) == D(2026, 1, 4)
    assert queries.nth_working_day(2026, 2, 1) == D(2026, 2, 2)
    assert queries.nth_working_day(2026, 2, -1) == D(2026, 2, 28)
    # October: 1–7 off, Thu 8, Fri 9, then the make-up Saturday 10.
    assert queries.nth_working_day(2026, 10, 3) == D(2026, 10, 10)
    assert queries.nth_working_day(2026, 5, 1) == D(2026, 5, 6)


def test_add_working_days_across_the_2026_breaks() -> None:
    assert queries.add_working_days(D(2026, 2, 13), 1) == D(2026, 2, 14)
    assert queries.add_working_days(D(2026, 2, 14), 1) == D(2026, 2, 24)
    assert queries.add_working_days(D(2026, 2, 24), -1) == D(2026, 2, 14)
    assert queries.add_working_days(D(2026, 10, 1), 0) == D(2026, 10, 8)
    assert queries.add_working_days(D(2026, 9, 30), 3) == D(2026, 10, 10)
    assert queries.add_working_days(D(2025, 12, 31), 1) == D(2026, 1, 4)


def test_next_trading_day_skips_holidays_and_make_up_weekends() -> None:
    assert queries.next_trading_day(D(2025, 12, 31)) == D(2026, 1, 5)
    assert queries.next_trading_day(D(2026, 2, 13)) == D(2026, 2, 24)
    assert queries.next_trading_day(D(2026, 9, 30)) == D(2026, 10, 8)
    assert queries.next_trading_day(D(2026, 10, 9)) == D(2026, 10, 12)
    assert queries.next_trading_day(D(2026, 5, 8)) == D(2026, 5, 11)


def test_end_of_month_and_quarter() -> None:
    assert queries.end_of_month(D(2026, 2, 14)) == D(2026, 2, 28)
    assert queries.end_of_quarter(D(2026, 11, 22)) == D(2026, 12, 31)
    assert queries.end_of_quarter(D(2027, 5, 1)) == D(2027, 6, 30)


def test_2027_is_refused_with_the_chinese_message() -> None:
    with pytest.raises(queries.CalendarNotCovered, match="2027 年的节假日未录入日历表"):
        queries.is_working_day(D(2027, 1, 4))
    with pytest.raises(queries.CalendarNotCovered):
        queries.next_trading_day(D(2026, 12, 31))
    with pytest.raises(queries.CalendarNotCovered):
        queries.add_working_days(D(2026, 12, 30), 2)
    with pytest.raises(queries.CalendarNotCovered):
        queries.nth_working_day(2027, 1, 1)
