"""Deadline, not-before and period policies over the real holiday table (2026: National Day 1–7 October, make-up
working days Sunday 20 September and Saturday 10 October; Mid-Autumn Friday 25 September)."""

import datetime as dt

import pytest

from huifang.calendars.queries import work_calendar
from huifang.campaigns import rules
from huifang.lib.workdays import CalendarNotCovered

D = dt.date


@pytest.fixture
def calendar(db: object) -> object:
    return work_calendar()


def due(calendar: object, trigger: dt.date, policy: dict) -> dt.date:
    return rules.due_date(calendar, trigger, rules.parse_deadline(policy))  # type: ignore[arg-type]


def test_working_days_skip_the_national_day_break(calendar: object) -> None:
    # 30 Sep (Wed) + 1 working day: 1–7 Oct are holidays, 8 Oct is the next working day.
    assert due(calendar, D(2026, 9, 30), {"kind": "working_days", "n": 1}) == D(2026, 10, 8)


def test_working_days_count_a_make_up_saturday(calendar: object) -> None:
    # 9 Oct (Fri) + 1 working day is Saturday 10 Oct, a make-up working day (调休上班).
    assert due(calendar, D(2026, 10, 9), {"kind": "working_days", "n": 1}) == D(2026, 10, 10)


def test_trading_days_never_count_a_make_up_saturday(calendar: object) -> None:
    # The exchange is closed on every weekend, make-up working Saturdays included.
    assert due(calendar, D(2026, 10, 9), {"kind": "trading_days", "n": 1}) == D(2026, 10, 12)
    assert due(calendar, D(2026, 9, 30), {"kind": "trading_days", "n": 2}) == D(2026, 10, 9)


def test_fifth_working_day_of_next_month_counts_the_make_up_day(calendar: object) -> None:
    # October 2026: 8, 9, 10 (Sat, make-up), 12, 13.
    assert due(calendar, D(2026, 9, 15), {"kind": "nth_working_day_next_month", "n": 5}) == D(2026, 10, 13)


def test_calendar_days_end_of_month_and_quarter(calendar: object) -> None:
    assert due(calendar, D(2026, 9, 30), {"kind": "calendar_days", "n": 7}) == D(2026, 10, 7)
    assert due(calendar, D(2026, 2, 10), {"kind": "end_of_month"}) == D(2026, 2, 28)
    assert due(calendar, D(2026, 8, 10), {"kind": "end_of_quarter"}) == D(2026, 9, 30)


def test_a_deadline_in_an_uncovered_year_raises_instead_of_guessing(calendar: object) -> None:
    with pytest.raises(CalendarNotCovered):
        due(calendar, D(2026, 12, 20), {"kind": "nth_working_day_next_month", "n": 5})


def test_next_trading_day_not_before(calendar: object) -> None:
    policy = rules.parse_not_before({"kind": "next_trading_day"})
    assert rules.not_before_day(calendar, D(2026, 9, 30), policy) == D(2026, 10, 8)  # type: ignore[arg-type]


def test_period_keys() -> None:
    assert rules.period_key(D(2026, 11, 3), "month") == "2026-11"
    assert rules.period_key(D(2026, 11, 3), "quarter") == "2026-Q4"
    assert rules.period_key(D(2026, 1, 1), "week") == "2026-W01"
    assert rules.period_key(D(2026, 11, 3), "day") == "2026-11-03"
    assert rules.period_key(D(2026, 11, 3), "once") == "once"


def test_expiry_is_the_end_of_the_due_dates_period() -> None:
    assert rules.expires_on(D(2026, 11, 3), "month") == D(2026, 11, 30)
    assert rules.expires_on(D(2026, 11, 3), "once") == D(2026, 12, 31)
    assert rules.expires_on(D(2026, 11, 3), "week") == D(2026, 11, 8)


def test_a_bad_policy_is_refused_with_its_field_named() -> None:
    with pytest.raises(rules.PolicyError, match="完成时限"):
        rules.parse_deadline({"kind": "working_days", "n": -1})
    with pytest.raises(rules.PolicyError, match="最早回访时间"):
        rules.parse_not_before({"kind": "hours_after"})
