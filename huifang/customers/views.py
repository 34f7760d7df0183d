"""Customer pages (htmx). Any logged-in user with a branch sees that branch's customers; HQ sees all.
Phones and the ID number are shown masked; "显示号码" / "显示证件号码" reveal one through the audited services."""

import json
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_htmx.middleware import HtmxDetails

from huifang.customers.choices import EVENT_DATA_LABELS, EVENT_DATA_STATUS_KEYS, CustomerStatus
from huifang.customers.queries import (
    access_contact_point,
    access_customer_by_no,
    customer_phones,
    recent_events,
    search_customers,
)
from huifang.customers.rules import InvalidCustomerNumber, parse_customer_no
from huifang.customers.services import NoIdNumber, reveal_contact_number, reveal_id_number

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
    """客户360: the profile, phones and events of one customer. The callback, call and problem sections are
    blocks of the template that the later modules fill."""
    customer = access_customer_by_no(request.user, _customer_no(customer_no))
    attributes = customer.attributes if isinstance(customer.attributes, dict) else {}
    context = {
        "customer": customer,
        "products": [display_value(item) for item in _as_list(customer.products)],
        "tags": [display_value(item) for item in _as_list(customer.tags)],
        "attributes": [(str(key), display_value(value)) for key, value in sorted(attributes.items())],
        "phones": customer_phones(customer),
        "events": [(event, event_details(event.data)) for event in recent_events(customer)],
    }
    return render(request, "customers/customer_detail.html", context)


@login_required
@require_POST
def reveal_phone(request: HttpRequest, customer_no: str, phone_id: int) -> HttpResponse:
    customer = access_customer_by_no(request.user, _customer_no(customer_no))
    phone = access_contact_point(request.user, customer, phone_id)
    number = reveal_contact_number(actor=request.user, contact_point=phone)
    return render(request, "customers/_phone_revealed.html", {"phone": phone, "number": number})


@login_required
@require_POST
def reveal_id(request: HttpRequest, customer_no: str) -> HttpResponse:
    customer = access_customer_by_no(request.user, _customer_no(customer_no))
    try:
        id_no = reveal_id_number(actor=request.user, customer=customer)
    except NoIdNumber as error:
        raise BadRequest(str(error)) from None
    return render(request, "customers/_id_revealed.html", {"customer": customer, "id_no": id_no})


def event_details(data: Any) -> list[tuple[str, str]]:
    """An event's data as (label, value) pairs to read: known keys by their label (choices.EVENT_DATA_LABELS)
    in that order, then the others by name."""
    if not isinstance(data, dict):
        return []
    known = [key for key in EVENT_DATA_LABELS if key in data]
    others = sorted(str(key) for key in data if key not in EVENT_DATA_LABELS)
    pairs = [(str(EVENT_DATA_LABELS[key]), _status_or_value(key, data[key])) for key in known]
    return pairs + [(key, display_value(data[key])) for key in others]


def display_value(value: Any) -> str:
    """A JSON value as text: lists joined by 、, yes/no for booleans, nested objects as compact JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, list):
        return "、".join(display_value(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def _status_or_value(key: str, value: Any) -> str:
    if key in EVENT_DATA_STATUS_KEYS and value in CustomerStatus.values:
        return str(CustomerStatus(value).label)
    return display_value(value)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
