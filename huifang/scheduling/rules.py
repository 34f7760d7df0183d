"""When is a schedule due? Pure decisions over plain values: no ORM, no clock, no calendar look-ups.

The caller reads the clock (local wall-clock time) and asks the calendar about today, and hands both in."""

from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum

# Day kinds, as stored in ScheduledJob.day_kind (choices.DayKind gives them labels).
EVERY_DAY = "every_day"
WORKING_DAY = "working_day"
TRADING_DAY = "trading_day"


class Verdict(StrEnum):
    DUE = "due"
    DISABLED = "disabled"
    ALREADY_HANDLED = "already_handled"
    TOO_EARLY = "too_early"
    NOT_THIS_KIND_OF_DAY = "not_this_kind_of_day"
    CALENDAR_NOT_COVERED = "calendar_not_covered"


@dataclass(frozen=True, slots=True)
class DayFacts:
    """What the calendar says about one date. None: the calendar does not cover that date's year."""

    is_working_day: bool | None
    is_trading_day: bool | None


def needs_calendar(day_kind: str) -> bool:
    """Whether deciding for this day kind needs the holiday calendar."""
    return day_kind in (WORKING_DAY, TRADING_DAY)


def decide(
    *,
    enabled: bool,
    at: time,
    day_kind: str,
    last_run_on: date | None,
    local_now: datetime,
    day: DayFacts | None,
) -> Verdict:
    """The verdict for one schedule at `local_now` (wall-clock time where the schedule's `at` applies).

    A schedule is due once a day, on a day of its kind, from its time of day on. A run missed while no
    scheduler was running is made up later the same day, never on a later day. `day` may be None only for
    every_day schedules. A calendar that does not cover the year gives CALENDAR_NOT_COVERED: never guess."""
    today = local_now.date()
    if not enabled:
        return Verdict.DISABLED
    if last_run_on is not None and last_run_on >= today:
        return Verdict.ALREADY_HANDLED
    # Compare wall-clock times without tzinfo: `at` is naive local time by definition.
    if local_now.time().replace(tzinfo=None) < at:
        return Verdict.TOO_EARLY
    if day_kind == EVERY_DAY:
        return Verdict.DUE
    if day_kind not in (WORKING_DAY, TRADING_DAY):
        raise ValueError(f"unknown day kind {day_kind!r}")
    if day is None:
        raise ValueError(f"a {day_kind} schedule needs the calendar's facts about {today}")
    fits = day.is_working_day if day_kind == WORKING_DAY else day.is_trading_day
    if fits is None:
        return Verdict.CALENDAR_NOT_COVERED
    return Verdict.DUE if fits else Verdict.NOT_THIS_KIND_OF_DAY
