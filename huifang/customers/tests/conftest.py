"""Customers of branch A and branch B, with phones and events."""

import datetime as dt
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from huifang.customers.models import ContactPoint, Customer, CustomerEvent
from huifang.org.models import Branch, User

SHANGHAI = ZoneInfo("Asia/Shanghai")
MOBILE_A = "13912345678"
LANDLINE_A = "021-62345678"
MOBILE_B = "18687654321"


def make_customer(branch: Branch, customer_no: str, name: str, manager: User | None = None,
                  **extra: Any) -> Customer:
    return Customer.objects.create(
        customer_no=customer_no, name=name, branch=branch, manager=manager, open_date=dt.date(2025, 3, 14),
        assets=Decimal("123456.78"), **extra,
    )


@pytest.fixture
def customer_a(branch_a: Branch) -> Customer:
    customer = make_customer(branch_a, "0031010000001", "张伟", tier="gold", risk_rating="C3",
                             email="zhangwei@example.com", tags=["高净值"])
    ContactPoint.objects.create(customer=customer, kind="mobile", number=MOBILE_A, validity="valid",
                                source="counter", is_primary=True)
    ContactPoint.objects.create(customer=customer, kind="landline", number=LANDLINE_A, source="counter")
    CustomerEvent.objects.create(customer=customer, type="account_opened", source="counter",
                                 occurred_at=dt.datetime(2025, 3, 14, 10, 0, tzinfo=SHANGHAI),
                                 data={"channel": "柜台"}, external_id="E1")
    CustomerEvent.objects.create(customer=customer, type="transfer_out", source="counter",
                                 occurred_at=dt.datetime(2025, 6, 1, 15, 30, tzinfo=SHANGHAI),
                                 data={"amount": "650000.00"}, external_id="E2")
    return customer


@pytest.fixture
def customer_b(branch_b: Branch) -> Customer:
    customer = make_customer(branch_b, "0044010000001", "李娜")
    ContactPoint.objects.create(customer=customer, kind="mobile", number=MOBILE_B, is_primary=True)
    return customer


@pytest.fixture(autouse=True)
def fast_passwords(settings: Any) -> None:
    # The shared cast creates users with passwords: argon2 would make every test slow.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
