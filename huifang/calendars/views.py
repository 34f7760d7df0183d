from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from huifang.calendars.models import CoveredYear, SpecialDay


@login_required
@permission_required("calendars.view_specialday", raise_exception=True)
def index(request: HttpRequest) -> HttpResponse:
    return render(request, "calendars/index.html",
                  {"years": CoveredYear.objects.all(), "days": SpecialDay.objects.all()})
