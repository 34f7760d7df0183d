"""Search by the last four digits of a phone (issue 3, customer view)."""

from django.test import Client

from huifang.customers.models import ContactPoint, Customer
from huifang.customers.queries import search_customers
from huifang.customers.rules import phone_last4
from huifang.customers.tests.conftest import LANDLINE_A, MOBILE_A, MOBILE_B
from huifang.org.models import User


def test_last_four_of_a_landline_are_those_of_the_number_not_the_extension() -> None:
    assert phone_last4("13912345678") == "5678"
    assert phone_last4("021-62345678") == "5678"
    assert phone_last4("021-62345678-8001") == "5678"


def test_saving_a_phone_stores_its_last_four_digits(customer_a: Customer) -> None:
    assert sorted(customer_a.contact_points.values_list("last4", flat=True)) == sorted(
        [MOBILE_A[-4:], LANDLINE_A[-4:]]
    )


def test_search_by_last_four_digits_finds_the_customer_once(customer_a: Customer, hq_supervisor: User) -> None:
    ContactPoint.objects.create(customer=customer_a, kind="mobile", number="13600005678")  # also ends in 5678
    found = list(search_customers(hq_supervisor, MOBILE_A[-4:]))
    assert found == [customer_a]


def test_search_by_last_four_digits_stays_in_the_branch(
    customer_a: Customer, customer_b: Customer, agent_b: User
) -> None:
    assert list(search_customers(agent_b, MOBILE_A[-4:])) == []
    assert list(search_customers(agent_b, MOBILE_B[-4:])) == [customer_b]


def test_list_page_searches_by_last_four_digits(client: Client, customer_a: Customer, agent_a: User) -> None:
    client.force_login(agent_a)
    page = client.get("/customers/", {"q": MOBILE_A[-4:]}).content.decode()
    assert customer_a.customer_no in page


def test_demo_loader_fills_the_last_four_digits(db: None) -> None:
    from datetime import date

    from huifang.demo.build import build_demo

    build_demo(customers=200, as_of=date(2026, 11, 20))
    phones = list(ContactPoint.objects.values_list("number", "last4"))
    assert len(phones) > 200
    assert all(last4 == phone_last4(number) for number, last4 in phones)
