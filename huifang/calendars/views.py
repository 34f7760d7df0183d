"""The calendar page: one year's holidays, make-up working days and coverage; administrators edit it here
(htmx) or in the administration pages. Writes go through the services."""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_htmx.middleware import HtmxDetails

from huifang.calendars import queries, services
from huifang.calendars.forms import SpecialDayForm
from huifang.lib.workdays import format_year_ranges

MIN_YEAR, MAX_YEAR = 2000, 2100


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def _year_from(value: str | None) -> int:
    """The year asked for, or this year if the value is missing or out of range."""
    today = timezone.localdate()
    if value and value.isdigit() and MIN_YEAR <= int(value) <= MAX_YEAR:
        return int(value)
    return today.year


def _year_view(request: HtmxHttpRequest, year: int, form: SpecialDayForm | None = None) -> HttpResponse:
    """The page, or only its year view for an htmx request (navigation and edits swap #calendar-year)."""
    context = {
        "overview": queries.year_overview(year),
        "form": form or SpecialDayForm(initial={"date": dt.date(year, 1, 1)}),
        "previous_year": year - 1,
        "next_year": year + 1,
        "covered_ranges": format_year_ranges(sorted(queries.covered_years())),
    }
    template = "calendars/index.html#year-view" if request.htmx else "calendars/index.html"
    return render(request, template, context)


def _after_write(request: HtmxHttpRequest, year: int) -> HttpResponse:
    if request.htmx:
        return _year_view(request, year)
    return redirect(f"{reverse('calendars:index')}?year={year}")


@login_required
@permission_required("calendars.view_specialday", raise_exception=True)
def index(request: HtmxHttpRequest) -> HttpResponse:
    return _year_view(request, _year_from(request.GET.get("year")))


@login_required
@require_POST
@permission_required(["calendars.add_specialday", "calendars.change_specialday"], raise_exception=True)
def set_day(request: HtmxHttpRequest) -> HttpResponse:
    form = SpecialDayForm(request.POST)
    if not form.is_valid():
        return _year_view(request, _year_from(request.POST.get("year")), form)
    date: dt.date = form.cleaned_data["date"]
    try:
        services.set_special_day(date=date, kind=form.cleaned_data["kind"], name=form.cleaned_data["name"],
                                 actor=request.user)
    except ValidationError as error:
        for field, errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
        return _year_view(request, date.year, form)
    messages.success(request, _("%(date)s saved.") % {"date": date.isoformat()})
    return _after_write(request, date.year)


@login_required
@require_POST
@permission_required("calendars.delete_specialday", raise_exception=True)
def clear_day(request: HtmxHttpRequest, date: dt.date) -> HttpResponse:
    if services.clear_special_day(date=date, actor=request.user):
        messages.success(request, _("%(date)s is a plain day again.") % {"date": date.isoformat()})
    return _after_write(request, date.year)


@login_required
@require_POST
@permission_required(["calendars.add_coveredyear", "calendars.change_coveredyear"], raise_exception=True)
def cover_year(request: HtmxHttpRequest, year: int) -> HttpResponse:
    try:
        services.mark_year_covered(year=year, source=_("entered by an administrator"), actor=request.user)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("%(year)s is now covered by the calendar.") % {"year": year})
    return _after_write(request, year)


@login_required
@require_POST
@permission_required(["calendars.add_specialday", "calendars.add_coveredyear"], raise_exception=True)
def import_year(request: HtmxHttpRequest, year: int) -> HttpResponse:
    try:
        added = services.seed_from_chinesecalendar(years=[year], actor=request.user)
    except ValueError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("Imported %(count)s days of %(year)s from chinesecalendar.")
                         % {"count": added[year], "year": year})
    return _after_write(request, year)
