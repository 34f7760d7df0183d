"""Background jobs of the callbacks app: each takes plain values, calls a service, returns JSON.

Scheduled by migration 0003 (callback-rules at 15:30 on trading days, callback-expiry at 00:30 every day); the
rule run is also the job to enqueue after an import (settings.HUIFANG_AFTER_IMPORT_TASKS)."""

from typing import Any

from django.tasks import task
from django.utils import timezone

from huifang.calendars.queries import invalidate_calendar_cache
from huifang.callbacks.choices import RunTrigger
from huifang.callbacks.schemas import run_out
from huifang.callbacks.services import expire_callbacks, run_rules
from huifang.lib.workdays import parse_date


@task
def run_callback_rules(as_of: str | None = None, trigger: str = RunTrigger.SCHEDULE) -> dict[str, Any]:
    """Run every active trigger rule as of `as_of` (YYYY-MM-DD; default: today, local time); returns the run's
    answer as the API gives it (run_id, created, counts per type and branch, errors)."""
    # A worker is a long-lived process: read the holiday table afresh rather than trust its copy.
    invalidate_calendar_cache()
    day = parse_date(as_of) if as_of else timezone.localdate()
    if trigger not in RunTrigger.values:
        trigger = RunTrigger.SCHEDULE
    answer = run_out(run_rules(as_of=day, trigger=trigger))
    return {**answer, "as_of": day.isoformat()}


@task
def expire_due_callbacks() -> int:
    """Mark every unfinished callback whose period has ended as expired (已过期); returns how many."""
    return expire_callbacks()
