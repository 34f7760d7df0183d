"""Working days and trading days for mainland China. Pure: no Django, no database.

A `WorkCalendar` is built from the holiday table (sets of dates and the years the table covers) and answers
every question about days. A date in a year the table does not cover raises `CalendarNotCovered`: the
calendar never guesses from the plain week, because next year's holidays are only known once the State
Council publishes them.

- Working day (工作日): Monday–Friday that is not a holiday, or a weekend make-up working day (调休上班).
- Trading day (交易日): Monday–Friday that is neither a holiday nor an exchange closure. The exchange is
  closed on every weekend, make-up working weekends included.
"""

import calendar
import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

ONE_DAY = dt.timedelta(days=1)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
SATURDAY = 5


class CalendarNotCovered(Exception):
    """A date falls in a year whose holidays are not in the table."""

    def __init__(self, year: int) -> None:
        self.year = year
        super().__init__(
            f"{year} 年的节假日未录入日历表，无法计算工作日；请管理员在 管理后台 › 日历 中补录"
        )


def is_weekend(day: dt.date) -> bool:
    return day.weekday() >= SATURDAY


def end_of_month(day: dt.date) -> dt.date:
    """The last calendar day of the month of `day`."""
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def end_of_quarter(day: dt.date) -> dt.date:
    """The last calendar day of the quarter of `day` (31 Mar, 30 Jun, 30 Sep or 31 Dec)."""
    # Months 1-3 -> 3, 4-6 -> 6, 7-9 -> 9, 10-12 -> 12.
    last_month = ((day.month - 1) // 3 + 1) * 3
    return end_of_month(day.replace(day=1, month=last_month))


def format_year_ranges(years: Iterable[int]) -> str:
    """Years as compact ranges: [2004, 2005, 2006, 2028] -> "2004–2006, 2028"; "" for none."""
    ranges: list[list[int]] = []
    for year in sorted(set(years)):
        if ranges and year == ranges[-1][1] + 1:
            ranges[-1][1] = year
        else:
            ranges.append([year, year])
    return ", ".join(str(first) if first == last else f"{first}–{last}" for first, last in ranges)


def parse_date(text: str) -> dt.date:
    """A date written `YYYY-MM-DD`. Raises ValueError with a message fit to show a user."""
    text = text.strip()
    # fromisoformat alone would also take 20260104 or 2026-W01-7; only the one written form is accepted.
    if _ISO_DATE.fullmatch(text):
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            pass
    raise ValueError(f"日期无效：{text!r}，应为 YYYY-MM-DD 格式的日期，例如 2026-01-04")


def parse_month(text: str) -> tuple[int, int]:
    """A month `YYYY-MM` as (year, month). Raises ValueError with a message fit to show a user."""
    parts = text.strip().split("-")
    if len(parts) == 2 and len(parts[0]) == 4 and parts[0].isdigit() and parts[1].isdigit():
        year, month = int(parts[0]), int(parts[1])
        if year >= dt.MINYEAR and 1 <= month <= 12:
            return year, month
    raise ValueError(f"月份无效：{text!r}，应为 YYYY-MM 格式，例如 2026-02")


@dataclass(frozen=True, eq=False)
class WorkCalendar:
    """The holiday table as values. `holidays` are days off (weekday or weekend), `workdays` are weekend
    make-up working days, `market_closures` are weekdays the exchange is closed although people work.
    Only dates in `covered_years` may be asked about."""

    holidays: frozenset[dt.date]
    workdays: frozenset[dt.date]
    covered_years: frozenset[int]
    market_closures: frozenset[dt.date] = frozenset()
    names: Mapping[dt.date, str] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def build(
        cls,
        *,
        holidays: Iterable[dt.date],
        workdays: Iterable[dt.date],
        covered_years: Iterable[int],
        market_closures: Iterable[dt.date] = (),
        names: Mapping[dt.date, str] | None = None,
    ) -> "WorkCalendar":
        """Build from any iterables. Raises ValueError if a date is both a holiday and a make-up day."""
        holiday_set, workday_set = frozenset(holidays), frozenset(workdays)
        both = holiday_set & workday_set
        if both:
            listed = "、".join(day.isoformat() for day in sorted(both))
            raise ValueError(f"同一天不能既是节假日又是调休上班日：{listed}")
        return cls(
            holidays=holiday_set,
            workdays=workday_set,
            covered_years=frozenset(covered_years),
            market_closures=frozenset(market_closures),
            names=MappingProxyType(dict(names or {})),
        )

    def is_covered(self, year: int) -> bool:
        return year in self.covered_years

    def require_covered(self, day: dt.date) -> None:
        """Raise CalendarNotCovered unless the year of `day` is in the table."""
        if day.year not in self.covered_years:
            raise CalendarNotCovered(day.year)

    def is_working_day(self, day: dt.date) -> bool:
        self.require_covered(day)
        if day in self.workdays:
            return True
        return not is_weekend(day) and day not in self.holidays

    def is_trading_day(self, day: dt.date) -> bool:
        self.require_covered(day)
        # Make-up working weekends are not trading days: the exchange never opens on a weekend.
        return not is_weekend(day) and day not in self.holidays and day not in self.market_closures

    def name(self, day: dt.date) -> str:
        """The holiday's name for a holiday or make-up day (e.g. 春节), else ''. Needs no coverage."""
        return self.names.get(day, "")

    def add_working_days(self, day: dt.date, n: int) -> dt.date:
        """n > 0: the n-th working day after `day`; n < 0: the |n|-th working day before it;
        n == 0: `day` itself if it is a working day, else the next working day.
        Raises CalendarNotCovered if `day` or any day walked over lies in an uncovered year."""
        self.require_covered(day)
        if n == 0:
            while not self.is_working_day(day):
                day += ONE_DAY
            return day
        step = ONE_DAY if n > 0 else -ONE_DAY
        remaining = abs(n)
        while remaining:
            day += step
            if self.is_working_day(day):
                remaining -= 1
        return day

    def working_days_in_month(self, year: int, month: int) -> list[dt.date]:
        first = dt.date(year, month, 1)
        self.require_covered(first)
        days = (first + dt.timedelta(days=offset) for offset in range(end_of_month(first).day))
        return [day for day in days if self.is_working_day(day)]

    def nth_working_day(self, year: int, month: int, n: int) -> dt.date:
        """The n-th working day of the month (n = 1 is the first); negative n counts from the end
        (n = -1 is the last). Raises ValueError for n == 0 or beyond the month's working days."""
        days = self.working_days_in_month(year, month)
        if n == 0 or abs(n) > len(days):
            raise ValueError(f"{year} 年 {month} 月只有 {len(days)} 个工作日，无法取第 {n} 个")
        return days[n - 1] if n > 0 else days[n]

    def next_trading_day(self, day: dt.date) -> dt.date:
        """The first trading day strictly after `day`."""
        self.require_covered(day)
        day += ONE_DAY
        while not self.is_trading_day(day):
            day += ONE_DAY
        return day
