"""Deadline, not-before and de-duplication policies of callback types: pure decisions over a WorkCalendar.

A policy is JSON stored on the callback type and validated by the pydantic models here. Every date is worked
out through `huifang.lib.workdays.WorkCalendar` (the calendar module's table): working days include make-up
weekends (调休), trading days never include a weekend. A date in a year the table does not cover raises
CalendarNotCovered: a deadline is never guessed.

The rule compiler asks these functions for every trigger date a run can meet (a few hundred at most) and
hands the answers to the database as a CASE over the trigger date: the arithmetic stays here, in one place,
while the database still creates every callback in one statement."""

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from huifang.lib.workdays import WorkCalendar, end_of_month, end_of_quarter

__all__ = [
    "DEADLINE_KINDS",
    "Deadline",
    "NotBefore",
    "PolicyError",
    "due_date",
    "expires_on",
    "not_before_day",
    "parse_deadline",
    "parse_not_before",
    "period_key",
    "period_start",
]

#: the day a callback may first be worked when its not-before policy names a day (next working day, ...)
WORK_STARTS_AT = dt.time(9, 0)


class PolicyError(ValueError):
    """A policy that cannot be stored: the message names the field, in Chinese."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CalendarDays(_Strict):
    kind: Literal["calendar_days"]
    n: int = Field(ge=0, le=366)


class WorkingDays(_Strict):
    kind: Literal["working_days"]
    n: int = Field(ge=0, le=250)


class TradingDays(_Strict):
    kind: Literal["trading_days"]
    n: int = Field(ge=0, le=250)


class NthWorkingDayNextMonth(_Strict):
    """The seeds' new-account rule: by the end of the n-th working day of the next month, that day included."""

    kind: Literal["nth_working_day_next_month"]
    n: int = Field(ge=1, le=23)


class EndOfMonth(_Strict):
    kind: Literal["end_of_month"]


class EndOfQuarter(_Strict):
    kind: Literal["end_of_quarter"]


Deadline = Annotated[
    CalendarDays | WorkingDays | TradingDays | NthWorkingDayNextMonth | EndOfMonth | EndOfQuarter,
    Field(discriminator="kind"),
]
DEADLINE_KINDS = {
    "calendar_days": "N 个自然日", "working_days": "N 个工作日", "trading_days": "N 个交易日",
    "nth_working_day_next_month": "次月第 N 个工作日", "end_of_month": "当月月底", "end_of_quarter": "当季季末",
}


class NoWait(_Strict):
    kind: Literal["none"]


class HoursAfter(_Strict):
    """Cooling-off (冷静期): `hours` after the latest of the event's time and the times its data names (e.g.
    signed_at and paid_at of a private-fund purchase: REGULATION item 9)."""

    kind: Literal["hours_after"]
    hours: int = Field(ge=1, le=24 * 60)
    after: list[Literal["signed_at", "paid_at"]] = []


class NextWorkingDay(_Strict):
    kind: Literal["next_working_day"]


class NextTradingDay(_Strict):
    """Checked after market close, called the next trading day (large transfers out)."""

    kind: Literal["next_trading_day"]


NotBefore = Annotated[NoWait | HoursAfter | NextWorkingDay | NextTradingDay, Field(discriminator="kind")]

_deadline_adapter: TypeAdapter[Deadline] = TypeAdapter(Deadline)
_not_before_adapter: TypeAdapter[NotBefore] = TypeAdapter(NotBefore)


def _message(error: ValidationError, label: str) -> str:
    problems = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or label
        problems.append(f"{where}：{item['msg']}")
    return f"{label}不正确：" + "；".join(problems)


def parse_deadline(value: object) -> Deadline:
    """The deadline policy stored as JSON, e.g. {"kind": "working_days", "n": 5}. Raises PolicyError."""
    try:
        return _deadline_adapter.validate_python(value)
    except ValidationError as error:
        raise PolicyError(_message(error, "完成时限")) from None


def parse_not_before(value: object) -> NotBefore:
    """The not-before policy stored as JSON, e.g. {"kind": "hours_after", "hours": 24}. Raises PolicyError."""
    try:
        return _not_before_adapter.validate_python(value or {"kind": "none"})
    except ValidationError as error:
        raise PolicyError(_message(error, "最早回访时间")) from None


def _add_trading_days(calendar: WorkCalendar, day: dt.date, n: int) -> dt.date:
    for _ in range(n):
        day = calendar.next_trading_day(day)
    return day


def due_date(calendar: WorkCalendar, trigger: dt.date, deadline: Deadline) -> dt.date:
    """The last day (included) the callback of something that happened on `trigger` may be done."""
    match deadline:
        case CalendarDays(n=n):
            return trigger + dt.timedelta(days=n)
        case WorkingDays(n=n):
            calendar.require_covered(trigger)
            return calendar.add_working_days(trigger, n)
        case TradingDays(n=n):
            return _add_trading_days(calendar, trigger, n)
        case NthWorkingDayNextMonth(n=n):
            first_of_next = end_of_month(trigger) + dt.timedelta(days=1)
            return calendar.nth_working_day(first_of_next.year, first_of_next.month, n)
        case EndOfMonth():
            return end_of_month(trigger)
        case EndOfQuarter():
            return end_of_quarter(trigger)
    raise PolicyError(f"未知的完成时限：{deadline!r}")


def not_before_day(calendar: WorkCalendar, trigger: dt.date, policy: NotBefore) -> dt.date | None:
    """The first day a callback may be worked for a policy that names a day; None for the other policies
    (none: at once; hours_after: counted from the event's time, by the database)."""
    match policy:
        case NextWorkingDay():
            return calendar.add_working_days(trigger, 1)
        case NextTradingDay():
            return calendar.next_trading_day(trigger)
    return None


def period_start(day: dt.date, period: str) -> dt.date:
    """The first day of the de-duplication period that holds `day` (for once/event: `day` itself)."""
    if period == "week":
        return day - dt.timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    if period == "quarter":
        return day.replace(day=1, month=(day.month - 1) // 3 * 3 + 1)
    if period == "year":
        return day.replace(day=1, month=1)
    return day


def period_key(day: dt.date, period: str) -> str:
    """The key of the period that holds `day`: with (customer, type) it is unique, so a customer gets one
    callback of a type per period. `event` periods are keyed by the event id, outside this function."""
    if period == "day":
        return day.isoformat()
    if period == "week":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    if period == "month":
        return f"{day:%Y-%m}"
    if period == "quarter":
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    if period == "year":
        return str(day.year)
    if period == "once":
        return "once"
    raise PolicyError(f"未知的去重周期：{period}")


def expires_on(due: dt.date, period: str) -> dt.date:
    """The day after which an unfinished callback expires (已过期): the end of the period its due date falls
    in; for day, once and event periods (no period of their own) the end of the due date's quarter, the
    catalogue's default period (DOMAIN.md "Deadlines")."""
    if period == "week":
        return due + dt.timedelta(days=6 - due.weekday())
    if period == "month":
        return end_of_month(due)
    if period == "year":
        return due.replace(month=12, day=31)
    return end_of_quarter(due)
