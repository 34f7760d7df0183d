"""The due-decision, purely: clock times, last runs and day kinds, with no database."""

import datetime as dt

import pytest

from huifang.scheduling.rules import (
    EVERY_DAY,
    TRADING_DAY,
    WORKING_DAY,
    DayFacts,
    Verdict,
    decide,
    needs_calendar,
)

TUESDAY = dt.date(2026, 11, 24)
WORKING_TRADING = DayFacts(is_working_day=True, is_trading_day=True)
REST_DAY = DayFacts(is_working_day=False, is_trading_day=False)
MAKE_UP_WORKDAY = DayFacts(is_working_day=True, is_trading_day=False)
NOT_COVERED = DayFacts(is_working_day=None, is_trading_day=None)


def at(hour: int, minute: int = 0, second: int = 0, day: dt.date = TUESDAY) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute, second))


def verdict(
    *,
    now: dt.datetime,
    time_of_day: dt.time = dt.time(2, 0),
    day_kind: str = EVERY_DAY,
    last_run_on: dt.date | None = None,
    enabled: bool = True,
    day: DayFacts | None = WORKING_TRADING,
) -> Verdict:
    return decide(
        enabled=enabled, at=time_of_day, day_kind=day_kind, last_run_on=last_run_on, local_now=now, day=day
    )


def test_it_is_too_early_one_second_before_the_time_of_day() -> None:
    assert verdict(now=at(1, 59, 59)) == Verdict.TOO_EARLY


def test_it_is_due_at_the_exact_time_of_day() -> None:
    assert verdict(now=at(2, 0)) == Verdict.DUE


def test_a_run_missed_in_the_night_is_made_up_later_the_same_day() -> None:
    assert verdict(now=at(23, 59), last_run_on=TUESDAY - dt.timedelta(days=3)) == Verdict.DUE


def test_it_runs_once_a_day() -> None:
    assert verdict(now=at(23, 0), last_run_on=TUESDAY) == Verdict.ALREADY_HANDLED


def test_it_is_due_again_the_next_day() -> None:
    assert verdict(now=at(2, 0, day=TUESDAY + dt.timedelta(days=1)), last_run_on=TUESDAY) == Verdict.DUE


def test_a_last_run_in_the_future_counts_as_handled() -> None:
    # A clock set back (or a row edited by hand) must not make the job run twice.
    assert verdict(now=at(12), last_run_on=TUESDAY + dt.timedelta(days=1)) == Verdict.ALREADY_HANDLED


def test_a_disabled_schedule_is_never_due() -> None:
    assert verdict(now=at(12), enabled=False) == Verdict.DISABLED


def test_an_aware_local_time_is_compared_as_wall_clock_time() -> None:
    shanghai = dt.timezone(dt.timedelta(hours=8))
    assert verdict(now=at(2, 0).replace(tzinfo=shanghai)) == Verdict.DUE
    assert verdict(now=at(1, 59).replace(tzinfo=shanghai)) == Verdict.TOO_EARLY


@pytest.mark.parametrize(
    ("day_kind", "day", "expected"),
    [
        (EVERY_DAY, REST_DAY, Verdict.DUE),
        (EVERY_DAY, None, Verdict.DUE),
        (WORKING_DAY, WORKING_TRADING, Verdict.DUE),
        (WORKING_DAY, REST_DAY, Verdict.NOT_THIS_KIND_OF_DAY),
        (WORKING_DAY, MAKE_UP_WORKDAY, Verdict.DUE),
        (TRADING_DAY, WORKING_TRADING, Verdict.DUE),
        (TRADING_DAY, REST_DAY, Verdict.NOT_THIS_KIND_OF_DAY),
        (TRADING_DAY, MAKE_UP_WORKDAY, Verdict.NOT_THIS_KIND_OF_DAY),
    ],
)
def test_day_kind_decides_which_days_fit(day_kind: str, day: DayFacts | None, expected: Verdict) -> None:
    assert verdict(now=at(12), day_kind=day_kind, day=day) == expected


@pytest.mark.parametrize("day_kind", [WORKING_DAY, TRADING_DAY])
def test_an_uncovered_year_gives_no_answer_instead_of_a_guess(day_kind: str) -> None:
    assert verdict(now=at(12), day_kind=day_kind, day=NOT_COVERED) == Verdict.CALENDAR_NOT_COVERED


def test_the_clock_is_checked_before_the_calendar() -> None:
    # Before the time of day nothing is decided yet, so an uncovered year is not reported every tick.
    assert verdict(now=at(1), day_kind=TRADING_DAY, day=NOT_COVERED) == Verdict.TOO_EARLY


def test_only_working_and_trading_days_need_the_calendar() -> None:
    assert [needs_calendar(kind) for kind in (EVERY_DAY, WORKING_DAY, TRADING_DAY)] == [False, True, True]


def test_an_unknown_day_kind_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown day kind"):
        verdict(now=at(12), day_kind="full_moon")


def test_a_calendar_day_kind_without_calendar_facts_is_an_error() -> None:
    with pytest.raises(ValueError, match="needs the calendar"):
        verdict(now=at(12), day_kind=WORKING_DAY, day=None)
