"""Report periods (报表周期): a day, a week (Monday to Sunday), a month, a quarter, a half-year or a year, named by a
key that pages, exports, the API and the mailing jobs share:

    day      2026-11-05        week     2026-W45        month    2026-11
    quarter  2026-Q4           half     2026-H2         year     2026

Pure: no ORM. A period is a range of local dates [start, end] (end included); `bounds()` gives the aware
datetimes [start 00:00, day after end 00:00) in the current time zone for filtering timestamps."""

import datetime as dt
import re
from dataclasses import dataclass

from django.utils import timezone

KINDS = ("day", "week", "month", "quarter", "half", "year")
KIND_LABELS = {"day": "日", "week": "周", "month": "月", "quarter": "季度", "half": "半年", "year": "年"}


class PeriodError(ValueError):
    """A period key or kind that cannot be read; the message names it, in Chinese."""


@dataclass(frozen=True)
class Period:
    kind: str
    start: dt.date
    #: the last day, included
    end: dt.date

    @property
    def key(self) -> str:
        if self.kind == "day":
            return self.start.isoformat()
        if self.kind == "week":
            year, week, _ = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        if self.kind == "month":
            return f"{self.start.year}-{self.start.month:02d}"
        if self.kind == "quarter":
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        if self.kind == "half":
            return f"{self.start.year}-H{1 if self.start.month <= 6 else 2}"
        return str(self.start.year)

    @property
    def label(self) -> str:
        """In Chinese, for titles: 2026年11月5日, 2026年第45周, 2026年11月, 2026年第4季度, 2026年下半年, 2026年."""
        s = self.start
        if self.kind == "day":
            return f"{s.year}年{s.month}月{s.day}日"
        if self.kind == "week":
            year, week, _ = s.isocalendar()
            return f"{year}年第{week}周（{s.month}月{s.day}日—{self.end.month}月{self.end.day}日）"
        if self.kind == "month":
            return f"{s.year}年{s.month}月"
        if self.kind == "quarter":
            return f"{s.year}年第{(s.month - 1) // 3 + 1}季度"
        if self.kind == "half":
            return f"{s.year}年{'上' if s.month <= 6 else '下'}半年"
        return f"{s.year}年"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """[start, end) as aware datetimes at local midnight."""
        zone = timezone.get_current_timezone()
        start = dt.datetime.combine(self.start, dt.time(), tzinfo=zone)
        end = dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time(), tzinfo=zone)
        return start, end

    def previous(self) -> "Period":
        return period_containing(self.kind, self.start - dt.timedelta(days=1))

    def next(self) -> "Period":
        return period_containing(self.kind, self.end + dt.timedelta(days=1))

    def contains(self, day: dt.date) -> bool:
        return self.start <= day <= self.end


def _month_end(year: int, month: int) -> dt.date:
    first_next = dt.date(year + month // 12, month % 12 + 1, 1)
    return first_next - dt.timedelta(days=1)


def period_containing(kind: str, day: dt.date) -> Period:
    """The period of `kind` that contains `day`."""
    if kind == "day":
        return Period(kind, day, day)
    if kind == "week":
        start = day - dt.timedelta(days=day.weekday())
        return Period(kind, start, start + dt.timedelta(days=6))
    if kind == "month":
        return Period(kind, day.replace(day=1), _month_end(day.year, day.month))
    if kind == "quarter":
        first = (day.month - 1) // 3 * 3 + 1
        return Period(kind, dt.date(day.year, first, 1), _month_end(day.year, first + 2))
    if kind == "half":
        first = 1 if day.month <= 6 else 7
        return Period(kind, dt.date(day.year, first, 1), _month_end(day.year, first + 5))
    if kind == "year":
        return Period(kind, dt.date(day.year, 1, 1), dt.date(day.year, 12, 31))
    raise PeriodError(f"未知的报表周期类型“{kind}”（可选：{'、'.join(KINDS)}）")


_PATTERNS = [
    ("day", re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")),
    ("week", re.compile(r"^(\d{4})-W(\d{2})$")),
    ("month", re.compile(r"^(\d{4})-(\d{2})$")),
    ("quarter", re.compile(r"^(\d{4})-Q([1-4])$")),
    ("half", re.compile(r"^(\d{4})-H([12])$")),
    ("year", re.compile(r"^(\d{4})$")),
]


def parse_period(key: str) -> Period:
    """The period named by `key` (see the module's doc); PeriodError naming the key otherwise."""
    key = (key or "").strip().upper()
    for kind, pattern in _PATTERNS:
        match = pattern.match(key)
        if not match:
            continue
        numbers = [int(g) for g in match.groups()]
        try:
            if kind == "day":
                return period_containing(kind, dt.date(*numbers))
            if kind == "week":
                return period_containing(kind, dt.date.fromisocalendar(numbers[0], numbers[1], 1))
            if kind == "month":
                return period_containing(kind, dt.date(numbers[0], numbers[1], 1))
            if kind == "quarter":
                return period_containing(kind, dt.date(numbers[0], numbers[1] * 3 - 2, 1))
            if kind == "half":
                return period_containing(kind, dt.date(numbers[0], numbers[1] * 6 - 5, 1))
            return period_containing(kind, dt.date(numbers[0], 1, 1))
        except ValueError:
            break
    raise PeriodError(f"无法识别的报表周期“{key}”：应为 2026-11-05、2026-W45、2026-11、2026-Q4、2026-H2 或 2026")
