"""Calendar endpoints at /api/v1/calendar: read-only answers about working and trading days.

A date in a year the table does not cover answers 422 with the Chinese message (never a guess); a date or
number that cannot be read answers 422 too."""

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.errors import HttpError

from huifang.calendars import queries
from huifang.lib.workdays import CalendarNotCovered, parse_date, parse_month

router = Router(tags=["calendar"])


class DayOut(Schema):
    date: dt.date
    is_working_day: bool
    is_trading_day: bool
    name: str


class NextTradingDayOut(Schema):
    date: dt.date
    next_trading_day: dt.date


class WorkingDayOut(Schema):
    date: dt.date


class CalendarErrorOut(Schema):
    # Named apart from customers' ErrorOut: the OpenAPI document keys schemas by class name.
    # A message for an uncovered year or an unreadable argument; a list of field errors from validation.
    code: str
    message: str
    detail: str | list[dict[str, Any]]


def _answer[T](compute: Callable[[], T]) -> T:
    """Run a calendar question, turning an uncovered year or a bad argument into a 422."""
    try:
        return compute()
    except CalendarNotCovered as error:
        raise HttpError(422, str(error)) from error
    except ValueError as error:
        raise HttpError(422, str(error)) from error


def _date(text: str) -> dt.date:
    return _answer(lambda: parse_date(text))


@router.get("/days/{date}", response={200: DayOut, 422: CalendarErrorOut},
            summary="Is a date a working day, a trading day?")
def get_day(request: HttpRequest, date: str) -> DayOut:
    day = _date(date)
    return _answer(
        lambda: DayOut(
            date=day,
            is_working_day=queries.is_working_day(day),
            is_trading_day=queries.is_trading_day(day),
            name=queries.day_name(day),
        )
    )


@router.get("/next-trading-day", response={200: NextTradingDayOut, 422: CalendarErrorOut},
            summary="The first trading day after a date")
def get_next_trading_day(request: HttpRequest, date: str) -> NextTradingDayOut:
    day = _date(date)
    return NextTradingDayOut(date=day, next_trading_day=_answer(lambda: queries.next_trading_day(day)))


@router.get("/add-working-days", response={200: WorkingDayOut, 422: CalendarErrorOut},
            summary="Count working days from a date")
def get_add_working_days(request: HttpRequest, date: str, n: int) -> WorkingDayOut:
    day = _date(date)
    return WorkingDayOut(date=_answer(lambda: queries.add_working_days(day, n)))


@router.get("/nth-working-day", response={200: WorkingDayOut, 422: CalendarErrorOut},
            summary="The n-th working day of a month (YYYY-MM)")
def get_nth_working_day(request: HttpRequest, month: str, n: int) -> WorkingDayOut:
    year, month_number = _answer(lambda: parse_month(month))
    return WorkingDayOut(date=_answer(lambda: queries.nth_working_day(year, month_number, n)))
