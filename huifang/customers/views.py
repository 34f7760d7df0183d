"""Customer pages (htmx). Any logged-in user with a branch sees that branch's customers; HQ sees all.
Phones are shown masked; "显示号码" reveals one through the audited service."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST
from django_htmx.middleware import HtmxDetails

from huifang.customers.queries import (
    access_contact_point,
    access_customer_by_no,
    customer_phones,
    recent_events,
    search_customers,
)
from huifang.customers.rules import InvalidCustomerNumber, parse_customer_no
from huifang.customers.services import reveal_contact_number

PAGE_SIZE = 50


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def _customer_no(raw: str) -> str:
    try:
        return parse_customer_no(raw)
    except InvalidCustomerNumber as error:
        raise BadRequest(str(error)) from None


@login_required
@require_GET
def customer_list(request: HtmxHttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()
    page = Paginator(search_customers(request.user, q), PAGE_SIZE).get_page(request.GET.get("page"))
    template = "customers/_customer_rows.html" if request.htmx else "customers/customer_list.html"
    return render(request, template, {"page": page, "q": q})


@login_required
@require_GET
def customer_detail(request: HttpRequest, customer_no: str) -> HttpResponse:
    customer = access_customer_by_no(request.user, _customer_no(customer_no))
    context = {"customer": customer, "phones": customer_phones(customer), "events": recent_events(customer)}
    return render(request, "customers/customer_detail.html", context)


@login_required
@require_POST
def reveal_phone(request: HttpRequest, customer_no: str, phone_id: int) -> HttpResponse:
    customer = access_customer_by_no(request.user, _customer_no(customer_no))
    phone = access_contact_point(request.user, customer, phone_id)
    number = reveal_contact_number(actor=request.user, contact_point=phone)
    return render(request, "customers/_phone_revealed.html", {"phone": phone, "number": number})
