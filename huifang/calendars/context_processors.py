"""Warn administrators, on every page, when this year or next year is missing from the holiday table."""

from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from huifang.calendars.queries import uncovered_years_ahead


def calendar_coverage(request: HttpRequest) -> dict[str, Any]:
    """`calendar_banners`: one message per uncovered year (this year, next year), only for users who may edit
    the table; everyone else gets an empty list and costs no query."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.has_perm("calendars.change_specialday"):
        return {"calendar_banners": []}
    banners = [
        _(
            "The holidays of %(year)s are not in the calendar: working days and trading days of %(year)s "
            "cannot be computed. Enter them under Administration › Calendar and mark the year as covered."
        )
        % {"year": year}
        for year in uncovered_years_ahead(timezone.localdate())
    ]
    return {"calendar_banners": banners}
