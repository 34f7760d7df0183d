"""Reading the holiday table: working days, trading days and coverage, for every other app.

The table is small (a few hundred rows), so it is read whole into a `WorkCalendar` and kept in this process.
Services drop the copy when they change the table (at once and again on commit); a change made by another
process shows here after at most CACHE_SECONDS.
"""

import datetime as dt
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import QuerySet

from huifang.calendars import rules
from huifang.calendars.models import CoveredYear, DayKind, SpecialDay
from huifang.lib.workdays import CalendarNotCovered, WorkCalendar, end_of_month, end_of_quarter

__all__ = [
    "CACHE_SECONDS",
    "CalendarNotCovered",
    "add_working_days",
    "covered_year",
    "covered_years",
    "day_name",
    "end_of_month",
    "end_of_quarter",
    "invalidate_calendar_cache",
    "is_trading_day",
    "is_working_day",
    "next_trading_day",
    "nth_working_day",
    "special_days_of_year",
    "uncovered_years_ahead",
    "work_calendar",
    "year_overview",
]

CACHE_SECONDS = 60.0

# Replaced in tests to move time forward without sleeping.
_clock: Callable[[], float] = time.monotonic
_lock = threading.Lock()
_cached: tuple[float, WorkCalendar] | None = None


def _load() -> WorkCalendar:
    holidays: set[dt.date] = set()
    workdays: set[dt.date] = set()
    closures: set[dt.date] = set()
    names: dict[dt.date, str] = {}
    by_kind = {DayKind.HOLIDAY: holidays, DayKind.WORKDAY: workdays, DayKind.MARKET_CLOSED: closures}
    for date, kind, name in SpecialDay.objects.values_list("date", "kind", "name"):
        by_kind[DayKind(kind)].add(date)
        if name:
            names[date] = name
    return WorkCalendar.build(
        holidays=holidays,
        workdays=workdays,
        market_closures=closures,
        covered_years=CoveredYear.objects.values_list("year", flat=True),
        names=names,
    )


def work_calendar() -> WorkCalendar:
    """The whole table as a WorkCalendar, from this process's copy if it is younger than CACHE_SECONDS."""
    global _cached
    cached = _cached
    now = _clock()
    if cached is not None and now - cached[0] < CACHE_SECONDS:
        return cached[1]
    with _lock:
        # Another thread may have read the table while this one waited for the lock.
        cached = _cached
        if cached is not None and now - cached[0] < CACHE_SECONDS:
            return cached[1]
        calendar = _load()
        _cached = (now, calendar)
    return calendar


def invalidate_calendar_cache() -> None:
    """Forget this process's copy; the next question reads the table again."""
    global _cached
    _cached = None


def is_working_day(d: dt.date) -> bool:
    """Raises CalendarNotCovered for a date in a year the table does not cover."""
    return work_calendar().is_working_day(d)


def is_trading_day(d: dt.date) -> bool:
    """Raises CalendarNotCovered for a date in a year the table does not cover."""
    return work_calendar().is_trading_day(d)


def add_working_days(d: dt.date, n: int) -> dt.date:
    """n > 0: the n-th working day after d; n < 0: counting back; n == 0: d, or the next working day if d is
    not one. Raises CalendarNotCovered if d or any day counted lies in an uncovered year."""
    return work_calendar().add_working_days(d, n)


def nth_working_day(year: int, month: int, n: int) -> dt.date:
    """The n-th working day of the month (1 = first, -1 = last). Raises ValueError for n == 0 or more than
    the month has, CalendarNotCovered for an uncovered year."""
    return work_calendar().nth_working_day(year, month, n)


def next_trading_day(d: dt.date) -> dt.date:
    """The first trading day strictly after d. Raises CalendarNotCovered when it would leave the table."""
    return work_calendar().next_trading_day(d)


def day_name(d: dt.date) -> str:
    """The holiday a special day belongs to (e.g. 春节), or ''."""
    return work_calendar().name(d)


def covered_years() -> frozenset[int]:
    return work_calendar().covered_years


def uncovered_years_ahead(today: dt.date) -> list[int]:
    """This year and next year, those of them the table does not cover: what an administrator must add."""
    covered = covered_years()
    return [year for year in (today.year, today.year + 1) if year not in covered]


def special_days_of_year(year: int) -> QuerySet[SpecialDay]:
    return SpecialDay.objects.filter(date__year=year).order_by("date")


def covered_year(year: int) -> CoveredYear | None:
    return CoveredYear.objects.filter(year=year).first()


@dataclass(frozen=True)
class DayRow:
    day: SpecialDay
    is_working_day: bool | None  # None: the year is not covered, so there is no answer
    is_trading_day: bool | None


@dataclass(frozen=True)
class MonthSummary:
    month: int
    working_days: int
    trading_days: int
    first_working_day: dt.date | None  # None only for a month an administrator made all holidays
    last_working_day: dt.date | None


@dataclass(frozen=True)
class YearOverview:
    year: int
    covered: CoveredYear | None
    rows: list[DayRow]
    months: list[MonthSummary]  # empty for an uncovered year
    can_import: bool  # the installed chinesecalendar has this year


def year_overview(year: int) -> YearOverview:
    """Everything the calendar page shows for one year: coverage, its special days with their answers and,
    for a covered year, the number of working and trading days of each month."""
    calendar = work_calendar()
    is_covered = calendar.is_covered(year)
    rows = [
        DayRow(
            day=day,
            is_working_day=calendar.is_working_day(day.date) if is_covered else None,
            is_trading_day=calendar.is_trading_day(day.date) if is_covered else None,
        )
        for day in special_days_of_year(year)
    ]
    months: list[MonthSummary] = []
    if is_covered:
        for month in range(1, 13):
            working = calendar.working_days_in_month(year, month)
            first = dt.date(year, month, 1)
            days = (first + dt.timedelta(days=offset) for offset in range(end_of_month(first).day))
            trading = sum(1 for day in days if calendar.is_trading_day(day))
            months.append(MonthSummary(month, len(working), trading, working[0] if working else None,
                                       working[-1] if working else None))
    return YearOverview(
        year=year,
        covered=covered_year(year),
        rows=rows,
        months=months,
        can_import=year in rules.official_years(),
    )
