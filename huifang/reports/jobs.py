"""Background jobs of the reports app: each takes plain values, calls a service, returns JSON.

Scheduled by migration 0002 (report-delivery at 07:00 every day: each subscription mails its last complete period
once — daily ones yesterday, weekly ones last week on Mondays, monthly ones last month on the 1st; a day missed
is caught up by the next run, a failed mail retried)."""

from typing import Any

from django.tasks import task
from django.utils import timezone

from huifang.lib.workdays import parse_date
from huifang.reports import delivery


@task
def deliver_reports(as_of: str | None = None) -> dict[str, Any]:
    """Mail every enabled subscription whose due period before `as_of` (YYYY-MM-DD; default: today, local time)
    has not been sent; returns the ids sent, already sent, refused and failed (with the reasons)."""
    day = parse_date(as_of) if as_of else timezone.localdate()
    return delivery.deliver_due(day).as_json()

