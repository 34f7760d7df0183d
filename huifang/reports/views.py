"""The home page: what each role needs first."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from huifang.reports.queries import home_panels


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "reports/home.html", {"panels": home_panels(request.user)})
