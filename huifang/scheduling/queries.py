"""Reads for the scheduler: which schedules to consider today, and what the calendar says about a day."""

from datetime import date

from django.db.models import Q, QuerySet

from huifang.calendars import queries as calendar_queries
from huifang.scheduling.models import ScheduledJob
from huifang.scheduling.rules import DayFacts


def jobs_not_handled_on(*, today: date) -> QuerySet[ScheduledJob]:
    """Enabled schedules the scheduler has not claimed for `today`; `rules.decide` says which are due."""
    not_yet_today = Q(last_run_on__isnull=True) | Q(last_run_on__lt=today)
    return ScheduledJob.objects.filter(not_yet_today, is_enabled=True)


def day_facts(day: date) -> DayFacts:
    """The calendar's answer about `day`; None where the calendar does not cover the year (never a guess)."""
    try:
        is_working = calendar_queries.is_working_day(day)
    except calendar_queries.CalendarNotCovered:
        is_working = None
    try:
        is_trading = calendar_queries.is_trading_day(day)
    except calendar_queries.CalendarNotCovered:
        is_trading = None
    return DayFacts(is_working_day=is_working, is_trading_day=is_trading)
