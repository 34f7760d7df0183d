import datetime as dt
from decimal import Decimal
from typing import Any

from ninja import Schema


class PhoneOut(Schema):
    id: int
    kind: str
    #: always masked (138****5678); the clear number only comes from the reveal endpoint
    number_masked: str
    validity: str
    is_primary: bool


class CustomerOut(Schema):
    customer_no: str
    name: str
    branch_code: str
    branch_name: str
    manager_agent_no: str | None
    manager_name: str | None
    tier: str
    status: str
    risk_rating: str
    open_date: dt.date | None
    assets: Decimal
    email_masked: str
    tags: list[Any]
    phones: list[PhoneOut]


class CustomerPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[CustomerOut]


class EventOut(Schema):
    id: int
    type: str
    occurred_at: dt.datetime
    data: dict[str, Any]
    source: str
    external_id: str


class CustomerDetailOut(CustomerOut):
    #: a code of customers.choices.IdType, or "" when none is on record
    id_type: str
    #: always masked (310***********123X); the clear number only comes from the reveal endpoint
    id_no_masked: str
    products: list[Any]
    attributes: dict[str, Any]
    events: list[EventOut]


class RevealedPhoneOut(Schema):
    id: int
    kind: str
    number: str


class RevealedIdOut(Schema):
    customer_no: str
    id_type: str
    id_no: str


class ErrorOut(Schema):
    """config/api.py answers every error so: a stable code, the message, and `detail` repeating the message."""

    code: str
    message: str
    detail: str
