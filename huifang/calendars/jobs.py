"""Background jobs of the calendar."""

import logging

from django.tasks import task
from django.utils import timezone

from huifang.calendars.queries import invalidate_calendar_cache, uncovered_years_ahead

logger = logging.getLogger(__name__)


@task
def check_calendar_coverage() -> list[int]:
    """Daily: log a warning for this year or next year missing from the holiday table, so the gap is noticed
    before the first date of that year is asked about. Returns the missing years; writes nothing."""
    # A worker is a long-lived process: read the table afresh rather than trust its copy.
    invalidate_calendar_cache()
    missing = uncovered_years_ahead(timezone.localdate())
    for year in missing:
        logger.warning("%s 年的节假日未录入日历表：请管理员在 管理后台 › 日历 中补录", year)
    return missing
