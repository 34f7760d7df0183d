"""Customer endpoints: branch-scoped reads by customer number; phones and ID numbers masked everywhere except
the audited reveals. Another branch's customer answers 404, a malformed customer number 400."""

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router
from ninja.errors import HttpError

from huifang.customers.models import ContactPoint, Customer
from huifang.customers.queries import (
    access_contact_point,
    access_customer_by_no,
    customer_phones,
    recent_events,
    search_customers,
)
from huifang.customers.rules import InvalidCustomerNumber, parse_customer_no
from huifang.customers.schemas import (
    CustomerDetailOut,
    CustomerPage,
    ErrorOut,
    RevealedIdOut,
    RevealedPhoneOut,
)
from huifang.customers.services import NoIdNumber, reveal_contact_number, reveal_id_number
from huifang.org.auth import ApiError

router = Router(tags=["customers"])

MAX_LIMIT = 200


def _phone_out(phone: ContactPoint) -> dict[str, Any]:
    return {"id": phone.pk, "kind": phone.kind, "number_masked": phone.masked_number,
            "validity": phone.validity, "is_primary": phone.is_primary}


def _customer_out(customer: Customer, phones: list[ContactPoint]) -> dict[str, Any]:
    manager = customer.manager
    return {
        "customer_no": customer.customer_no,
        "name": customer.name,
        "branch_code": customer.branch.code,
        "branch_name": customer.branch.name,
        "manager_agent_no": manager.agent_no if manager else None,
        "manager_name": manager.name if manager else None,
        "tier": customer.tier,
        "status": customer.status,
        "risk_rating": customer.risk_rating,
        "open_date": customer.open_date,
        "assets": customer.assets,
        "email_masked": customer.masked_email,
        "tags": customer.tags if isinstance(customer.tags, list) else [],
        "phones": [_phone_out(phone) for phone in phones],
    }


def _access(request: HttpRequest, customer_no: str) -> Customer:
    try:
        number = parse_customer_no(customer_no)
    except InvalidCustomerNumber as error:
        raise HttpError(400, str(error)) from None
    return access_customer_by_no(request.user, number)


@router.get("", response=CustomerPage, summary="Customers of the branches the user sees")
def list_customers(
    request: HttpRequest,
    q: str = "",
    limit: int = Query(50, ge=1, le=MAX_LIMIT),
    offset: int = Query(0, ge=0),
) -> dict[str, Any]:
    customers = search_customers(request.user, q)
    items = [_customer_out(customer, list(customer.contact_points.all()))
             for customer in customers[offset: offset + limit]]
    return {"count": customers.count(), "limit": limit, "offset": offset, "items": items}


@router.get("/{customer_no}", response={200: CustomerDetailOut, 400: ErrorOut, 404: ErrorOut})
def get_customer(request: HttpRequest, customer_no: str) -> dict[str, Any]:
    customer = _access(request, customer_no)
    body = _customer_out(customer, customer_phones(customer))
    body["id_type"] = customer.id_type
    body["id_no_masked"] = customer.id_no_masked
    body["products"] = customer.products if isinstance(customer.products, list) else []
    body["attributes"] = customer.attributes if isinstance(customer.attributes, dict) else {}
    body["events"] = recent_events(customer)
    return body


@router.post(
    "/{customer_no}/phones/{phone_id}/reveal",
    response={200: RevealedPhoneOut, 400: ErrorOut, 404: ErrorOut},
    summary="The clear number of one phone (audited)",
)
def reveal_phone(request: HttpRequest, customer_no: str, phone_id: int) -> dict[str, Any]:
    customer = _access(request, customer_no)
    phone = access_contact_point(request.user, customer, phone_id)
    number = reveal_contact_number(actor=request.user, contact_point=phone)
    return {"id": phone.pk, "kind": phone.kind, "number": number}


# Every POST here names a sub-resource of the customer: a bare POST /{customer_no} would catch POST /batch.
@router.post(
    "/{customer_no}/id-number/reveal",
    response={200: RevealedIdOut, 400: ErrorOut, 404: ErrorOut},
    summary="The clear ID number of a customer (audited)",
)
def reveal_id(request: HttpRequest, customer_no: str) -> dict[str, Any]:
    customer = _access(request, customer_no)
    try:
        id_no = reveal_id_number(actor=request.user, customer=customer)
    except NoIdNumber as error:
        raise ApiError(400, "no_id_number", str(error)) from None
    return {"customer_no": customer.customer_no, "id_type": customer.id_type, "id_no": id_no}
